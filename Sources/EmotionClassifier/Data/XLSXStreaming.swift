import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Streaming (SAX) readers for the two large parts of a workbook, the shared strings and a sheet: they keep
/// only the text they need, not an element tree. Element names arrive without namespace prefixes.
/// The bytes have passed `XLSXWorkbook.structureProblem` (no DTD, bounded depth) before they get here.
enum XLSXStreaming {
    /// Runs `delegate` over `data`; a delegate's own error wins over the parser's.
    static func parse(_ data: Data, part: String, delegate: some XMLParserDelegate & FailingDelegate) throws(XLSXError) {
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = delegate
        let ok = parser.parse()
        if let failure = delegate.failure { throw failure }
        // Foundation on Linux may report a fatal error (e.g. a document that ends inside an element) only
        // through the delegate while `parse()` returns true.
        guard ok, delegate.xmlError == nil else {
            let detail = (delegate.xmlError ?? parser.parserError).map { error -> String in
                let info = (error as NSError).userInfo
                let line = info["NSXMLParserErrorLineNumber"] as? Int ?? parser.lineNumber
                let column = info["NSXMLParserErrorColumn"] as? Int ?? parser.columnNumber
                return "line \(line), column \(column)"
            } ?? "line \(parser.lineNumber), column \(parser.columnNumber)"
            throw .badXML(part: part, reason: detail)
        }
    }

    /// Reads `sst/si`: each item's `t` text, or its rich-text runs' `t` joined; phonetic runs (`rPh`) left out.
    static func sharedStrings(_ data: Data, part: String) throws(XLSXError) -> [String] {
        let reader = StringTableReader()
        try parse(data, part: part, delegate: reader)
        return reader.strings
    }

    /// Reads `worksheet/sheetData/row/c`: the rows with at least one non-empty cell.
    static func rows(_ data: Data, part: String, sheet: String, strings: [String]) throws(XLSXError) -> [SpreadsheetRow] {
        let reader = SheetReader(sheet: sheet, strings: strings)
        try parse(data, part: part, delegate: reader)
        return reader.rows
    }
}

/// A parser delegate that can stop the parse with its own error.
protocol FailingDelegate: AnyObject {
    var failure: XLSXError? { get }
    /// The XML parser's first error report.
    var xmlError: Error? { get }
}

/// Collects the text of `t` elements inside string items (`si` in the shared strings, `is` in a cell),
/// outside phonetic runs.
private struct StringItemText {
    private(set) var text = ""
    private var inT = false
    private var phoneticDepth = 0

    mutating func reset() {
        text = ""
        inT = false
        phoneticDepth = 0
    }

    mutating func start(_ name: String) {
        if name == "rPh" { phoneticDepth += 1 }
        if name == "t", phoneticDepth == 0 { inT = true }
    }

    mutating func end(_ name: String) {
        if name == "rPh" { phoneticDepth -= 1 }
        if name == "t" { inT = false }
    }

    mutating func characters(_ string: String) {
        if inT { text += string }
    }

    var value: String { XLSXWorkbook.decodeEscapes(text) }
}

private final class StringTableReader: NSObject, XMLParserDelegate, FailingDelegate {
    var strings: [String] = []
    var failure: XLSXError?
    var xmlError: Error?
    private var item = StringItemText()

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        if xmlError == nil { xmlError = parseError }
    }
    private var inItem = false

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if name == "si" {
            inItem = true
            item.reset()
        } else if inItem {
            item.start(name)
        }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "si" {
            strings.append(item.value)
            inItem = false
        } else if inItem {
            item.end(name)
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inItem { item.characters(string) }
    }

    func parser(_ parser: XMLParser, foundCDATA data: Data) {
        if inItem { item.characters(String(decoding: data, as: UTF8.self)) }
    }
}

