import Foundation
import Testing
@testable import EmotionClassifier

@Suite struct LabelSetTests {
    @Test func seedNamesAliasesAndIds() {
        let labels = LabelSet.seed
        let expected = ["fear": 0, "surprise": 1, "angry": 2, "sadness": 3, "neutral": 4, "happiness": 5, "disgust": 6,
                        "anger": 2, "sad": 3, " Happiness ": 5, "ANGER": 2, "Sad\t": 3,
                        "0": 0, "6": 6, " 3 ": 3, "05": 5]
        for (text, id) in expected {
            #expect(labels.id(for: text) == id, "label \(text)")
        }
        for text in ["7", "-1", "1.0", "", "  ", "joy", "행복이", "기쁨"] {
            #expect(labels.id(for: text) == nil, "label \(text)")
        }
    }

    /// AI Hub's single-turn set labels in Korean; typed in decomposed jamo (NFD) they match too.
    @Test func seedAcceptsKoreanNamesAfterNFC() {
        let korean = ["공포": 0, "놀람": 1, "분노": 2, "슬픔": 3, "중립": 4, "행복": 5, "혐오": 6]
        for (text, id) in korean {
            #expect(LabelSet.seed.id(for: text) == id, "label \(text)")
            #expect(LabelSet.seed.id(for: " \(text)\t") == id, "label \(text) with spaces")
            let decomposed = text.decomposedStringWithCanonicalMapping
            #expect(!decomposed.unicodeScalars.elementsEqual(text.unicodeScalars))
            #expect(LabelSet.seed.id(for: decomposed) == id, "label \(text) in NFD")
        }
    }

    @Test func seedMessageUsesKoreanDisplayName() {
        #expect(scalars(LabelSet.seed.message(for: 5)) == scalars(">> 입력하신 내용에서 행복이 느껴집니다."))
        #expect(scalars(LabelSet.seed.message(for: 0)) == scalars(">> 입력하신 내용에서 공포가 느껴집니다."))
    }

    @Test func customSetFallsBackToNames() throws {
        let labels = try LabelSet(names: ["positive", "negative"], aliases: ["pos": "positive"])
        #expect(labels.id(for: "POS") == 0)
        #expect(labels.id(for: "1") == 1)
        #expect(labels.id(for: "2") == nil)
        #expect(scalars(labels.message(for: 1)) == scalars(">> 입력하신 내용에서 negative 느껴집니다."))
    }

    @Test func invalidSetsAreRejected() {
        #expect(throws: LabelSetError.tooFewLabels(count: 1)) { try LabelSet(names: ["only"]) }
        #expect(throws: LabelSetError.duplicateName("A")) { try LabelSet(names: ["a", "A"]) }
        #expect(throws: LabelSetError.emptyName) { try LabelSet(names: ["a", " "]) }
        #expect(throws: LabelSetError.aliasTargetMissing(alias: "x", target: "c")) {
            try LabelSet(names: ["a", "b"], aliases: ["x": "c"])
        }
        #expect(throws: LabelSetError.duplicateName("b")) { try LabelSet(names: ["a", "b"], aliases: ["b": "a"]) }
        #expect(throws: LabelSetError.displayNameCount(expected: 2, found: 1)) {
            try LabelSet(names: ["a", "b"], displayNames: ["ㄱ"])
        }
    }

    @Test func codableRoundTrip() throws {
        let decoded = try JSONDecoder().decode(LabelSet.self, from: JSONEncoder().encode(LabelSet.seed))
        #expect(decoded == LabelSet.seed)
        #expect(decoded.id(for: "sad") == 3)
        let bad = Data(#"{"names": ["a", "a"]}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(LabelSet.self, from: bad) }
    }
}
