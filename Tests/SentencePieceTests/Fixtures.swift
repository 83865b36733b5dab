import Foundation
import Testing
@testable import SentencePiece

/// Shared helpers: fixture loading, the built-in model, and mismatch reports.
enum Fixtures {
    static func url(_ name: String) throws -> URL {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return folder.appendingPathComponent(name)
    }

    static func json<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: url(name)))
    }

    static let builtInModel: Result<SentencePieceModel, Error> = Result {
        try SentencePieceModel(contentsOf: SentencePieceModel.builtInEmotionDialogue)
    }

    /// The test-only model whose user-defined pieces end in digit+comma (Scripts/tokenizer/train_model.py).
    static let digitCommaModel: Result<SentencePieceModel, Error> = Result {
        try SentencePieceModel(contentsOf: url("digit-comma.model"))
    }

    /// The small BPE test model (Scripts/tokenizer/train_model.py).
    static let bpeModel: Result<SentencePieceModel, Error> = Result {
        try SentencePieceModel(contentsOf: url("bpe.model"))
    }

    /// `text` as code points, for mismatch messages (Korean is compared as scalars, never String ==).
    static func scalars(_ text: String) -> String {
        text.unicodeScalars.map { String($0.value, radix: 16, uppercase: true) }.joined(separator: " ")
    }

    /// Piece texts as arrays of scalars, for comparison.
    static func scalarArrays(_ pieces: [String]) -> [[UInt32]] {
        pieces.map { $0.unicodeScalars.map(\.value) }
    }

    /// 64-bit FNV-1a over the int32 little-endian bytes of `values` (as the golden scripts).
    static func fnv1a64(_ values: [Int32]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for value in values {
            let bits = UInt32(bitPattern: value)
            for shift in stride(from: 0, to: 32, by: 8) {
                hash = (hash ^ UInt64((bits >> UInt32(shift)) & 0xFF)) &* 0x0000_0100_0000_01B3
            }
        }
        return hash
    }
}
