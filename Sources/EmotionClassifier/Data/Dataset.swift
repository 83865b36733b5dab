import FileSafety
import Foundation

/// One labelled sentence.
public struct Example: Sendable, Hashable, Codable {
    /// The sentence exactly as in the file (not trimmed).
    public var text: String
    /// Class id in the dataset's `LabelSet`.
    public var label: Int
    /// 1-based data row in the file (the header is not counted; empty lines are skipped and not counted).
    public var row: Int

    /// Makes an example.
    public init(text: String, label: Int, row: Int) {
        self.text = text
        self.label = label
        self.row = row
    }
}

/// A data row that could not become an `Example`.
public struct RowIssue: Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the row.
    public enum Kind: Sendable, Equatable {
        /// The label text names no class (the raw text is kept).
        case unknownLabel(String)
        /// The sentence is empty or only whitespace.
        case emptyText
        /// The row has a different number of fields than the header.
        case wrongFieldCount(expected: Int, found: Int)
        /// The row breaks CSV quoting rules.
        case badQuoting(CSVRecord.Problem)

        /// A short name of the kind of problem, used to group skipped rows.
        public var reason: String {
            switch self {
            case .unknownLabel: "unknown label"
            case .emptyText: "empty text"
            case .wrongFieldCount: "wrong field count"
            case .badQuoting: "bad quoting"
            }
        }
    }

    /// 1-based data row (header not counted).
    public let row: Int
    /// 1-based line of the file where the row starts; for a spreadsheet, the row number in the sheet.
    public let line: Int
    /// What is wrong.
    public let kind: Kind
    /// The sheet the row is on (spreadsheets only).
    public let sheet: String?

    /// Describes a bad row.
    public init(row: Int, line: Int, kind: Kind, sheet: String? = nil) {
        self.row = row
        self.line = line
        self.kind = kind
        self.sheet = sheet
    }

    public var description: String {
        let detail = switch kind {
        case .unknownLabel(let label): "unknown label \"\(label)\""
        case .emptyText: "empty text"
        case let .wrongFieldCount(expected, found): "\(found) fields, header has \(expected)"
        case .badQuoting(let problem): "malformed CSV: \(problem)"
        }
        if let sheet { return "row \(row) (sheet \"\(sheet)\" row \(line)): \(detail)" }
        return "row \(row) (line \(line)): \(detail)"
    }
}

/// Why a dataset file could not be loaded. Every case names the file.
public enum DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read (missing, unreadable, ...).
    case unreadable(file: String, reason: String)
    /// The bytes are not valid in the requested or detected encoding.
    case undecodable(file: String, TextDecodingError)
    /// The CSV structure is broken beyond one row (an unterminated quote).
    case unparsable(file: String, CSVError)
    /// The file has no header line.
    case emptyFile(file: String)
    /// The text or label column is not in the header.
    case missingColumns(file: String, missing: [String], header: [String])
    /// A requested column name appears more than once in the header.
    case duplicateColumn(file: String, column: String)
    /// Rows that are not valid examples (all of them, in file order); thrown unless `skipInvalid` is set.
    case invalidRows(file: String, issues: [RowIssue])
    /// The file has a header but no usable rows (`skipped` rows were dropped as invalid).
    case noExamples(file: String, skipped: Int)
    /// An .xlsx workbook could not be read (corrupt zip, missing part, bad XML or cell, no such sheet, ...).
    case spreadsheet(file: String, XLSXError)
    /// `sheet` was given for a file that is not a spreadsheet.
    case sheetWithoutSpreadsheet(file: String, sheet: String)

    /// How many row problems `description` lists before summarising the rest.
    public static let listedIssueLimit = 10

    public var description: String {
        switch self {
        case let .unreadable(file, reason): return "\(file): cannot read file: \(reason)"
        case let .undecodable(file, error): return "\(file): \(error)"
        case let .unparsable(file, error): return "\(file): \(error)"
        case .emptyFile(let file): return "\(file): file is empty (no header line)"
        case let .missingColumns(file, missing, header):
            return "\(file): missing column(s) " + missing.map { Excerpt.quoted($0, limit: 40) }.joined(separator: ", ")
                + "; " + Self.headerSummary(header, missing: missing)
        case let .duplicateColumn(file, column): return "\(file): column \"\(column)\" appears more than once"
        case let .invalidRows(file, issues):
            var lines = ["\(file): \(issues.count) invalid row(s)"]
            lines += issues.prefix(Self.listedIssueLimit).map { "  \($0)" }
            if issues.count > Self.listedIssueLimit {
                lines.append("  ... and \(issues.count - Self.listedIssueLimit) more")
            }
            return lines.joined(separator: "\n")
        case let .noExamples(file, skipped):
            return "\(file): no usable rows" + (skipped > 0 ? " (\(skipped) invalid row(s) skipped)" : "")
        case let .spreadsheet(file, error): return "\(file): \(error)"
        case let .sheetWithoutSpreadsheet(file, sheet):
            return "\(file): a sheet (\"\(sheet)\") was given but the file is not an .xlsx workbook"
        }
    }
}

