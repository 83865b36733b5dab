import BERT
import Foundation
import FuzzSupport
import SafeTensors
import SentencePiece
import Testing
@testable import EmotionClassifier

/// Brief F (issue #12, "What must be shown"): seeded mutation fuzzing of every reader of untrusted
/// bytes. Each case must give a clean thrown error or a valid load, never a crash (a crash fails the
/// whole run). Replay a case with `Mutator.mutate(seedBytes, seed:, index:)`; the expectations name it.
@Suite struct FuzzTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func bytes(_ relativePath: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root.appendingPathComponent(relativePath)))
    }

    /// model.safetensors: the header parser, the offsets and the element decoding. A valid load reads
    /// every tensor, so a range that passed validation but points outside the data would crash here.
    @Test func safetensors() throws {
        let seed = try Self.bytes("Tests/BERTTests/Fixtures/tiny/model.safetensors")
        var loaded = 0
        for (index, bytes) in Mutator.cases(of: seed, count: 2500, seed: 1) {
            guard let file = try? SafeTensorsFile(data: Data(bytes), name: "case \(index)") else { continue }
            loaded += 1
            for name in file.names {
                _ = try? file.floats(name)
            }
        }
        #expect(loaded > 0 && loaded < 2500, "\(loaded) of 2500 mutated files loaded")
    }

    /// spiece.model: the protobuf reader, the charsmap (whose recursion overflowed the stack on a zeroed
    /// range, item 2) and the normalizer built from it. A valid load encodes a few sentences.
    @Test(arguments: ["bpe.model", "digit-comma.model"])
    func sentencePieceFixture(_ name: String) throws {
        let seed = try Self.bytes("Tests/SentencePieceTests/Fixtures/" + name)
        try Self.fuzzSentencePiece(seed, count: 300, seed: 2)
    }

    /// The built-in KoBERT-layout model (its charsmap is the large nmt_nfkc table). Loading it takes a
    /// while in a debug build, hence fewer cases, aimed at the charsmap.
    @Test func sentencePieceBuiltIn() throws {
        let seed = [UInt8](try Data(contentsOf: SentencePieceModel.builtInEmotionDialogue))
        try Self.fuzzSentencePiece(seed, count: 40, seed: 3)
    }

    static func fuzzSentencePiece(_ seed: [UInt8], count: Int, seed fuzzSeed: UInt64) throws {
        for (_, bytes) in Mutator.cases(of: seed, count: count, seed: fuzzSeed) {
            guard let model = try? SentencePieceModel(data: Data(bytes)) else { continue }
            for text in ["오늘 너무 즐거웠어", "ㅋㅋ ＡＢＣ 123,456", "", "\u{1100}\u{1161}\u{11A8} a\u{301}"] {
                _ = model.encode(text)
                _ = model.encodeAsPieces(text)
            }
        }
    }

    /// config.json through `BertConfig` decoding and validation only (the loader that allocates from it
    /// is checked by its own tests).
    @Test func bertConfig() throws {
        let seed = try Self.bytes("Tests/BERTTests/Fixtures/tiny/config.json")
        var decoded = 0
        for (_, bytes) in Mutator.cases(of: seed, count: 1500, seed: 4) {
            guard let config = try? JSONDecoder().decode(BertConfig.self, from: Data(bytes)) else { continue }
            decoded += 1
            _ = try? config.validate()
        }
        #expect(decoded > 0)
    }

    /// CSV datasets: decoding (UTF-8 / cp949 detection), the CSV parser and the dataset loader.
    @Test func csv() throws {
        let sample = [UInt8](try Data(contentsOf: EmotionDataset.builtInSample)).prefix(6000)
        let seed = Array(sample[...(sample.lastIndex(of: 0x0A) ?? sample.endIndex - 1)])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("FuzzTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("data.csv")
        for (index, bytes) in Mutator.cases(of: seed, count: 1500, seed: 5) {
            if let text = try? TextDecoder.decode(bytes).text { _ = try? CSVParser.parse(text) }
            if index % 5 == 0 {   // the whole loader, through a file, for a fifth of the cases
                try Data(bytes).write(to: url)
                if let data = try? EmotionDataset.load(contentsOf: url, skipInvalid: true) {
                    #expect(!data.examples.isEmpty, "case \(index)")
                }
            }
        }
    }

    /// The engine is deterministic: the same seed and index give the same bytes.
    @Test func mutatorIsDeterministic() {
        let seed = Array(0..<200).map { UInt8($0) }
        #expect(Mutator.mutate(seed, seed: 9, index: 17) == Mutator.mutate(seed, seed: 9, index: 17))
        #expect(Set((0..<50).map { Mutator.mutate(seed, seed: 9, index: $0) }).count > 40)
    }
}