private final class SheetReader: NSObject, XMLParserDelegate, FailingDelegate {
    let sheet: String
    let strings: [String]
    var rows: [SpreadsheetRow] = []
    var failure: XLSXError?
    var xmlError: Error?

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        if xmlError == nil { xmlError = parseError }
    }

    private var inSheetData = false
    private var rowNumber = 0
    private var cells: [SpreadsheetCell] = []
    private var nextColumn = 0
    // The cell being read.
    private var inCell = false
    private var cellType = "n"
    private var cellColumn = 0
    private var cellLabel = ""
    private var value: String?
    private var inValue = false
    private var inInline = false
    private var inline = StringItemText()

    init(sheet: String, strings: [String]) {
        self.sheet = sheet
        self.strings = strings
    }

    private func fail(_ parser: XMLParser, _ reason: String, cell: String = "") {
        if failure == nil { failure = .badCell(sheet: sheet, row: rowNumber, cell: cell, reason: reason) }
        parser.abortParsing()
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        guard failure == nil else { return }
        if inInline {
            inline.start(name)
            return
        }
        switch name {
        case "sheetData":
            inSheetData = true
        case "row" where inSheetData:
            let previous = rowNumber
            rowNumber = previous + 1
            if let r = attributes["r"] {
                guard let number = Int(r.trimmingCharacters(in: .whitespaces)), number >= 1, number <= 1 << 24 else {
                    rowNumber = previous + 1
                    return fail(parser, "bad row number \"\(r)\"")
                }
                rowNumber = number
            }
            cells = []
            nextColumn = 0
        case "c" where inSheetData:
            var column = nextColumn
            if let reference = attributes["r"] {
                guard let parsed = XLSXWorkbook.column(ofReference: reference) else {
                    return fail(parser, "bad cell reference", cell: reference)
                }
                column = parsed
            }
            cellLabel = attributes["r"] ?? XLSXWorkbook.columnName(column) + String(rowNumber)
            guard column >= nextColumn else { return fail(parser, "cell out of column order", cell: cellLabel) }
            guard column < 16_384 else { return fail(parser, "column beyond XFD", cell: cellLabel) }
            nextColumn = column + 1
            cellColumn = column
            cellType = attributes["t"] ?? "n"
            value = nil
            inCell = true
        case "v" where inCell:
            inValue = true
            value = value ?? ""
        case "is" where inCell:
            inInline = true
            inline.reset()
        default:
            break
        }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        guard failure == nil else { return }
        if inInline {
            if name == "is" { inInline = false } else { inline.end(name) }
            return
        }
        switch name {
        case "sheetData":
            inSheetData = false
        case "v":
            inValue = false
        case "c" where inCell:
            inCell = false
            guard let text = cellText(parser) else { return }
            if !text.isEmpty { cells.append(SpreadsheetCell(column: cellColumn, text: text)) }
        case "row" where inSheetData:
            if !cells.isEmpty { rows.append(SpreadsheetRow(number: rowNumber, cells: cells)) }
            cells = []
        default:
            break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inInline {
            inline.characters(string)
        } else if inValue {
            value? += string
        }
    }

    func parser(_ parser: XMLParser, foundCDATA data: Data) {
        self.parser(parser, foundCharacters: String(decoding: data, as: UTF8.self))
    }

    /// The finished cell's text, nil after a failure.
    private func cellText(_ parser: XMLParser) -> String? {
        switch cellType {
        case "s":
            guard let value else { return "" }
            guard let index = Int(value.trimmingCharacters(in: .whitespaces)), index >= 0, index < strings.count else {
                fail(parser, "shared string index \"\(value)\" out of range (\(strings.count) strings)", cell: cellLabel)
                return nil
            }
            return strings[index]
        case "inlineStr":
            return inline.value.isEmpty ? (value ?? "") : inline.value
        case "b":
            switch value?.trimmingCharacters(in: .whitespaces) {
            case "1": return "TRUE"
            case "0": return "FALSE"
            case nil: return ""
            case let other?:
                fail(parser, "bad boolean \"\(other)\"", cell: cellLabel)
                return nil
            }
        default:
            // n (number), str (formula result), e (error such as #N/A), d (ISO date): the stored text.
            return value ?? ""
        }
    }
}
