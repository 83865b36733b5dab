import Foundation
import Testing
@testable import EmotionClassifier

/// Workbooks written by `Scripts/make_xlsx_fixtures.py` (openpyxl, LibreOffice, and by hand).
func xlsxFixture(_ name: String) -> URL { fixtureURL("xlsx/" + name) }

@Suite struct XLSXTests {
    @Test func sharedStringsRichTextNumbersAndEmptyRows() throws {
        let url = xlsxFixture("shared-strings.xlsx")
        let dataset = try EmotionDataset.load(contentsOf: url)
        #expect(scalars(dataset.examples.map(\.text)) == scalars([
            "헐! 나 이벤트에 당첨 됐어.", "너무 무서워", "12345", "정말 화가 나", "  앞뒤 공백  ", "건너뛴 행 뒤",
        ]))
        // happiness, 공포, id 4 (a number cell), 분노, 슬픔, 중립.
        #expect(dataset.examples.map(\.label) == [5, 0, 4, 2, 3, 4])
        #expect(dataset.examples.map(\.row) == [1, 2, 3, 4, 5, 6])
        #expect(dataset.sheet == "대화")
        #expect(scalars(dataset.textColumn) == scalars("발화문"))
        #expect(scalars(dataset.labelColumn) == scalars("상황"))
        #expect(dataset.columnNotes.isEmpty)
        #expect(dataset.encoding == .utf8)
    }

    @Test func rawCellsKeepTypesAsText() throws {
        let (sheet, rows) = try XLSXWorkbook(contentsOf: xlsxFixture("shared-strings.xlsx")).rows()
        #expect(sheet == "대화")
        #expect(rows.map(\.number) == [1, 2, 3, 5, 6, 7, 9])   // row 4 is empty, row 8 absent
        #expect(rows[3].fields() == ["12345", "4", "TRUE"])
        #expect(rows[4].fields() == ["정말 화가 나", "분노", "FALSE"])
        #expect(rows[5].fields() == ["  앞뒤 공백  ", "슬픔", "1.5"])
        #expect(rows[2].fields(width: 3) == ["너무 무서워", "공포", ""])
    }

    @Test func secondSheetByNameUsesSentenceEmotionFallback() throws {
        let url = xlsxFixture("shared-strings.xlsx")
        #expect(try XLSXWorkbook(contentsOf: url).sheetNames == ["대화", "Second"])
        let dataset = try EmotionDataset.load(contentsOf: url, sheet: "Second")
        #expect(scalars(dataset.examples.map(\.text)) == scalars(["깜짝이야", "역겨워"]))
        #expect(dataset.examples.map(\.label) == [1, 6])
        #expect(dataset.sheet == "Second")
        #expect(dataset.textColumn == "Sentence" && dataset.labelColumn == "Emotion")
        #expect(dataset.columnNotes.count == 2)
        #expect(dataset.columnNotes.first?.contains("Sentence") == true)

        let missing = #expect(throws: DatasetError.self) { try EmotionDataset.load(contentsOf: url, sheet: "Third") }
        #expect(missing == .spreadsheet(file: url.path, .sheetNotFound(name: "Third", available: ["대화", "Second"])))
        #expect(missing?.description.contains("Third") == true)
        // A sheet name typed in NFD finds the NFC-named sheet.
        let nfd = try EmotionDataset.load(contentsOf: url, sheet: "대화".decomposedStringWithCanonicalMapping)
        #expect(nfd.examples.count == 6)
    }

    @Test func inlineStringsFormulaResultsAndCellsWithoutReferences() throws {
        let dataset = try EmotionDataset.load(contentsOf: xlsxFixture("inline-strings.xlsx"))
        #expect(scalars(dataset.examples.map(\.text)) == scalars(["인라인 문장", "수식결과", "r 없는 행", "TRUE"]))
        #expect(dataset.examples.map(\.label) == [0, 3, 3, 5])
        let (_, rows) = try XLSXWorkbook(contentsOf: xlsxFixture("inline-strings.xlsx")).rows()
        #expect(rows.map(\.number) == [1, 2, 4, 5, 7])
        #expect(rows[0].fields() == ["발화문", "", "상황"])   // B1 skipped by the references
        #expect(rows[3].fields() == ["r 없는 행", "", "3"])    // no r on the row or its cells
    }

    @Test func libreOfficeStyleAndNamespacePrefixes() throws {
        let libre = try EmotionDataset.load(contentsOf: xlsxFixture("libreoffice-style.xlsx"))
        #expect(scalars(libre.examples.map(\.text)) == scalars([" 리브레 오피스 ", "서식 섞임"]))
        #expect(libre.examples.map(\.label) == [5, 0])
        let prefixed = try EmotionDataset.load(contentsOf: xlsxFixture("prefixed.xlsx"))
        #expect(scalars(prefixed.examples.map(\.text)) == scalars(["접두사 문장"]))
        #expect(prefixed.examples.map(\.label) == [6])
    }

    /// Written by LibreOffice itself (soffice --convert-to xlsx) from a CSV.
    @Test func libreOfficeWorkbook() throws {
        let dataset = try EmotionDataset.load(contentsOf: xlsxFixture("libreoffice.xlsx"))
        #expect(scalars(dataset.examples.map(\.text)) == scalars(["리브레오피스가 쓴 문장", " 공백 있는 문장 ", "두 번째"]))
        #expect(dataset.examples.map(\.label) == [5, 3, 2])
    }

    @Test func aiHubSingleTurnLayout() throws {
        let dataset = try EmotionDataset.load(contentsOf: xlsxFixture("aihub-single-turn.xlsx"))
        #expect(dataset.examples.map(\.label) == [0, 0, 1, 2, 3, 4, 5, 6])
        #expect(scalars(dataset.examples[0].text) == scalars("언니 동생으로 부르는게 맞는 일인가요..??"))
        #expect(dataset.textColumn == "Sentence" && dataset.labelColumn == "Emotion")
        #expect(dataset.sheet == "Sheet1")
        #expect(dataset.summary.hasSuffix("""
            aihub-single-turn.xlsx, sheet "Sheet1", columns Sentence/Emotion, 8 sentences \
            (no column "발화문"; using "Sentence" instead; no column "상황"; using "Emotion" instead)
            """))
    }

    @Test func missingColumnAndBadRowsNameSheetAndRow() throws {
        let url = xlsxFixture("missing-column.xlsx")
        #expect(throws: DatasetError.missingColumns(file: url.path, missing: ["상황"], header: ["발화문", "label"])) {
            try EmotionDataset.load(contentsOf: url)
        }
        let other = xlsxFixture("shared-strings.xlsx")
        let labels = try LabelSet(names: ["fear", "happiness"])
        let error = #expect(throws: DatasetError.self) { try EmotionDataset.load(contentsOf: other, labels: labels) }
        guard case let .invalidRows(_, issues)? = error else {
            Issue.record("expected invalid rows, got \(String(describing: error))")
            return
        }
        #expect(issues.map(\.line) == [3, 5, 6, 7, 9])   // sheet rows; 4 is empty, 2 is happiness
        #expect(issues.map(\.row) == [2, 3, 4, 5, 6])
        #expect(issues.allSatisfy { $0.sheet == "대화" })
        #expect(error?.description.contains("row 2 (sheet \"대화\" row 3): unknown label \"공포\"") == true)
    }

    @Test func sheetOptionOnCSVIsAnError() throws {
        let url = try temporaryFile("발화문,상황\n안녕,fear\n")
        #expect(throws: DatasetError.sheetWithoutSpreadsheet(file: url.path, sheet: "Sheet1")) {
            try EmotionDataset.load(contentsOf: url, sheet: "Sheet1")
        }
    }

    /// The loader recognises a workbook by its zip signature whatever its name.
    @Test func dispatchOnContent() throws {
        let bytes = try [UInt8](Data(contentsOf: xlsxFixture("prefixed.xlsx")))
        let url = try temporaryFile(bytes, name: "data.csv")
        #expect(try EmotionDataset.load(contentsOf: url).examples.count == 1)
    }

    // MARK: - Hostile files

    private func spreadsheetError(_ name: String, sheet: String? = nil) -> XLSXError? {
        let url = xlsxFixture(name)
        let error = #expect(throws: DatasetError.self) { try EmotionDataset.load(contentsOf: url, sheet: sheet) }
        #expect(error?.description.hasPrefix(url.path) == true, "the error names the file")
        guard case let .spreadsheet(file, inner)? = error, file == url.path else { return nil }
        return inner
    }

    /// A zip64 extra field with a local-header offset near 2^64 (ZIPFoundation alone would trap on it).
    @Test func impossibleZip64Offset() {
        guard case .corruptZip(let reason)? = spreadsheetError("zip64-offset.xlsx") else {
            Issue.record("zip64-offset.xlsx")
            return
        }
        #expect(reason.contains("zip64"))
    }

    @Test func corruptAndForeignFiles() {
        if case .corruptZip? = spreadsheetError("corrupt.xlsx") {} else { Issue.record("corrupt.xlsx") }
        if case .corruptZip? = spreadsheetError("not-a-zip.xlsx") {} else { Issue.record("not-a-zip.xlsx") }
        #expect(spreadsheetError("legacy.xls") == .legacyFormat)
    }

    @Test func missingPartTraversalAndBadCells() {
        #expect(spreadsheetError("missing-part.xlsx") == .missingPart("xl/worksheets/sheet1.xml"))
        #expect(spreadsheetError("traversal.xlsx") == .unsafePath(part: "xl/_rels/workbook.xml.rels", target: "../../../../etc/passwd"))
        guard case let .badCell(sheet, row, cell, reason)? = spreadsheetError("bad-shared-index.xlsx") else {
            Issue.record("bad-shared-index.xlsx")
            return
        }
        #expect(sheet == "Sheet1" && row == 2 && cell == "A2")
        #expect(reason.contains("out of range"))
    }

    @Test func malformedAndDeepXML() {
        if case .badXML(let part, _)? = spreadsheetError("bad-xml.xlsx") {
            #expect(part == "xl/worksheets/sheet1.xml")
        } else { Issue.record("bad-xml.xlsx: \(String(describing: spreadsheetError("bad-xml.xlsx")))") }
        // 100,000 nested elements: refused by the parser's depth limit, not a stack overflow.
        if case .badXML(let part, _)? = spreadsheetError("deep.xlsx") {
            #expect(part == "xl/worksheets/sheet1.xml")
        } else { Issue.record("deep.xlsx") }
    }

    /// A DTD (here declaring an external entity on /etc/hostname) is refused before parsing.
    @Test func documentTypeDeclarationIsRefused() throws {
        guard case let .badXML(part, reason)? = spreadsheetError("external-entity.xlsx") else {
            Issue.record("external-entity.xlsx")
            return
        }
        #expect(part == "xl/worksheets/sheet1.xml")
        #expect(reason.contains("DOCTYPE"))
    }

    @Test func structureScan() {
        func problem(_ xml: String) -> String? {
            Array(xml.utf8).withUnsafeBufferPointer { XLSXWorkbook.structureProblem(in: $0) }
        }
        let depth = XLSXWorkbook.maxDepth
        #expect(problem(String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth)) == nil)
        #expect(problem(String(repeating: "<a>", count: depth + 1))?.contains("nested") == true)
        // Self-closing tags, comments, CDATA, processing instructions and quoted `>` do not nest.
        let flat = "<?xml version=\"1.0\"?><a x=\"1>2\" y='/>'>" + String(repeating: "<b/><!-- <c> --><![CDATA[<d>]]><?pi <e>?>", count: 200) + "</a>"
        #expect(problem(flat) == nil)
        #expect(problem("<!DOCTYPE a><a/>")?.contains("DOCTYPE") == true)
        #expect(problem("<a><!-- open") != nil)
    }

    @Test func sizeBounds() throws {
        // A declared size over the limit is refused before extracting.
        var small = XLSXLimits()
        small.maxPartBytes = 50
        #expect(throws: XLSXError.partTooLarge(part: "_rels/.rels", size: 571, limit: 50)) {
            try XLSXWorkbook(contentsOf: xlsxFixture("libreoffice.xlsx"), limits: small)
        }
        // A zip that understates a part's size (100 bytes declared, 376 held): extraction stops at the bound...
        var bound = XLSXLimits()
        bound.maxPartBytes = 350
        #expect(throws: XLSXError.partTooLarge(part: "xl/worksheets/sheet1.xml", size: 376, limit: 350)) {
            try XLSXWorkbook(contentsOf: xlsxFixture("lying-size.xlsx"), limits: bound).rows()
        }
        // A 3 GB claim is refused before extracting (without the check, extraction would finish and report
        // a size mismatch instead).
        #expect(spreadsheetError("inflated-size.xlsx")
            == .partTooLarge(part: "xl/worksheets/sheet1.xml", size: 3_000_000_000, limit: XLSXLimits().maxPartBytes))
        // ...and within the bound the mismatch is reported.
        if case .corruptPart(let part, let reason)? = spreadsheetError("lying-size.xlsx") {
            #expect(part == "xl/worksheets/sheet1.xml")
            #expect(reason.contains("376"))
        } else { Issue.record("lying-size.xlsx") }
    }

    /// A stored (uncompressed) part changed after zipping, still valid XML: only the CRC-32 catches it.
    @Test func checksumMismatch() {
        #expect(spreadsheetError("bad-crc.xlsx") == .corruptPart(part: "xl/worksheets/sheet1.xml", reason: "CRC-32 mismatch"))
    }

    /// Damaged copies of a workbook (bytes overwritten, the file cut short) give errors, never a crash.
    @Test func damagedCopiesNeverCrash() throws {
        let original = try [UInt8](Data(contentsOf: xlsxFixture("shared-strings.xlsx")))
        let folder = try temporaryDirectory()
        var loaded = 0
        var failed = 0
        for (i, position) in stride(from: 0, to: original.count, by: 23).enumerated() {
            var bytes = original
            bytes[position] ^= UInt8(truncatingIfNeeded: 0x5A &+ i)
            if i % 3 == 0 { bytes.removeLast(min(bytes.count - 1, (i * 97) % 300)) }
            let url = folder.appendingPathComponent("damaged-\(i).xlsx")
            try Data(bytes).write(to: url)
            if let message = loadError(url) {
                #expect(message.hasPrefix(url.path))
                failed += 1
            } else {
                loaded += 1
            }
        }
        // Every byte of the central directory and end record, one at a time: inverted, or 0xFF for even positions.
        let directory = try #require(original.indices.first { original[$0...].starts(with: [0x50, 0x4B, 0x01, 0x02]) })
        for position in directory..<original.count {
            for value in [position % 2 == 0 ? 0xFF : ~original[position]] where value != original[position] {
                var bytes = original
                bytes[position] = value
                let url = folder.appendingPathComponent("cd-\(position)-\(value).xlsx")
                try Data(bytes).write(to: url)
                if loadError(url) != nil { failed += 1 } else { loaded += 1 }
                try? FileManager.default.removeItem(at: url)
            }
        }
        #expect(failed > 0)
        print("damaged workbooks: \(loaded) loaded, \(failed) refused")
    }

    /// The loader's error message for a file, nil if it loads.
    private func loadError(_ url: URL) -> String? {
        do {
            _ = try EmotionDataset.load(contentsOf: url, skipInvalid: true)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func escapedCharacters() {
        #expect(scalars(XLSXWorkbook.decodeEscapes("줄_x000D_바꿈")) == scalars("줄\r바꿈"))
        #expect(scalars(XLSXWorkbook.decodeEscapes("_x005F_x0041_")) == scalars("_x0041_"))
        #expect(scalars(XLSXWorkbook.decodeEscapes("_x00G1_ _x12_ 끝_x")) == scalars("_x00G1_ _x12_ 끝_x"))
        #expect(scalars(XLSXWorkbook.decodeEscapes("_xD800_")) == scalars("_xD800_"))   // a lone surrogate stays text
    }

    @Test func cellReferences() {
        #expect(XLSXWorkbook.column(ofReference: "A1") == 0)
        #expect(XLSXWorkbook.column(ofReference: "Z9") == 25)
        #expect(XLSXWorkbook.column(ofReference: "AA10") == 26)
        #expect(XLSXWorkbook.column(ofReference: "$B$3") == 1)
        #expect(XLSXWorkbook.column(ofReference: "XFD1048576") == 16383)
        for bad in ["", "1", "A1B", "AAAA1", "A-1", "가1", "A123456789"] {
            #expect(XLSXWorkbook.column(ofReference: bad) == nil, "\(bad)")
        }
        #expect(XLSXWorkbook.columnName(0) == "A")
        #expect(XLSXWorkbook.columnName(27) == "AB")
    }

    @Test func sentenceFileReadsTheTextColumn() throws {
        let texts = try SentenceFile.sentences(xlsxFixture("shared-strings.xlsx"))
        #expect(scalars(texts) == scalars(["헐! 나 이벤트에 당첨 됐어.", "너무 무서워", "12345", "정말 화가 나", "  앞뒤 공백  ", "건너뛴 행 뒤"]))
        let second = try SentenceFile.sentences(xlsxFixture("shared-strings.xlsx"), column: "Sentence", sheet: "Second")
        #expect(scalars(second) == scalars(["깜짝이야", "역겨워"]))
        // The default 발화문 falls back to Sentence, as in the loader.
        #expect(try SentenceFile.sentences(xlsxFixture("aihub-single-turn.xlsx")).count == 8)
        #expect(throws: DatasetError.self) { try SentenceFile.sentences(xlsxFixture("corrupt.xlsx")) }
    }
}
