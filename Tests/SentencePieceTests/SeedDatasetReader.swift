// TEST-ONLY stand-in for the seed dataset loader, kept in this one file so that it can be swapped
// for EmotionClassifier's real CSV/cp949 loader once that exists. It reads
// ../shared/data/emotion-dialogue-5th-2.csv (cp949, header row, fields optionally quoted with ""
// escapes) and returns the first column of every data row.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum SeedDatasetReader {
    struct ReadError: Error, CustomStringConvertible {
        let description: String
    }

    /// `<package root>/../shared/data/emotion-dialogue-5th-2.csv`.
    static var url: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("shared/data/emotion-dialogue-5th-2.csv")
    }

    /// The utterance column of every data row, in file order.
    static func sentences() throws -> [String] {
        let text = try decodeCP949(try Data(contentsOf: url))
        let rows = parseCSV(text)
        guard let header = rows.first, header.count == 2 else {
            throw ReadError(description: "\(url.path): expected a two-column header")
        }
        return try rows.dropFirst().enumerated().map { index, row in
            guard row.count == 2 else { throw ReadError(description: "\(url.path): data row \(index) has \(row.count) fields") }
            return row[0]
        }
    }

    /// cp949 to String with iconv.
    static func decodeCP949(_ data: Data) throws -> String {
        let converter = iconv_open("UTF-8", "CP949")
        guard converter != iconv_t(bitPattern: -1) else { throw ReadError(description: "iconv has no CP949") }
        defer { iconv_close(converter) }
        var input = [CChar](repeating: 0, count: data.count)
        input.withUnsafeMutableBytes { _ = data.copyBytes(to: $0) }
        var output = [CChar](repeating: 0, count: data.count * 2 + 16)
        let produced: Int = try input.withUnsafeMutableBufferPointer { inBuffer in
            try output.withUnsafeMutableBufferPointer { outBuffer in
                var inPointer: UnsafeMutablePointer<CChar>? = inBuffer.baseAddress
                var inLeft = inBuffer.count
                var outPointer: UnsafeMutablePointer<CChar>? = outBuffer.baseAddress
                var outLeft = outBuffer.count
                guard iconv(converter, &inPointer, &inLeft, &outPointer, &outLeft) != -1, inLeft == 0 else {
                    throw ReadError(description: "\(url.path) is not valid cp949 at byte \(inBuffer.count - inLeft)")
                }
                return outBuffer.count - outLeft
            }
        }
        return String(decoding: output[..<produced].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Rows of fields; a field may be quoted, with "" for a quote inside. Rows end at CRLF or LF.
    static func parseCSV(_ text: String) -> [[String]] {
        var rows = [[String]]()
        var row = [String]()
        var field = String.UnicodeScalarView()
        var inQuotes = false
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = scalars.next()
        func endField() { row.append(String(field)); field = String.UnicodeScalarView() }
        while let scalar = pending {
            pending = scalars.next()
            if inQuotes {
                if scalar == "\"" {
                    if pending == "\"" { field.append("\""); pending = scalars.next() } else { inQuotes = false }
                } else {
                    field.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"": inQuotes = true
            case ",": endField()
            case "\r" where pending == "\n": continue
            case "\n": endField(); rows.append(row); row = []
            default: field.append(scalar)
            }
        }
        if !field.isEmpty || !row.isEmpty { endField(); rows.append(row) }
        return rows
    }
}
