import Foundation
import SWXMLHash
import ZIPFoundation

private typealias XMLElement = SWXMLHash.XMLElement

/// Why an .xlsx workbook could not be read. Descriptions name the part, sheet, row or cell; the loader
/// adds the file path (`DatasetError.spreadsheet`).
public enum XLSXError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file is an old binary .xls workbook or an encrypted .xlsx (both OLE2 compound files).
    case legacyFormat
    /// The zip container is unreadable or corrupt.
    case corruptZip(String)
    /// A part the workbook needs is not in the zip.
    case missingPart(String)
    /// A part (zip entry) is larger, uncompressed, than `limit` bytes; `size` is what the zip declares or
    /// how far extraction got.
    case partTooLarge(part: String, size: UInt64, limit: Int)
    /// A part's bytes do not match the zip's record of them (checksum or size).
    case corruptPart(part: String, reason: String)
    /// A part is not well-formed XML (or nests deeper than the XML parser allows).
    case badXML(part: String, reason: String)
    /// A relationship points outside the package or to an external resource.
    case unsafePath(part: String, target: String)
    /// The workbook lists no sheets.
    case noSheets
    /// `--sheet` names no sheet of the workbook.
    case sheetNotFound(name: String, available: [String])
    /// A cell or row breaks the format (bad reference, shared-string index out of range, ...).
    case badCell(sheet: String, row: Int, cell: String, reason: String)
    /// The zip holds more entries than the reader accepts.
    case tooManyEntries(limit: Int)

    public var description: String {
        switch self {
        case .legacyFormat:
            return "an old binary .xls workbook or an encrypted .xlsx (OLE2 file); save it as .xlsx or CSV"
        case .corruptZip(let reason): return "not a readable .xlsx (zip) file: \(reason)"
        case .missingPart(let part): return "the workbook has no part \"\(part)\""
        case let .partTooLarge(part, size, limit):
            return "part \"\(part)\" is \(size) bytes uncompressed, over the limit of \(limit) bytes"
        case let .corruptPart(part, reason): return "part \"\(part)\" is corrupt: \(reason)"
        case let .badXML(part, reason): return "part \"\(part)\" is not valid XML: \(reason)"
        case let .unsafePath(part, target): return "part \"\(part)\" refers to \"\(target)\" outside the workbook"
        case .noSheets: return "the workbook has no sheets"
        case let .sheetNotFound(name, available):
            return "no sheet \"\(name)\"; the workbook has " + available.map { "\"\($0)\"" }.joined(separator: ", ")
        case let .badCell(sheet, row, cell, reason):
            return "sheet \"\(sheet)\" row \(row)" + (cell.isEmpty ? "" : " cell \(cell)") + ": \(reason)"
        case .tooManyEntries(let limit): return "the zip has more than \(limit) entries"
        }
    }
}

/// Bounds on what the .xlsx reader accepts from a file.
public struct XLSXLimits: Sendable, Equatable {
    /// Largest uncompressed size of one part (a sheet, the shared strings, ...), in bytes.
    public var maxPartBytes = 128 << 20
    /// Most zip entries the reader looks through.
    public var maxEntries = 10_000
    public init() {}
}

/// One non-empty cell of a spreadsheet row: its 0-based column and its value as text.
public struct SpreadsheetCell: Sendable, Equatable {
    public var column: Int
    public var text: String
    public init(column: Int, text: String) {
        self.column = column
        self.text = text
    }
}

/// A row of a sheet: its 1-based row number in the sheet and its non-empty cells in column order.
public struct SpreadsheetRow: Sendable, Equatable {
    public var number: Int
    public var cells: [SpreadsheetCell]
    public init(number: Int, cells: [SpreadsheetCell]) {
        self.number = number
        self.cells = cells
    }

    /// The text of the cell in 0-based `column`, "" when the cell is empty or absent.
    public func text(at column: Int) -> String {
        cells.first { $0.column == column }?.text ?? ""
    }

    /// The row as dense fields, columns 0 ..< `width` (at least up to its last non-empty cell).
    public func fields(width: Int = 0) -> [String] {
        var fields = [String](repeating: "", count: max(width, (cells.last?.column ?? -1) + 1))
        for cell in cells { fields[cell.column] = cell.text }
        return fields
    }
}

