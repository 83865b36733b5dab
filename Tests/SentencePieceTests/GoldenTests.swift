import Foundation
import Testing
@testable import SentencePiece

/// One adversarial sentence through one pipeline, as the Python original encoded it.
private struct PipelineCase: Decodable {
    let text: String
    let max_len: Int
    let pieces: [String]
    let token_ids: [Int32]
    let valid_length: Int
    let segment_ids: [Int32]
}

/// One adversarial sentence through sentencepiece alone.
private struct SentencePieceCase: Decodable {
    let text: String
    let normalized: String
    let pieces: [String]
    let ids: [Int]
}

/// A golden file for hand-written sentences: which model, which pipeline (nil: sentencepiece
/// alone), and how many cases it must hold.
struct GoldenFile: Sendable, CustomTestStringConvertible {
    enum Model: Sendable { case emotionDialogue, digitComma, bpe }
    let name: String
    let model: Model
    let pipeline: TokenPipeline?
    let count: Int

    var testDescription: String { name }

    func loadModel() throws -> SentencePieceModel {
        switch model {
        case .emotionDialogue: return try Fixtures.builtInModel.get()
        case .digitComma: return try Fixtures.digitCommaModel.get()
        case .bpe: return try Fixtures.bpeModel.get()
        }
    }

    static let sentencePiece = [
        GoldenFile(name: "golden-sentencepiece-adversarial.json", model: .emotionDialogue, pipeline: nil, count: 35),
        GoldenFile(name: "golden-sentencepiece-digit-comma.json", model: .digitComma, pipeline: nil, count: 38),
        GoldenFile(name: "golden-sentencepiece-bpe.json", model: .bpe, pipeline: nil, count: 38),
    ]
    static let pipelines = [
        GoldenFile(name: "golden-gluonnlp-adversarial.json", model: .emotionDialogue, pipeline: .gluonnlp, count: 37),
        GoldenFile(name: "golden-kobert-hf-adversarial.json", model: .emotionDialogue, pipeline: .kobertHF, count: 37),
        GoldenFile(name: "golden-kobert-hf-digit-comma.json", model: .digitComma, pipeline: .kobertHF, count: 40),
    ]
}

@Suite struct GoldenTests {
    @Test(arguments: GoldenFile.sentencePiece)
    func sentencePieceMatchesPythonOnHandWrittenText(_ file: GoldenFile) throws {
        let model = try file.loadModel()
        let cases = try Fixtures.json([SentencePieceCase].self, file.name)
        var mismatches = 0
        for (index, golden) in cases.enumerated() {
            let normalized = model.normalize(golden.text)
            let pieces = model.encodeAsPieces(golden.text)
            let ids = model.encode(golden.text)
            let ok = Array(normalized.unicodeScalars) == Array(golden.normalized.unicodeScalars)
                && Fixtures.scalarArrays(pieces) == Fixtures.scalarArrays(golden.pieces) && ids == golden.ids
            if !ok {
                mismatches += 1
                print("""
                    sentencepiece mismatch, case \(index): scalars [\(Fixtures.scalars(golden.text))]
                      normalized ours [\(Fixtures.scalars(normalized))] python [\(Fixtures.scalars(golden.normalized))]
                      pieces ours \(pieces) python \(golden.pieces)
                      ids ours \(ids) python \(golden.ids)
                    """)
            }
        }
        print("\(file.name): \(cases.count - mismatches)/\(cases.count) match")
        #expect(cases.count == file.count)
        #expect(mismatches == 0)
    }

