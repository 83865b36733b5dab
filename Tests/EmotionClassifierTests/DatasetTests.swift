import Foundation
import Testing
@testable import EmotionClassifier

@Suite struct DatasetTests {
    @Test func loadsCP949Fixture() throws {
        let dataset = try EmotionDataset.load(contentsOf: fixtureURL("cp949-sample.csv"))
        #expect(dataset.encoding == .cp949)
        #expect(dataset.examples.map(\.label) == [4, 5, 0, 2])
        #expect(dataset.examples.map(\.row) == [1, 2, 3, 4])
        #expect(scalars(dataset.examples.map(\.text)) == scalars([
            "오늘 점심은 회사 앞 분식집에서 먹었어.",
            "동생이 취직했대, 너무 기뻐서 눈물이 났어.",
            "밤길에 누가 계속 따라오는 것 같아서 무서웠어.",
            "택배가 또 분실됐다고? 진짜, 화가 나서 못 참겠어.",
        ]))
        #expect(dataset.skipped.isEmpty)
        #expect(dataset.skippedSummary == nil)
    }

    @Test func customColumnsLabelsAndNumericIds() throws {
        let url = try temporaryFile("id,sentence,emotion\n1,좋아요,positive\n2,\"싫어요, 정말\",1\n3,그냥 그래요, NEG \n")
        let labels = try LabelSet(names: ["positive", "negative"], aliases: ["neg": "negative"])
        let dataset = try EmotionDataset.load(contentsOf: url, textColumn: "sentence", labelColumn: "emotion",
                                              labels: labels)
        #expect(dataset.examples.map(\.label) == [0, 1, 1])
        #expect(scalars(dataset.examples[1].text) == scalars("싫어요, 정말"))
        #expect(dataset.labelCounts == [1, 2])
    }

    @Test func forcedEncodingOverridesDetection() throws {
        let url = fixtureURL("cp949-sample.csv")
        #expect(throws: DatasetError.undecodable(file: url.path,
                                                 .invalidBytes(encoding: .utf8, offset: 0, line: 1))) {
            try EmotionDataset.load(contentsOf: url, encoding: .utf8)
        }
    }

    @Test func invalidCP949NamesFileAndLine() throws {
        let url = fixtureURL("cp949-invalid.csv")
        let error = #expect(throws: DatasetError.self) { try EmotionDataset.load(contentsOf: url) }
        #expect(error == .undecodable(file: url.path, .invalidBytes(encoding: .cp949, offset: 59, line: 3)))
        #expect(error?.description.contains("cp949-invalid.csv") == true)
        #expect(error?.description.contains("line 3") == true)
    }

    /// Each kind of bad row gives its own issue with its row and line number.
    @Test func everyBadRowKindIsReported() throws {
        let url = try temporaryFile("""
        발화문,상황
        좋은 아침이야.,neutral
        오늘은 기분이 최고야.,joy
           ,sadness
        쉼표가,너무,많아
        "따옴표 "다음" 글자",fear
        왜 "따옴표가" 여기에,fear
        혼자 있는 열
        "같은 말, 다른 표기",Happiness

        """)
        let error = #expect(throws: DatasetError.self) { try EmotionDataset.load(contentsOf: url) }
        let expected: [RowIssue] = [
            RowIssue(row: 2, line: 3, kind: .unknownLabel("joy")),
            RowIssue(row: 3, line: 4, kind: .emptyText),
            RowIssue(row: 4, line: 5, kind: .wrongFieldCount(expected: 2, found: 3)),
            RowIssue(row: 5, line: 6, kind: .badQuoting(.textAfterClosingQuote(field: 1))),
            RowIssue(row: 6, line: 7, kind: .badQuoting(.quoteInUnquotedField(field: 1))),
            RowIssue(row: 7, line: 8, kind: .wrongFieldCount(expected: 2, found: 1)),
        ]
        #expect(error == .invalidRows(file: url.path, issues: expected))
        let message = try #require(error?.description)
        #expect(message.contains(url.path))
        #expect(message.contains("row 2 (line 3): unknown label \"joy\""))
        #expect(message.contains("row 3 (line 4): empty text"))

        let skipping = try EmotionDataset.load(contentsOf: url, skipInvalid: true)
        #expect(skipping.examples.map(\.row) == [1, 8])
        #expect(skipping.examples.map(\.label) == [4, 5])
        #expect(skipping.skipped == expected)
        #expect(skipping.skippedSummary
            == "skipped 6 row(s): 1 unknown label, 1 empty text, 2 wrong field count, 2 bad quoting")
    }

    @Test func longIssueListsShowTheFirstTenAndACount() throws {
        let rows = (1...13).map { "문장 \($0),nope" }.joined(separator: "\n")
        let url = try temporaryFile("발화문,상황\n" + rows + "\n좋아,happiness\n")
        let error = #expect(throws: DatasetError.self) { try EmotionDataset.load(contentsOf: url) }
        let message = try #require(error?.description)
        #expect(message.contains("13 invalid row(s)"))
        #expect(message.contains("row 10 (line 11)"))
        #expect(!message.contains("row 11 (line 12)"))
        #expect(message.contains("... and 3 more"))
    }

    @Test func fileLevelErrorsNameTheFile() throws {
        let missing = try temporaryFile("text,label\n안녕,neutral\n")
        #expect(throws: DatasetError.missingColumns(file: missing.path, missing: ["발화문", "상황"],
                                                    header: ["text", "label"])) {
            try EmotionDataset.load(contentsOf: missing)
        }
        let oneMissing = try temporaryFile("발화문,label\n안녕,neutral\n")
        #expect(throws: DatasetError.missingColumns(file: oneMissing.path, missing: ["상황"], header: ["발화문", "label"])) {
            try EmotionDataset.load(contentsOf: oneMissing)
        }
        let duplicate = try temporaryFile("발화문,상황,발화문\n안녕,neutral,또\n")
        #expect(throws: DatasetError.duplicateColumn(file: duplicate.path, column: "발화문")) {
            try EmotionDataset.load(contentsOf: duplicate)
        }
        let empty = try temporaryFile("")
        #expect(throws: DatasetError.emptyFile(file: empty.path)) { try EmotionDataset.load(contentsOf: empty) }
        let headerOnly = try temporaryFile("발화문,상황\r\n")
        #expect(throws: DatasetError.noExamples(file: headerOnly.path, skipped: 0)) {
            try EmotionDataset.load(contentsOf: headerOnly)
        }
        let allBad = try temporaryFile("발화문,상황\n안녕,joy\n")
        #expect(throws: DatasetError.noExamples(file: allBad.path, skipped: 1)) {
            try EmotionDataset.load(contentsOf: allBad, skipInvalid: true)
        }
        let unterminated = try temporaryFile("발화문,상황\n\"안녕,neutral\n")
        #expect(throws: DatasetError.unparsable(file: unterminated.path, .unterminatedQuote(line: 2))) {
            try EmotionDataset.load(contentsOf: unterminated)
        }
        let nowhere = try temporaryDirectory().appendingPathComponent("absent.csv")
        let error = #expect(throws: DatasetError.self) { try EmotionDataset.load(contentsOf: nowhere) }
        guard case .unreadable(let file, _) = error else {
            Issue.record("expected .unreadable, got \(String(describing: error))")
            return
        }
        #expect(file == nowhere.path)
    }

    @Test func repeatedRowsExactAndTrimmed() {
        let texts = ["안녕.", "안녕. ", "잘 가.", "안녕.", " 잘 가."]
        let dataset = EmotionDataset(examples: texts.enumerated().map { Example(text: $1, label: 4, row: $0 + 1) })
        #expect(dataset.repeatedRowCount() == 1)
        #expect(dataset.repeatedRowCount(trimmingWhitespace: true) == 3)
    }

    /// Canonically equivalent but differently encoded sentences are different sentences.
    @Test func repeatsCompareUnicodeScalars() {
        let composed = "한", decomposed = "\u{1112}\u{1161}\u{11AB}"
        let dataset = EmotionDataset(examples: [Example(text: composed, label: 0, row: 1),
                                                Example(text: decomposed, label: 0, row: 2)])
        #expect(dataset.repeatedRowCount() == 0)
    }

    @Test func builtInSampleHasEnoughVariedSentences() throws {
        let dataset = try EmotionDataset.loadBuiltInSample()
        #expect(dataset.encoding == .utf8)
        #expect(dataset.skipped.isEmpty)
        print("built-in sample label counts:", dataset.labelCounts)
        #expect(dataset.labelCounts.allSatisfy { $0 >= 60 })
        #expect(dataset.repeatedRowCount(trimmingWhitespace: true) == 0)
        #expect(dataset.examples.contains { $0.text.contains(",") })
        let raw = try String(contentsOf: EmotionDataset.builtInSample, encoding: .utf8)
        #expect(raw.hasPrefix("발화문,상황\n"))
    }
}
