import FileSafety
import Foundation

/// Reads the sentences of a file to classify. Errors are `DatasetError`s naming the file (and row).
public enum SentenceFile {
    /// The sentences of `url`: the text column of an .xlsx workbook (recognised by its zip signature or
    /// extension) or of a `.csv` file, otherwise every non-empty line of a text file.
    public static func sentences(_ url: URL, column: String = "발화문", sheet: String? = nil,
                                 encoding: TextEncoding? = nil) throws -> [String] {
        let ext = url.pathExtension.lowercased()
        if ["csv", "xlsx", "xlsm"].contains(ext) {
            return try self.column(url, column: column, sheet: sheet, encoding: encoding)
        }
        // Read once: the file may be a pipe (`/dev/stdin`), which cannot be read twice.
        let bytes = try readBytes(url)
        if XLSXWorkbook.looksLikeZip(bytes) || XLSXWorkbook.looksLikeOLE2(bytes) {
            return try self.column(url, column: column, sheet: sheet, encoding: encoding)
        }
        if let sheet { throw DatasetError.sheetWithoutSpreadsheet(file: url.path, sheet: sheet) }
        return try lines(of: bytes, file: url.path, encoding: encoding)
    }

    /// Every non-empty line of a UTF-8 (or cp949) text file.
    public static func lines(_ url: URL, encoding: TextEncoding? = nil) throws -> [String] {
        try lines(of: try readBytes(url), file: url.path, encoding: encoding)
    }

    static func lines(of bytes: [UInt8], file: String, encoding: TextEncoding?) throws -> [String] {
        let text: String
        do { text = try TextDecoder.decode(bytes, as: encoding).text } catch {
            throw DatasetError.undecodable(file: file, error)
        }
        return text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map(String.init)
            .filter { !$0.allSatisfy(\.isWhitespace) }
    }

    /// The `column` field of every data row of a CSV file or workbook sheet with a header, in file order
    /// (the column is found by `ColumnLookup`, as the dataset loader finds it). CSV rows with bad quoting or
    /// without the field are errors; workbook rows with no non-empty cell are skipped.
    public static func column(_ url: URL, column: String, sheet: String? = nil, encoding: TextEncoding? = nil) throws -> [String] {
        let file = url.path
        let table = try Table.read(url, encoding: encoding, sheet: sheet)
        guard let header = table.header else { throw DatasetError.emptyFile(file: file) }
        guard let match = try EmotionDataset.column(column, in: header, file: file) else {
            throw DatasetError.missingColumns(file: file, missing: [column], header: header)
        }
        var issues: [RowIssue] = []
        var texts: [String] = []
        texts.reserveCapacity(table.rows.count)
        for (row, record) in zip(1..., table.rows) {
            if let problem = record.problem, case .badQuoting = problem {
                issues.append(RowIssue(row: row, line: record.line, kind: problem, sheet: table.sheet))
            } else if case .dense(let fields) = record.fields, match.index >= fields.count {
                issues.append(RowIssue(row: row, line: record.line,
                                       kind: .wrongFieldCount(expected: header.count, found: fields.count), sheet: table.sheet))
            } else {
                texts.append(record.field(match.index))
            }
        }
        guard issues.isEmpty else { throw DatasetError.invalidRows(file: file, issues: issues) }
        return texts
    }

    /// The `column` field of every row of a CSV file with a header (see `column(_:column:sheet:encoding:)`).
    public static func csvColumn(_ url: URL, column: String, encoding: TextEncoding? = nil) throws -> [String] {
        try self.column(url, column: column, encoding: encoding)
    }

    /// The file's bytes (regular files, pipes and FIFOs alike).
    private static func readBytes(_ url: URL) throws -> [UInt8] {
        do { return try ReadFile.bytes(url) } catch let error as FileSafetyError {
            throw DatasetError.unreadable(file: url.path, reason: error.message.replacingOccurrences(of: "cannot read: ", with: ""))
        } catch {
            throw DatasetError.unreadable(file: url.path, reason: "\(error)")
        }
    }
}