    @Test(arguments: GoldenFile.pipelines)
    func pipelineMatchesPythonOnHandWrittenText(_ file: GoldenFile) throws {
        let pipeline = try #require(file.pipeline)
        let tokenizer = try KoBERTTokenizer(model: file.loadModel(), pipeline: pipeline)
        let cases = try Fixtures.json([PipelineCase].self, file.name)
        var mismatches = 0
        for (index, golden) in cases.enumerated() {
            let encoded = tokenizer.encode(golden.text, maxLength: golden.max_len)
            let pieces = tokenizer.tokenize(golden.text).dropFirst().dropLast().map(\.piece)
            let ok = encoded.tokenIds == golden.token_ids && encoded.validLength == golden.valid_length
                && encoded.segmentIds == golden.segment_ids
                && Fixtures.scalarArrays(pieces) == Fixtures.scalarArrays(golden.pieces)
            if !ok {
                mismatches += 1
                print("""
                    \(pipeline.rawValue) mismatch, case \(index) (max_len \(golden.max_len)): scalars [\(Fixtures.scalars(golden.text))]
                      pieces ours \(pieces) python \(golden.pieces)
                      ids ours \(encoded.tokenIds) python \(golden.token_ids)
                      valid length ours \(encoded.validLength) python \(golden.valid_length)
                    """)
            }
        }
        print("\(file.name): \(cases.count - mismatches)/\(cases.count) match")
        #expect(cases.count == file.count)
        #expect(mismatches == 0)
    }

    /// Every sentence of the seed dataset, compared with per-row digests of the Python ids.
    @Test(.enabled(if: SeedData.url != nil, SeedData.skipReason), arguments: TokenPipeline.allCases)
    func pipelineMatchesPythonOnDataset(_ pipeline: TokenPipeline) throws {
        let tokenizer = try KoBERTTokenizer(model: Fixtures.builtInModel.get(), pipeline: pipeline)
        let sentences = try SeedDatasetReader.sentences()
        let lines = try String(contentsOf: Fixtures.url("golden-\(pipeline.rawValue)-dataset.tsv"), encoding: .utf8)
            .split(separator: "\n").dropFirst()
        #expect(sentences.count == 19_374)
        try #require(lines.count == sentences.count)
        var mismatches = 0
        for line in lines {
            let fields = line.split(separator: "\t")
            let row = try #require(Int(fields[0]))
            let validLength = try #require(Int(fields[1]))
            let idsDigest = try #require(UInt64(fields[2], radix: 16))
            let segmentsDigest = try #require(UInt64(fields[3], radix: 16))
            let encoded = tokenizer.encode(sentences[row])
            if encoded.validLength != validLength || Fixtures.fnv1a64(encoded.tokenIds) != idsDigest
                || Fixtures.fnv1a64(encoded.segmentIds) != segmentsDigest {
                mismatches += 1
                if mismatches <= 10 {
                    print("""
                        \(pipeline.rawValue) mismatch, dataset row \(row): scalars [\(Fixtures.scalars(sentences[row]))]
                          ours \(encoded.tokenIds.prefix(encoded.validLength)) (valid \(encoded.validLength), python valid \(validLength))
                          pieces \(tokenizer.tokenize(sentences[row]).map(\.piece))
                        """)
                }
            }
        }
        print("\(pipeline.rawValue) dataset: \(lines.count - mismatches)/\(lines.count) rows match")
        #expect(mismatches == 0)
    }

    /// Every dataset sentence through the BPE test model, against digests of sentencepiece's ids.
    @Test(.enabled(if: SeedData.url != nil, SeedData.skipReason))
    func bpeMatchesPythonOnDataset() throws {
        let model = try Fixtures.bpeModel.get()
        let sentences = try SeedDatasetReader.sentences()
        let lines = try String(contentsOf: Fixtures.url("golden-sentencepiece-bpe-dataset.tsv"), encoding: .utf8)
            .split(separator: "\n").dropFirst()
        try #require(lines.count == sentences.count)
        var mismatches = 0
        for line in lines {
            let fields = line.split(separator: "\t")
            let row = try #require(Int(fields[0]))
            let count = try #require(Int(fields[1]))
            let digest = try #require(UInt64(fields[2], radix: 16))
            let ids = model.encode(sentences[row]).map { Int32($0) }
            if ids.count != count || Fixtures.fnv1a64(ids) != digest {
                mismatches += 1
                if mismatches <= 10 {
                    print("bpe mismatch, dataset row \(row): scalars [\(Fixtures.scalars(sentences[row]))] ours \(ids) \(model.encodeAsPieces(sentences[row]))")
                }
            }
        }
        print("bpe dataset: \(lines.count - mismatches)/\(lines.count) rows match")
        #expect(mismatches == 0)
    }
}
