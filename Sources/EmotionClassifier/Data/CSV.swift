/// One record (row) of a CSV file.
public struct CSVRecord: Sendable, Equatable {
    /// A way a record breaks RFC 4180 that the parser recovered from; the loader reports such rows as malformed.
    public enum Problem: Sendable, Equatable, CustomStringConvertible {
        /// A `"` inside a field that does not start with a quote (1-based field number).
        case quoteInUnquotedField(field: Int)
        /// Characters between a closing quote and the next comma or line end (1-based field number).
        case textAfterClosingQuote(field: Int)

        public var description: String {
            switch self {
            case .quoteInUnquotedField(let field): "a quote inside unquoted field \(field)"
            case .textAfterClosingQuote(let field): "text after the closing quote of field \(field)"
            }
        }
    }

    /// The field values, quotes removed and doubled quotes collapsed.
    public var fields: [String]
    /// 1-based line of the file on which the record starts.
    public var line: Int
    /// The first RFC 4180 violation in the record, if any.
    public var problem: Problem?

    /// Makes a record.
    public init(fields: [String], line: Int, problem: Problem? = nil) {
        self.fields = fields
        self.line = line
        self.problem = problem
    }
}

/// A CSV error that leaves the rest of the file unreadable.
public enum CSVError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A quoted field opened on `line` is never closed.
    case unterminatedQuote(line: Int)

    public var description: String {
        switch self {
        case .unterminatedQuote(let line): "quoted field opened on line \(line) is never closed"
        }
    }
}

/// An RFC 4180 CSV reader: comma separators, `"`-quoted fields that may hold commas, doubled quotes and
/// line breaks, CRLF or LF line ends, and an optional line end after the last record.
///
/// Empty lines between records are skipped (as pandas does). The parser runs once over the UTF-8 bytes.
public enum CSVParser {
    private static let quote = UInt8(ascii: "\"")
    private static let comma = UInt8(ascii: ",")
    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")

    /// Splits `text` into records. The first record is the header, if the file has one.
    public static func parse(_ text: String) throws(CSVError) -> [CSVRecord] {
        var text = text
        text.makeContiguousUTF8()
        let result = text.utf8.withContiguousStorageIfAvailable { bytes in
            Result { () throws(CSVError) in try parse(bytes: bytes) }
        }!
        return try result.get()
    }

    private static func parse(bytes: UnsafeBufferPointer<UInt8>) throws(CSVError) -> [CSVRecord] {
        let end = bytes.count
        var records: [CSVRecord] = []
        var position = 0
        var line = 1

        /// Length of the line end at `index` (2 for CRLF, 1 for LF), 0 if none.
        func lineEndLength(at index: Int) -> Int {
            if index < end, bytes[index] == lineFeed { return 1 }
            if index + 1 < end, bytes[index] == carriageReturn, bytes[index + 1] == lineFeed { return 2 }
            return 0
        }

        while position < end {
            let blank = lineEndLength(at: position)
            if blank > 0 {
                position += blank
                line += 1
                continue
            }

            var record = CSVRecord(fields: [], line: line)
            func note(_ problem: CSVRecord.Problem) {
                if record.problem == nil { record.problem = problem }
            }
            recordLoop: while true {
                let fieldNumber = record.fields.count + 1
                var value: [UInt8] = []
                let quoted = position < end && bytes[position] == quote
                if quoted {
                    // Quoted field: runs to the next quote not followed by another quote.
                    let openingLine = line
                    position += 1
                    while true {
                        guard position < end else { throw .unterminatedQuote(line: openingLine) }
                        let byte = bytes[position]
                        if byte == quote {
                            if position + 1 < end, bytes[position + 1] == quote {
                                value.append(quote)
                                position += 2
                                continue
                            }
                            position += 1
                            break
                        }
                        if byte == lineFeed { line += 1 }
                        value.append(byte)
                        position += 1
                    }
                }
                // Unquoted text (or stray text after a closing quote) up to the next comma or line end.
                let unquotedStart = position
                while position < end, bytes[position] != comma, lineEndLength(at: position) == 0 {
                    if !quoted, bytes[position] == quote { note(.quoteInUnquotedField(field: fieldNumber)) }
                    position += 1
                }
                if quoted, position > unquotedStart { note(.textAfterClosingQuote(field: fieldNumber)) }
                value.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[unquotedStart..<position]))
                record.fields.append(String(decoding: value, as: UTF8.self))

                if position < end, bytes[position] == comma {
                    position += 1
                    continue recordLoop
                }
                let lineEnd = lineEndLength(at: position)
                if lineEnd > 0 {
                    position += lineEnd
                    line += 1
                }
                break recordLoop
            }
            records.append(record)
        }
        return records
    }
}