extension DatasetError {
    /// What the header holds, without printing a file that is not a CSV: the field names (short,
    /// escaped, at most 8) when there are several, else only its size; CR-only line ends and names that
    /// differ only in Unicode normalization are pointed out.
    static func headerSummary(_ header: [String], missing: [String]) -> String {
        if header.contains(where: { $0.contains("\r") }) {
            return "the lines end in CR only (classic Mac line ends): save the file with LF or CRLF line ends"
        }
        guard header.count > 1 else {
            let length = header.first?.unicodeScalars.count ?? 0
            return "the first line has no comma-separated columns (\(length) characters); expected a CSV file with a header row"
        }
        var text = "header has " + header.prefix(8).map { Excerpt.quoted($0) }.joined(separator: ", ")
            + (header.count > 8 ? " and \(header.count - 8) more" : "")
        for name in missing {
            let nfc = name.precomposedStringWithCanonicalMapping.unicodeScalars
            if let field = header.first(where: { $0.trimmingCharacters(in: .whitespaces).precomposedStringWithCanonicalMapping.unicodeScalars.elementsEqual(nfc) }) {
                text += "; header field \(Excerpt.quoted(field)) differs from \(Excerpt.quoted(name)) only in Unicode normalization (NFD vs NFC): save the file as NFC or give the column name as the file writes it"
            }
        }
        return text
    }
}

/// A labelled emotion dataset read from a CSV file such as the seed's `5차년도_2차.csv` or an .xlsx workbook
/// such as AI Hub's `한국어_단발성_대화_데이터셋.xlsx`.
public struct EmotionDataset: Sendable {
    /// The examples in file order.
    public let examples: [Example]
    /// The classes `Example.label` refers to.
    public let labels: LabelSet
    /// Where the examples came from (a file path, or a description for in-memory data).
    public let source: String
    /// The text encoding the file was read with (`.utf8` for .xlsx, whose XML is Unicode).
    public let encoding: TextEncoding
    /// Rows dropped because `skipInvalid` was set, in file order.
    public let skipped: [RowIssue]
    /// The header of the sentence column as found in the file (e.g. `발화문`, or `Sentence` when the
    /// default was absent).
    public let textColumn: String
    /// The header of the label column as found in the file (e.g. `상황`, or `Emotion`).
    public let labelColumn: String
    /// The sheet read, for an .xlsx workbook; nil for CSV.
    public let sheet: String?
    /// How columns were found when not by exact name (normalization, fallback names), for the log.
    public let columnNotes: [String]

    /// Wraps examples that are already in memory.
    public init(examples: [Example], labels: LabelSet = .seed, source: String = "(memory)",
                encoding: TextEncoding = .utf8, skipped: [RowIssue] = [],
                textColumn: String = "발화문", labelColumn: String = "상황", sheet: String? = nil,
                columnNotes: [String] = [])
    {
        self.examples = examples
        self.labels = labels
        self.source = source
        self.encoding = encoding
        self.skipped = skipped
        self.textColumn = textColumn
        self.labelColumn = labelColumn
        self.sheet = sheet
        self.columnNotes = columnNotes
    }

