import Foundation
import Testing
@testable import SentencePiece

/// `tokenize(_:maxLength:)` shows exactly what `encode` gives the model: the same ids before padding.
struct TruncationTests {
    @Test func tokenizeTruncatesAsTheEncoderDoes() throws {
        let model = try Fixtures.builtInModel.get()
        let texts = ["", "안녕", "오늘 정말 행복한 하루였어",
                     String(repeating: "길에서 큰 개가 짖어서 너무 무서웠어 ", count: 8),
                     "[CLS] 특수 [SEP] 토큰 [MASK]!!"]
        for pipeline in TokenPipeline.allCases {
            let tokenizer = try KoBERTTokenizer(model: model, pipeline: pipeline)
            for text in texts {
                let full = tokenizer.tokenize(text)
                for maxLength in [2, 3, 8, 64, 512] {
                    let shown = tokenizer.tokenize(text, maxLength: maxLength)
                    let encoded = tokenizer.encode(text, maxLength: maxLength)
                    #expect(shown.tokens.map { Int32($0.id) } == Array(encoded.tokenIds.prefix(encoded.validLength)),
                            "\(pipeline) max \(maxLength): \(text)")
                    #expect(shown.truncated == (full.count > maxLength), "\(pipeline) max \(maxLength): \(text)")
                    #expect(shown.pieceCount == full.count - 2)
                    #expect(shown.tokens.first?.piece == "[CLS]" && shown.tokens.last?.piece == "[SEP]")
                }
            }
            // The long sentence really is cut at 64, so the check above covers truncation.
            #expect(tokenizer.tokenize(texts[3], maxLength: 64).truncated)
        }
    }
}
