import Foundation
import Testing
@testable import EmotionClassifier

@Suite struct ColumnTests {
    @Test func exactTrimmedMatch() throws {
        let match = try ColumnLookup.find("발화문", in: ["id", " 발화문 ", "상황"])
        #expect(match == ColumnMatch(index: 1, header: " 발화문 "))
        #expect(try ColumnLookup.find("없음", in: ["id", "발화문"]) == nil)
    }

    @Test func nfdHeaderMatchesWithANote() throws {
        let nfd = "발화문".decomposedStringWithCanonicalMapping
        let match = try #require(try ColumnLookup.find("발화문", in: ["id", nfd]))
        #expect(match.index == 1)
        #expect(match.header.unicodeScalars.elementsEqual(nfd.unicodeScalars))
        #expect(match.note?.contains("normalization") == true)
        // A name typed in NFD finds the NFC header.
        #expect(try ColumnLookup.find(nfd, in: ["id", "발화문"])?.index == 1)
        #expect(try ColumnLookup.find("상황".decomposedStringWithCanonicalMapping, in: ["Emotion"])?.index == 0)
        // An exact spelling wins over a canonically equivalent one.
        let both = try #require(try ColumnLookup.find("발화문", in: [nfd, "발화문"]))
        #expect(both.index == 1 && both.note == nil)
    }

    @Test func sentenceEmotionFallbackOnlyForTheDefaults() throws {
        let header = ["sentence", "EMOTION", "other"]
        #expect(try ColumnLookup.find("발화문", in: header)?.index == 0)
        #expect(try ColumnLookup.find("상황", in: header)?.index == 1)
        #expect(try ColumnLookup.find("상황", in: header)?.note?.contains("EMOTION") == true)
        #expect(try ColumnLookup.find("text", in: header) == nil)
        // The default present: no fallback.
        #expect(try ColumnLookup.find("발화문", in: ["Sentence", "발화문"])?.index == 1)
    }

    @Test func duplicatesAreErrors() {
        #expect(throws: ColumnLookupError.duplicate("발화문")) { try ColumnLookup.find("발화문", in: ["발화문", " 발화문"]) }
        #expect(throws: ColumnLookupError.duplicate("Sentence")) { try ColumnLookup.find("발화문", in: ["Sentence", "sentence"]) }
    }

    /// The CSV loader and `SentenceFile` find the same columns.
    @Test func csvLoaderAndSentenceFileShareTheRules() throws {
        let nfdText = "발화문".decomposedStringWithCanonicalMapping
        let url = try temporaryFile("\(nfdText),상황\n안녕,중립\n")
        let dataset = try EmotionDataset.load(contentsOf: url)
        #expect(dataset.examples.map(\.label) == [4])
        #expect(dataset.textColumn.unicodeScalars.elementsEqual(nfdText.unicodeScalars))
        #expect(dataset.columnNotes.count == 1)
        #expect(scalars(try SentenceFile.column(url, column: "발화문")) == scalars(["안녕"]))

        let english = try temporaryFile("Sentence,Emotion\n무서워,공포\n")
        #expect(try EmotionDataset.load(contentsOf: english).examples.map(\.label) == [0])
        #expect(scalars(try SentenceFile.csvColumn(english, column: "발화문")) == scalars(["무서워"]))
        #expect(scalars(try SentenceFile.sentences(english)) == scalars(["무서워"]))
    }
}
