import Testing
@testable import EmotionClassifier

@Suite struct CSVTests {
    @Test func quotedFieldsWithCommasQuotesAndNewlines() throws {
        let text = "발화문,상황\r\n"
            + "\"한 명 뽑는 거였는데, 그게 바로 나야.\",happiness\r\n"
            + "\"그가 \"\"안녕\"\"이라고 했어.\",neutral\n"
            + "\"첫 줄\r\n둘째 줄\",sadness\n"
            + "마지막 줄,fear"
        let records = try CSVParser.parse(text)
        #expect(records.count == 5)
        #expect(scalars(records.map { $0.fields[0] }) == scalars([
            "발화문", "한 명 뽑는 거였는데, 그게 바로 나야.", "그가 \"안녕\"이라고 했어.", "첫 줄\r\n둘째 줄", "마지막 줄",
        ]))
        #expect(scalars(records.map { $0.fields[1] }) == scalars(["상황", "happiness", "neutral", "sadness", "fear"]))
        #expect(records.map(\.line) == [1, 2, 3, 4, 6])
        #expect(records.allSatisfy { $0.problem == nil })
    }

    @Test func emptyFieldsAndTrailingComma() throws {
        let records = try CSVParser.parse("a,,b\n\"\",x,\n")
        #expect(scalars(records[0].fields) == scalars(["a", "", "b"]))
        #expect(scalars(records[1].fields) == scalars(["", "x", ""]))
    }

    @Test func blankLinesAreSkippedButCountedAsLines() throws {
        let records = try CSVParser.parse("h1,h2\n\r\n\na,b\n\n")
        #expect(records.count == 2)
        #expect(records[1].line == 4)
    }

    @Test func unterminatedQuoteNamesTheLineItOpened() {
        #expect(throws: CSVError.unterminatedQuote(line: 2)) {
            try CSVParser.parse("h1,h2\n\"never closed,x\ny,z\n")
        }
    }

    @Test func quoteInsideUnquotedFieldIsAProblem() throws {
        let records = try CSVParser.parse("h1,h2\nab,c\"d\n")
        #expect(records[1].problem == .quoteInUnquotedField(field: 2))
    }

    @Test func textAfterClosingQuoteIsAProblem() throws {
        let records = try CSVParser.parse("h1,h2\n\"ab\"c,d\n")
        #expect(records[1].problem == .textAfterClosingQuote(field: 1))
        #expect(records[1].fields.count == 2)
    }
}
