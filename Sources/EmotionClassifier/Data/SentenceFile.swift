import Foundation

/// Reads the sentences of a file to classify. Errors are `DatasetError`s naming the file (and row).
public enum SentenceFile {
    /// The sentences of `url`: the text column of an .xlsx workbook (recognised by its zip signature or
    /// extension) or of a `.csv` file, otherwise every non-empty line of a text file.
    public static func sentences(_ url: URL, column: String = "발화문", sheet: String? = nil,
                                 encoding: TextEncoding? = nil) throws -> [String] {
        if try isWorkbook(url) || url.pathExtension.lowercased() == "csv" {
            return try self.column(url, column: column, sheet: sheet, encoding: encoding)
        }
        if let sheet { throw DatasetError.sheetWithoutSpreadsheet(file: url.path, sheet: sheet) }
        return try lines(url, encoding: encoding)
    }

    /// Every non-empty line of a UTF-8 (or cp949) text file.
    public static func lines(_ url: URL, encoding: TextEncoding? = nil) throws -> [String] {
        try text(of: url, encoding: encoding).split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
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

    /// Whether the file starts with the zip (or OLE2) signature or is named .xlsx/.xlsm.
    static func isWorkbook(_ url: URL) throws -> Bool {
        let ext = url.pathExtension.lowercased()
        if ext == "xlsx" || ext == "xlsm" { return true }
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url) } catch {
            throw DatasetError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        defer { try? handle.close() }
        let prefix = [UInt8]((try? handle.read(upToCount: 8)) ?? Data())
        return XLSXWorkbook.looksLikeZip(prefix) || XLSXWorkbook.looksLikeOLE2(prefix)
    }

    /// The file's text, UTF-8 or cp949 (detected unless `encoding` says which).
    private static func text(of url: URL, encoding: TextEncoding?) throws -> String {
        let bytes: [UInt8]
        do { bytes = try [UInt8](Data(contentsOf: url)) } catch {
            throw DatasetError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        do { return try TextDecoder.decode(bytes, as: encoding).text } catch {
            throw DatasetError.undecodable(file: url.path, error)
        }
    }
}
