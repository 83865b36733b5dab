import Foundation
import Testing
@testable import SentencePiece

/// Runs only when KOBERT_SPIECE names SKT's real KoBERT `spiece.model` (8002 pieces).
@Test(.enabled(if: ProcessInfo.processInfo.environment["KOBERT_SPIECE"] != nil, "set KOBERT_SPIECE to KoBERT's spiece.model"))
func realKoBERTModelGivesPublishedIds() throws {
    let path = try #require(ProcessInfo.processInfo.environment["KOBERT_SPIECE"])
    let model = try SentencePieceModel(contentsOf: URL(fileURLWithPath: path))
    #expect(model.count == 8002)
    #expect(Array(model.pieces.prefix(5)) == ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"])
    let tokenizer = try KoBERTTokenizer(model: model, pipeline: .kobertHF)
    let encoded = tokenizer.encode("한국어 모델을 공유합니다.")
    print("real KoBERT: \(tokenizer.describe("한국어 모델을 공유합니다."))")
    #expect(Array(encoded.tokenIds.prefix(encoded.validLength)) == [2, 4958, 6855, 2046, 7088, 1050, 7843, 54, 3])
}
