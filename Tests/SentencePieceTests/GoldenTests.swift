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

@Suite struct GoldenTests {
    @Test func sentencePieceMatchesPythonOnAdversarialText() throws {
        let model = try Fixtures.builtInModel.get()
        let cases = try Fixtures.json([SentencePieceCase].self, "golden-sentencepiece-adversarial.json")
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
        print("sentencepiece adversarial: \(cases.count - mismatches)/\(cases.count) match")
        #expect(cases.count == 32)
        #expect(mismatches == 0)
    }

    @Test(arguments: TokenPipeline.allCases)
    func pipelineMatchesPythonOnAdversarialText(_ pipeline: TokenPipeline) throws {
        let tokenizer = try KoBERTTokenizer(model: Fixtures.builtInModel.get(), pipeline: pipeline)
        let cases = try Fixtures.json([PipelineCase].self, "golden-\(pipeline.rawValue)-adversarial.json")
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
        print("\(pipeline.rawValue) adversarial: \(cases.count - mismatches)/\(cases.count) match")
        #expect(cases.count == 34)
        #expect(mismatches == 0)
    }

    /// Every sentence of the seed dataset, compared with per-row digests of the Python ids.
    @Test(arguments: TokenPipeline.allCases)
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
}