/// An .xlsx workbook (Office Open XML spreadsheet): the sheet names and, on request, a sheet's cell text.
/// The small parts (relationships, workbook) are read as SWXMLHash trees, the shared strings and the sheet
/// by streaming (`XLSXStreaming`).
///
/// Reads shared strings (rich-text runs joined, phonetic runs left out), inline strings, numbers, booleans
/// (`TRUE`/`FALSE`), dates and formula results as the text stored in the file; cell references that skip
/// columns, rows without references and namespace prefixes (`x:c`) are handled. Parts are extracted in
/// memory with their uncompressed size bounded by `XLSXLimits`; nothing is written to disk.
public final class XLSXWorkbook {
    /// The sheet names in workbook order.
    public let sheetNames: [String]

    private let archive: Archive
    private let entries: [String: Entry]
    private let limits: XLSXLimits
    /// Sheet name -> part path.
    private let sheetParts: [(name: String, part: String)]
    private let sharedStringsPart: String?
    private var sharedStrings: [String]?

    /// Whether the bytes start like a zip file (`PK\x03\x04`).
    public static func looksLikeZip(_ prefix: some Collection<UInt8>) -> Bool {
        prefix.starts(with: [0x50, 0x4B, 0x03, 0x04])
    }

    /// Whether the bytes start like an OLE2 compound file (old .xls, encrypted .xlsx).
    public static func looksLikeOLE2(_ prefix: some Collection<UInt8>) -> Bool {
        prefix.starts(with: [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
    }

    /// Opens a workbook and reads its list of sheets.
    public init(contentsOf url: URL, limits: XLSXLimits = XLSXLimits()) throws(XLSXError) {
        if let handle = try? FileHandle(forReadingFrom: url) {
            let prefix = (try? handle.read(upToCount: 8)) ?? Data()
            try? handle.close()
            if Self.looksLikeOLE2(prefix) { throw .legacyFormat }
        }
        try ZipDirectoryCheck.check(url, maxEntries: limits.maxEntries)
        let archive: Archive
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw .corruptZip("\(error)")
        }
        var entries: [String: Entry] = [:]
        var count = 0
        for entry in archive {
            count += 1
            guard count <= limits.maxEntries else { throw .tooManyEntries(limit: limits.maxEntries) }
            // OPC part names are case-insensitive; the first entry of a name wins.
            let key = entry.path.lowercased()
            if entries[key] == nil { entries[key] = entry }
        }
        guard !entries.isEmpty else { throw .corruptZip("the zip has no entries") }
        self.archive = archive
        self.entries = entries
        self.limits = limits

        // Package relationships -> workbook part (default xl/workbook.xml).
        var workbookPart = "xl/workbook.xml"
        if entries["_rels/.rels"] != nil {
            let rels = try Self.relationships(try Self.parse(try Self.read("_rels/.rels", archive, entries, limits), part: "_rels/.rels"),
                                              part: "_rels/.rels", base: "")
            if let office = rels.first(where: { $0.type.hasSuffix("/officeDocument") }) { workbookPart = office.target }
        }
        let workbook = try Self.parse(try Self.read(workbookPart, archive, entries, limits), part: workbookPart)
        let base = Self.directory(of: workbookPart)
        let relsPart = (base.isEmpty ? "" : base + "/") + "_rels/" + Self.fileName(of: workbookPart) + ".rels"
        let rels: [Relationship]
        if entries[relsPart.lowercased()] != nil {
            rels = try Self.relationships(try Self.parse(try Self.read(relsPart, archive, entries, limits), part: relsPart),
                                          part: relsPart, base: base)
        } else {
            rels = []
        }

        var sheets: [(name: String, part: String)] = []
        for sheet in Self.descendants(of: workbook, path: ["workbook", "sheets", "sheet"]) {
            let name = sheet.attribute(named: "name") ?? "Sheet\(sheets.count + 1)"
            let id = sheet.allAttributes.first { $0.key == "id" || $0.key.hasSuffix(":id") }?.value.text
            let part: String
            if let id, let rel = rels.first(where: { $0.id == id }) {
                part = rel.target
            } else if rels.isEmpty {
                // No relationships part: the conventional name.
                part = (base.isEmpty ? "" : base + "/") + "worksheets/sheet\(sheets.count + 1).xml"
            } else {
                throw .corruptPart(part: workbookPart, reason: "sheet \"\(name)\" has no relationship in \(relsPart)")
            }
            sheets.append((name, part))
        }
        guard !sheets.isEmpty else { throw .noSheets }
        sheetParts = sheets
        sheetNames = sheets.map(\.name)
        if let rel = rels.first(where: { $0.type.hasSuffix("/sharedStrings") }) {
            sharedStringsPart = rel.target
        } else {
            let conventional = (base.isEmpty ? "" : base + "/") + "sharedStrings.xml"
            sharedStringsPart = entries[conventional.lowercased()] != nil ? conventional : nil
        }
    }

    /// The rows of a sheet (the first when `name` is nil) that have at least one non-empty cell, in file order.
    /// Returns the sheet's name too.
    public func rows(ofSheet name: String? = nil) throws(XLSXError) -> (sheet: String, rows: [SpreadsheetRow]) {
        let chosen: (name: String, part: String)
        if let name {
            // Exact scalars first, then the canonically equivalent spelling.
            guard let match = sheetParts.first(where: { $0.name.unicodeScalars.elementsEqual(name.unicodeScalars) })
                ?? sheetParts.first(where: { nfc($0.name).unicodeScalars.elementsEqual(nfc(name).unicodeScalars) })
            else { throw .sheetNotFound(name: name, available: sheetNames) }
            chosen = match
        } else {
            chosen = sheetParts[0]
        }
        let strings = try loadSharedStrings()
        let data = try Self.read(chosen.part, archive, entries, limits)
        try Self.checkStructure(data, part: chosen.part)
        let rows = try XLSXStreaming.rows(data, part: chosen.part, sheet: chosen.name, strings: strings)
        return (chosen.name, rows)
    }

    // MARK: - Cells

    private func loadSharedStrings() throws(XLSXError) -> [String] {
        if let sharedStrings { return sharedStrings }
        guard let part = sharedStringsPart else {
            sharedStrings = []
            return []
        }
        let data = try Self.read(part, archive, entries, limits)
        try Self.checkStructure(data, part: part)
        let strings = try XLSXStreaming.sharedStrings(data, part: part)
        sharedStrings = strings
        return strings
    }

    /// Undoes SpreadsheetML's `_xHHHH_` escapes (how Excel stores characters XML cannot hold, such as a
    /// carriage return `_x000D_`; a literal `_x` sequence is stored as `_x005F_x...`).
    static func decodeEscapes(_ text: String) -> String {
        guard text.contains("_x") else { return text }
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            if scalars[i] == "_", i + 6 < scalars.count, scalars[i + 1] == "x", scalars[i + 6] == "_" {
                let hex = String(String.UnicodeScalarView(scalars[(i + 2)..<(i + 6)]))
                if hex.unicodeScalars.allSatisfy(\.properties.isASCIIHexDigit), let value = UInt32(hex, radix: 16),
                   let scalar = Unicode.Scalar(value) {
                    result.append(scalar)
                    i += 7
                    continue
                }
            }
            result.append(scalars[i])
            i += 1
        }
        return String(result)
    }

