import Foundation
import Testing
@testable import SentencePiece

/// Protobuf bytes for hand-built models.
private enum Proto {
    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes = [UInt8]()
        repeat {
            bytes.append(UInt8(value & 0x7F) | (value >= 0x80 ? 0x80 : 0))
            value >>= 7
        } while value > 0
        return bytes
    }
    static func message(_ field: UInt64, _ payload: [UInt8]) -> [UInt8] {
        varint(field << 3 | 2) + varint(UInt64(payload.count)) + payload
    }
    static func number(_ field: UInt64, _ value: UInt64) -> [UInt8] { varint(field << 3) + varint(value) }
    static func piece(_ text: String, _ score: Float, type: UInt64 = 1) -> [UInt8] {
        let bits = score.bitPattern
        let score: [UInt8] = varint(2 << 3 | 5) + (0..<4).map { UInt8((bits >> (8 * UInt32($0))) & 0xFF) }
        return message(1, message(1, Array(text.utf8)) + score + number(3, type))
    }
    /// [UNK] 0, ▁ 1, a 2, b 3, ab 4, <x> 5 (user-defined), ▁a 6; no normalization rules.
    static let smallModel: [UInt8] =
        piece("[UNK]", 0, type: 2) + piece("\u{2581}", -3) + piece("a", -2) + piece("b", -2) + piece("ab", -1.5)
        + piece("<x>", 0, type: 4) + piece("\u{2581}a", -1)
}

@Suite struct ModelReaderTests {
    @Test func builtInModelHasKoBERTLayout() throws {
        let model = try Fixtures.builtInModel.get()
        #expect(model.count == 5800)
        #expect(Array(model.pieces.prefix(5)) == ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"])
        #expect(model.unknownID == 0)
        #expect(model.normalizationRuleName == "nmt_nfkc")
        #expect(model.id(of: "[MASK]") == 4)
        #expect(model.id(of: "\u{2581}너무") == 11)
        #expect(model.id(of: "no such piece") == nil)
        #expect(model.piece(for: 4) == "[MASK]")
        #expect(model.piece(for: -1) == nil && model.piece(for: 5800) == nil)
    }

    /// nmt_nfkc turns compatibility jamo (ㅋ U+314B) into conjoining jamo (ᄏ U+110F), which the
    /// model does not know: the source of "ㅋㅋ becomes [UNK]".
    @Test func normalizationFollowsTheCharsmap() throws {
        let model = try Fixtures.builtInModel.get()
        #expect(model.normalize("ㅋㅋ").unicodeScalars.map(\.value) == [0x2581, 0x110F, 0x110F])
        #expect(model.normalize("  ＡＢＣ\u{3000}１２ ").unicodeScalars.map(\.value) == [0x2581, 0x41, 0x42, 0x43, 0x2581, 0x31, 0x32])
        #expect(model.normalize("").isEmpty && model.normalize(" \t ").isEmpty)
        #expect(model.encode("ㅋㅋ") == [7, 0])
    }

    @Test func handBuiltModelSegmentsWithUserDefinedAndUnknownPieces() throws {
        let model = try SentencePieceModel(data: Data(Proto.smallModel))
        // ▁a+b (-3) beats ▁+ab (-4.5); x z z are unknown and merge; <x> is user-defined.
        let pieces = model.encodeAsPieces("  ab xzz<x>  ")
        #expect(Fixtures.scalarArrays(pieces) == Fixtures.scalarArrays(["\u{2581}a", "b", "\u{2581}", "xzz", "<x>"]))
        #expect(model.encode("  ab xzz<x>  ") == [6, 3, 1, 0, 5])
        #expect(model.encode("") == [])
    }

    @Test func malformedFilesGiveClearErrors() throws {
        func error(_ bytes: [UInt8]) -> SentencePieceError? {
            do {
                _ = try SentencePieceModel(data: Data(bytes))
                return nil
            } catch let error as SentencePieceError {
                print("rejected as expected: \(error)")
                return error
            } catch {
                return nil
            }
        }
        let builtIn = try [UInt8](Data(contentsOf: SentencePieceModel.builtInEmotionDialogue))
        #expect(error([]) == .invalidModel("the model has no pieces"))
        guard case .malformed(let field, _, _)? = error(Array(builtIn.prefix(100))) else {
            Issue.record("a truncated file must be reported as malformed")
            return
        }
        #expect(field.hasPrefix("ModelProto"))
        #expect(error([0x0F]) == .malformed(field: "ModelProto", offset: 1, reason: "invalid wire type 7"))
        #expect(error([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
            == .malformed(field: "ModelProto", offset: 12, reason: "varint longer than 10 bytes"))
        #expect(error(Proto.piece("a", -1)) == .invalidModel("the model has no unknown piece"))
        #expect(error(Proto.smallModel + Proto.piece("a", -1)) == .invalidModel("piece 7 \"a\" is already defined"))
        #expect(error(Proto.smallModel + Proto.message(2, Proto.number(3, 3)))
            == .unsupported("model_type word; only Unigram and BPE models are implemented"))
        #expect(error(Proto.smallModel + Proto.message(3, Proto.message(2, [8, 0, 0, 0, 1, 2])))
            == .invalidModel("normalizer_spec.precompiled_charsmap: trie size 8 does not fit its 6-byte blob"))
        #expect(error(Proto.message(1, Proto.number(3, 9))) == .malformed(field: "ModelProto.pieces[0]", offset: 4, reason: "unknown piece type 9"))

        let missing = URL(fileURLWithPath: "/nonexistent/spiece.model")
        #expect {
            try SentencePieceModel(contentsOf: missing)
        } throws: { error in
            guard case .unreadable(let path, _)? = error as? SentencePieceError else { return false }
            return path == missing.path
        }
    }

    @Test func tokenizerAddsSpecialTokensTruncatesAndPads() throws {
        let tokenizer = try KoBERTTokenizer(model: Fixtures.builtInModel.get())
        #expect(tokenizer.pipeline == .gluonnlp)
        let tokens = tokenizer.tokenize("ㅋㅋ 너무")
        #expect(tokens.map(\.id) == [2, 7, 0, 11, 3])
        #expect(tokenizer.describe("ㅋㅋ 너무") == "[CLS]:2 \u{2581}:7 \u{110F}\u{110F}:0 \u{2581}너무:11 [SEP]:3")
        let short = tokenizer.encode("너무", maxLength: 1)
        #expect(short.tokenIds == [2, 3] && short.validLength == 2 && short.segmentIds == [0, 0])
        let padded = tokenizer.encode("너무", maxLength: 5)
        #expect(padded.tokenIds == [2, 11, 3, 1, 1] && padded.validLength == 3)
        let noPad = try SentencePieceModel(data: Data(Proto.smallModel))
        #expect(throws: KoBERTTokenizerError.missingSpecialPiece("[CLS]")) { try KoBERTTokenizer(model: noPad) }
    }
}