    /// Reads a CSV or .xlsx dataset (an .xlsx is recognised by its zip signature or its extension).
    ///
    /// - Parameters:
    ///   - url: the CSV file or workbook; the first record (the first non-empty row of the sheet) is the header.
    ///   - textColumn: header of the sentence column (the seed's `발화문`); found by `ColumnLookup`.
    ///   - labelColumn: header of the label column (the seed's `상황`); labels may be names, aliases or ids.
    ///   - encoding: a CSV file's encoding, or nil to detect UTF-8 and otherwise read cp949 (unused for .xlsx).
    ///   - labels: the classes to map labels onto.
    ///   - skipInvalid: drop rows with unknown labels, empty text or malformed CSV (listed in `skipped`)
    ///     instead of throwing `DatasetError.invalidRows`.
    ///   - sheet: the workbook sheet to read (default: the first); an error for a CSV file.
    public static func load(
        contentsOf url: URL,
        textColumn: String = "발화문",
        labelColumn: String = "상황",
        encoding: TextEncoding? = nil,
        labels: LabelSet = .seed,
        skipInvalid: Bool = false,
        sheet: String? = nil
    ) throws(DatasetError) -> EmotionDataset {
        let file = url.path
        let table = try Table.read(url, encoding: encoding, sheet: sheet)
        guard let header = table.header else { throw .emptyFile(file: file) }
        let textMatch = try column(textColumn, in: header, file: file)
        let labelMatch = try column(labelColumn, in: header, file: file)
        let missing = [(textColumn, textMatch), (labelColumn, labelMatch)].filter { $0.1 == nil }.map(\.0)
        guard missing.isEmpty, let textMatch, let labelMatch else {
            throw .missingColumns(file: file, missing: missing, header: header)
        }
        let textIndex = textMatch.index
        let labelIndex = labelMatch.index

        var examples: [Example] = []
        examples.reserveCapacity(table.rows.count)
        var issues: [RowIssue] = []
        for (row, record) in zip(1..., table.rows) {
            func issue(_ kind: RowIssue.Kind) {
                issues.append(RowIssue(row: row, line: record.line, kind: kind, sheet: table.sheet))
            }
            if let problem = record.problem {
                issue(problem)
                continue
            }
            let text = record.field(textIndex)
            let labelText = record.field(labelIndex)
            if text.allSatisfy(\.isWhitespace) {
                issue(.emptyText)
            } else if let label = labels.id(for: labelText) {
                examples.append(Example(text: text, label: label, row: row))
            } else {
                issue(.unknownLabel(labelText))
            }
        }
        if !issues.isEmpty, !skipInvalid { throw .invalidRows(file: file, issues: issues) }
        guard !examples.isEmpty else { throw .noExamples(file: file, skipped: issues.count) }
        return EmotionDataset(examples: examples, labels: labels, source: file, encoding: table.encoding,
                              skipped: issues, textColumn: textMatch.header, labelColumn: labelMatch.header,
                              sheet: table.sheet, columnNotes: [textMatch.note, labelMatch.note].compactMap { $0 })
    }

    /// The header column `name` refers to (see `ColumnLookup`), nil if absent.
    static func column(_ name: String, in header: [String], file: String) throws(DatasetError) -> ColumnMatch? {
        do {
            return try ColumnLookup.find(name, in: header)
        } catch {
            switch error {
            case .duplicate(let column): throw .duplicateColumn(file: file, column: column)
            }
        }
    }

    /// One line for a log: the file, sheet, encoding, the columns used, the number of sentences, how
    /// columns were found when not by exact name, and the skipped rows, e.g.
    /// `data.xlsx, sheet "Sheet1", columns Sentence/Emotion, 38594 sentences (no column "발화문"; using "Sentence" instead; ...)`.
    public var summary: String {
        var text = source
        if let sheet { text += ", sheet \"\(sheet)\"" } else { text += " (\(encoding.rawValue))" }
        text += ", columns \(textColumn)/\(labelColumn), \(examples.count) sentences"
        let extra = columnNotes + (skippedSummary.map { [$0] } ?? [])
        if !extra.isEmpty { text += " (" + extra.joined(separator: "; ") + ")" }
        return text
    }

    /// Number of examples per class id.
    public var labelCounts: [Int] {
        examples.reduce(into: [Int](repeating: 0, count: labels.count)) { $0[$1.label] += 1 }
    }

    /// Number of rows whose sentence already occurred in an earlier row, comparing Unicode scalars exactly
    /// or, with `trimmingWhitespace`, after trimming leading and trailing whitespace.
    public func repeatedRowCount(trimmingWhitespace: Bool = false) -> Int {
        var seen = Set<SentenceKey>()
        return examples.reduce(0) { count, example in
            count + (seen.insert(SentenceKey(example.text, trimmed: trimmingWhitespace)).inserted ? 0 : 1)
        }
    }