    /// 0-based column of a reference such as `B3` (letters, then digits), nil if malformed.
    static func column(ofReference reference: String) -> Int? {
        var column = 0
        var letters = 0
        var digits = 0
        for scalar in reference.unicodeScalars {
            switch scalar {
            case "A"..."Z", "a"..."z":
                guard digits == 0, letters < 3 else { return nil }
                let value = Int(scalar.value) - (scalar.value >= 97 ? 96 : 64)   // a/A -> 1
                column = column * 26 + value
                letters += 1
            case "0"..."9":
                guard letters > 0, digits < 8 else { return nil }
                digits += 1
            case "$":
                continue
            default:
                return nil
            }
        }
        guard letters > 0 else { return nil }
        return column - 1
    }

    /// The letters of a 0-based column (0 -> A, 26 -> AA).
    static func columnName(_ column: Int) -> String {
        var n = column + 1
        var name = ""
        while n > 0 {
            let r = (n - 1) % 26
            name = String(UnicodeScalar(UInt8(65 + r))) + name
            n = (n - 1) / 26
        }
        return name
    }

    // MARK: - Parts

    private struct Relationship {
        var id: String
        var type: String
        var target: String
    }

    /// A relationships part's entries, targets resolved against `base` (the folder of the source part).
    private static func relationships(_ root: XMLElement, part: String, base: String) throws(XLSXError) -> [Relationship] {
        var result: [Relationship] = []
        for rel in descendants(of: root, path: ["Relationships", "Relationship"]) {
            guard let id = rel.attribute(named: "Id"), let type = rel.attribute(named: "Type"),
                  let target = rel.attribute(named: "Target") else { continue }
            if rel.attribute(named: "TargetMode") == "External" {
                // Only matters if the workbook would read it; keep it out of the list.
                continue
            }
            result.append(Relationship(id: id, type: type, target: try resolve(target, base: base, part: part)))
        }
        return result
    }

    /// A relationship target as a package path: absolute (`/xl/...`) or relative to `base`; `..` may not
    /// climb out of the package.
    private static func resolve(_ target: String, base: String, part: String) throws(XLSXError) -> String {
        let decoded = target.removingPercentEncoding ?? target
        var components: [Substring] = decoded.hasPrefix("/") ? [] : base.split(separator: "/")
        for component in decoded.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..":
                guard !components.isEmpty else { throw .unsafePath(part: part, target: target) }
                components.removeLast()
            default:
                guard !component.contains("\\"), !component.contains(":") else { throw .unsafePath(part: part, target: target) }
                components.append(component)
            }
        }
        guard !components.isEmpty else { throw .unsafePath(part: part, target: target) }
        return components.joined(separator: "/")
    }

    private static func directory(of part: String) -> String {
        part.split(separator: "/").dropLast().joined(separator: "/")
    }

    private static func fileName(of part: String) -> String {
        part.split(separator: "/").last.map(String.init) ?? part
    }

    /// Extracts a part in memory: refuses a declared size over the limit before extracting, stops once the
    /// bytes pass it, and checks the size and CRC-32 the zip records.
    private static func read(_ part: String, _ archive: Archive, _ entries: [String: Entry], _ limits: XLSXLimits) throws(XLSXError) -> Data {
        guard let entry = entries[part.lowercased()] else { throw .missingPart(part) }
        guard entry.type == .file else { throw .corruptPart(part: part, reason: "not a file entry") }
        let declared = entry.uncompressedSize
        guard declared <= UInt64(limits.maxPartBytes) else {
            throw .partTooLarge(part: part, size: declared, limit: limits.maxPartBytes)
        }
        var data = Data()
        data.reserveCapacity(Int(declared))
        var reached: Int?
        let checksum: CRC32
        do {
            checksum = try archive.extract(entry, bufferSize: 64 << 10) { chunk in
                guard data.count + chunk.count <= limits.maxPartBytes else {
                    reached = data.count + chunk.count
                    throw Archive.ArchiveError.cancelledOperation
                }
                data.append(chunk)
            }
        } catch {
            if let reached {
                throw .partTooLarge(part: part, size: UInt64(reached), limit: limits.maxPartBytes)
            }
            throw .corruptPart(part: part, reason: "\(error)")
        }
        guard UInt64(data.count) == declared else {
            throw .corruptPart(part: part, reason: "\(data.count) bytes, the zip says \(declared)")
        }
        guard checksum == entry.checksum else { throw .corruptPart(part: part, reason: "CRC-32 mismatch") }
        return data
    }

    /// Deepest element nesting accepted (SpreadsheetML needs fewer than 10 levels).
    static let maxDepth = 64

    /// Parses a part into an element tree (namespace prefixes removed from element names). A document
    /// type declaration (which SpreadsheetML never uses: entities, external references) or nesting deeper
    /// than `maxDepth` is refused before the XML parser sees the bytes.
    private static func parse(_ data: Data, part: String) throws(XLSXError) -> XMLElement {
        try checkStructure(data, part: part)
        let indexer = XMLHash.config { options in
            options.shouldProcessNamespaces = true
            options.detectParsingErrors = true
        }.parse(data)
        if case .parsingError(let error) = indexer {
            throw .badXML(part: part, reason: "line \(error.line), column \(error.column)")
        }
        guard let root = indexer.element, root.childElements.count == 1 else {
            throw .badXML(part: part, reason: "no root element")
        }
        return root.childElements[0]
    }

    /// Refuses a DTD or nesting deeper than `maxDepth` (see `structureProblem`).
    static func checkStructure(_ data: Data, part: String) throws(XLSXError) {
        if let problem = data.withUnsafeBytes({ structureProblem(in: $0.bindMemory(to: UInt8.self)) }) {
            throw .badXML(part: part, reason: problem)
        }
    }

    /// Scans XML bytes for a DTD or excessive nesting without parsing them (an iterative pass over the
    /// bytes: tags, quoted attribute values, comments, CDATA and processing instructions).
    static func structureProblem(in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        let lt = UInt8(ascii: "<"), gt = UInt8(ascii: ">"), slash = UInt8(ascii: "/")
        let bang = UInt8(ascii: "!"), question = UInt8(ascii: "?")
        func starts(_ literal: StaticString, at index: Int) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            let pointer = literal.utf8Start
            for k in 0..<count where bytes[index + k] != pointer[k] { return false }
            return true
        }
        /// The index just past the first `literal` at or after `index`, nil if none.
        func find(_ literal: StaticString, from index: Int) -> Int? {
            let first = literal.utf8Start[0]
            var i = index
            while i < bytes.count {
                if bytes[i] == first, starts(literal, at: i) { return i + literal.utf8CodeUnitCount }
                i += 1
            }
            return nil
        }
        var depth = 0
        var i = 0
        while i < bytes.count {
            guard bytes[i] == lt, i + 1 < bytes.count else {
                i += 1
                continue
            }
            let next = bytes[i + 1]
            if next == bang {
                if starts("<!--", at: i) {
                    guard let end = find("-->", from: i + 4) else { return "unterminated comment" }
                    i = end
                } else if starts("<![CDATA[", at: i) {
                    guard let end = find("]]>", from: i + 9) else { return "unterminated CDATA section" }
                    i = end
                } else {
                    return "a document type declaration (<!DOCTYPE ...>), which spreadsheets do not use"
                }
            } else if next == question {
                guard let end = find("?>", from: i + 2) else { return "unterminated processing instruction" }
                i = end
            } else if next == slash {
                depth -= 1
                guard let end = find(">", from: i + 2) else { return "unterminated end tag" }
                i = end
            } else {
                // A start tag: runs to the first `>` outside quotes; `/>` closes it at once.
                var j = i + 1
                var quote: UInt8?
                while j < bytes.count {
                    let byte = bytes[j]
                    if let q = quote {
                        if byte == q { quote = nil }
                    } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                        quote = byte
                    } else if byte == gt {
                        break
                    }
                    j += 1
                }
                guard j < bytes.count else { return "unterminated start tag" }
                if bytes[j - 1] != slash {
                    depth += 1
                    if depth > maxDepth { return "elements nested more than \(maxDepth) deep" }
                }
                i = j + 1
            }
        }
        return nil
    }

    /// The elements reached from `root` by following element names (`path[0]` is the root's own name).
    private static func descendants(of root: XMLElement, path: [String]) -> [XMLElement] {
        guard let first = path.first, root.name == first else { return [] }
        var level = [root]
        for name in path.dropFirst() {
            level = level.flatMap { $0.childElements.filter { $0.name == name } }
        }
        return level
    }
}