    /// A one-line account of the skipped rows grouped by reason, e.g. `skipped 3 rows: 2 unknown label, 1 empty text`;
    /// nil when nothing was skipped.
    public var skippedSummary: String? {
        guard !skipped.isEmpty else { return nil }
        var counts: [(reason: String, count: Int)] = []
        for issue in skipped {
            if let index = counts.firstIndex(where: { $0.reason == issue.kind.reason }) {
                counts[index].count += 1
            } else {
                counts.append((issue.kind.reason, 1))
            }
        }
        return "skipped \(skipped.count) row(s): " + counts.map { "\($0.count) \($0.reason)" }.joined(separator: ", ")
    }
}

/// A sentence compared by its Unicode scalars (as UTF-8 bytes), optionally with surrounding whitespace trimmed.
/// Swift's `String ==` would also equate canonically equivalent spellings, which the dataset statistics must not.
struct SentenceKey: Hashable {
    let utf8: [UInt8]

    init(_ text: String, trimmed: Bool) {
        utf8 = Array((trimmed ? text.trimmingCharacters(in: .whitespacesAndNewlines) : text).utf8)
    }
}

/// The rows of a CSV file or a workbook sheet, before they become examples.
struct Table {
    struct Row {
        enum Fields {
            case dense([String])
            case sparse(SpreadsheetRow)
        }

        /// 1-based line of the file (CSV) or row number in the sheet (xlsx).
        var line: Int
        var fields: Fields
        /// Why the row cannot be used whatever its columns hold (CSV quoting, field count).
        var problem: RowIssue.Kind?

        /// The field in 0-based `column`, "" if the row has none there.
        func field(_ column: Int) -> String {
            switch fields {
            case .dense(let values): column < values.count ? values[column] : ""
            case .sparse(let row): row.text(at: column)
            }
        }
    }

    /// The header's fields, nil for an empty file.
    var header: [String]?
    /// The data rows after the header.
    var rows: [Row]
    var encoding: TextEncoding
    /// The sheet read, for a workbook.
    var sheet: String?

    /// Reads a CSV file or, when it starts with the zip signature or is named .xlsx/.xlsm, a workbook sheet.
    static func read(_ url: URL, encoding: TextEncoding?, sheet: String?) throws(DatasetError) -> Table {
        let file = url.path
        let bytes: [UInt8]
        do {
            bytes = try ReadFile.bytes(url)
        } catch let error as FileSafetyError {
            throw .unreadable(file: file, reason: error.message.replacingOccurrences(of: "cannot read: ", with: ""))
        } catch {
            throw .unreadable(file: file, reason: "\(error)")
        }
        let ext = url.pathExtension.lowercased()
        if XLSXWorkbook.looksLikeZip(bytes) || XLSXWorkbook.looksLikeOLE2(bytes) || ext == "xlsx" || ext == "xlsm" {
            return try readWorkbook(url, sheet: sheet)
        }
        if let sheet { throw .sheetWithoutSpreadsheet(file: file, sheet: sheet) }
        let decoded: (text: String, encoding: TextEncoding)
        do {
            decoded = try TextDecoder.decode(bytes, as: encoding)
        } catch {
            throw .undecodable(file: file, error)
        }
        let records: [CSVRecord]
        do {
            records = try CSVParser.parse(decoded.text)
        } catch {
            throw .unparsable(file: file, error)
        }
        guard let header = records.first else {
            return Table(header: nil, rows: [], encoding: decoded.encoding)
        }
        let rows = records.dropFirst().map { record in
            var problem: RowIssue.Kind?
            if let quoting = record.problem {
                problem = .badQuoting(quoting)
            } else if record.fields.count != header.fields.count {
                problem = .wrongFieldCount(expected: header.fields.count, found: record.fields.count)
            }
            return Row(line: record.line, fields: .dense(record.fields), problem: problem)
        }
        return Table(header: header.fields, rows: rows, encoding: decoded.encoding)
    }

    /// A workbook sheet: its first non-empty row is the header; rows with no non-empty cell are skipped.
    /// Cells right of the header's last column are ignored.
    static func readWorkbook(_ url: URL, sheet: String?) throws(DatasetError) -> Table {
        let rows: (sheet: String, rows: [SpreadsheetRow])
        do {
            rows = try XLSXWorkbook(contentsOf: url).rows(ofSheet: sheet)
        } catch {
            throw .spreadsheet(file: url.path, error)
        }
        guard let first = rows.rows.first else {
            return Table(header: nil, rows: [], encoding: .utf8, sheet: rows.sheet)
        }
        return Table(header: first.fields(), rows: rows.rows.dropFirst().map { Row(line: $0.number, fields: .sparse($0)) },
                     encoding: .utf8, sheet: rows.sheet)
    }
}