extension SWXMLHash.XMLElement {
    fileprivate var childElements: [XMLElement] { children.compactMap { $0 as? XMLElement } }

    fileprivate func attribute(named name: String) -> String? { allAttributes[name]?.text }
}

/// `text` in Unicode Normalization Form C.
func nfc(_ text: String) -> String { text.precomposedStringWithCanonicalMapping }

/// Checks a zip's end record and central directory before ZIPFoundation reads them: ZIPFoundation trusts
/// 64-bit offsets and sizes from zip64 records and extra fields (converting them to signed file offsets and
/// adding them unchecked), so a hostile value near 2^64 would trap. Walks the same records ZIPFoundation
/// will use (the last end record; the zip64 record right before it, if any) and refuses offsets past the
/// file and zip64 values of 2^40 or more.
enum ZipDirectoryCheck {
    static let zip64ValueLimit: UInt64 = 1 << 40

    static func check(_ url: URL, maxEntries: Int) throws(XLSXError) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw .corruptZip("cannot read the file: \(error.localizedDescription)")
        }
        let found: String? = data.withUnsafeBytes { raw in problem(in: raw, maxEntries: maxEntries) }
        if let found { throw .corruptZip(found) }
    }

    static func problem(in bytes: UnsafeRawBufferPointer, maxEntries: Int) -> String? {
        let n = bytes.count
        func u16(_ at: Int) -> Int { Int(UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8) }
        func u32(_ at: Int) -> UInt64 { (0..<4).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * $1) } }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * $1) } }
        func signature(_ at: Int, _ value: UInt64) -> Bool { at >= 0 && at + 4 <= n && u32(at) == value }

        guard n >= 22 else { return "too short for a zip file" }
        var eocd = n - 22
        while eocd >= 0, !signature(eocd, 0x0605_4B50) { eocd -= 1 }
        guard eocd >= 0 else { return "no end-of-central-directory record" }

        var entries = UInt64(u16(eocd + 10))
        var directorySize = u32(eocd + 12)
        var directoryOffset = u32(eocd + 16)
        let locator = eocd - 20
        let record = locator - 56
        if signature(locator, 0x0706_4B50) || signature(record, 0x0606_4B50) {
            guard signature(locator, 0x0706_4B50), signature(record, 0x0606_4B50) else {
                return "incomplete zip64 end records"
            }
            entries = u64(record + 32)
            directorySize = u64(record + 40)
            directoryOffset = u64(record + 48)
        }
        guard directoryOffset <= UInt64(n), directorySize <= UInt64(n) else {
            return "the central directory lies outside the file"
        }
        var position = Int(directoryOffset)
        for index in 0..<min(entries, UInt64(maxEntries) + 1) {
            guard position + 46 <= n, signature(position, 0x0201_4B50) else {
                return "central directory entry \(index + 1) is missing or damaged"
            }
            let nameLength = u16(position + 28), extraLength = u16(position + 30), commentLength = u16(position + 32)
            let extraStart = position + 46 + nameLength
            let end = extraStart + extraLength + commentLength
            guard end <= n else { return "central directory entry \(index + 1) runs past the end of the file" }
            var localOffset = u32(position + 42)
            var field = extraStart
            while field + 4 <= extraStart + extraLength {
                let id = u16(field), size = u16(field + 2)
                guard field + 4 + size <= extraStart + extraLength else { break }
                if id == 0x0001 {
                    var value = field + 4
                    while value + 8 <= field + 4 + size {
                        guard u64(value) < zip64ValueLimit else {
                            return "central directory entry \(index + 1) has an impossible zip64 size or offset"
                        }
                        value += 8
                    }
                    if u32(position + 42) == 0xFFFF_FFFF, size >= 8 {
                        // The offset is the last of the fields present (sizes come first when they overflow).
                        let fieldsBefore = (u32(position + 24) == 0xFFFF_FFFF ? 1 : 0) + (u32(position + 20) == 0xFFFF_FFFF ? 1 : 0)
                        if field + 4 + 8 * (fieldsBefore + 1) <= field + 4 + size {
                            localOffset = u64(field + 4 + 8 * fieldsBefore)
                        }
                    }
                }
                field += 4 + size
            }
            guard localOffset + 30 <= UInt64(n) else {
                return "central directory entry \(index + 1) points past the end of the file"
            }
            position = end
        }
        return nil
    }
}
