import Foundation
import Testing
import EmotionClassifier
@testable import SentencePiece

/// The batch calls against the one-text calls, as ids (never as Swift strings).
@Suite struct BatchEncodingTests {
    /// Every sentence of the seed dataset through `SentencePieceModel.encode(_:threads:)`.
    @Test(.enabled(if: SeedData.url != nil, SeedData.skipReason))
    func modelBatchMatchesOneAtATimeOnTheDataset() throws {
        let model = try Fixtures.builtInModel.get()
        let sentences = try SeedDatasetReader.sentences()
        let oneAtATime = sentences.map { model.encode($0) }
        for threads in [1, 2] {
            let batch = model.encode(sentences, threads: threads)
            #expect(batch.count == sentences.count)
            #expect(firstDifference(batch, oneAtATime) == nil, "threads \(threads)")
        }
    }

    /// Every sentence of the seed dataset through `KoBERTTokenizer.encode(_:maxLength:threads:)`.
    @Test(.enabled(if: SeedData.url != nil, SeedData.skipReason), arguments: TokenPipeline.allCases)
    func tokenizerBatchMatchesOneAtATimeOnTheDataset(_ pipeline: TokenPipeline) throws {
        let tokenizer = try KoBERTTokenizer(model: Fixtures.builtInModel.get(), pipeline: pipeline)
        let sentences = try SeedDatasetReader.sentences()
        let oneAtATime = sentences.map { tokenizer.encode($0, maxLength: 64) }
        for threads in [1, 2] {
            let batch = tokenizer.encode(sentences, maxLength: 64, threads: threads)
            #expect(batch.count == sentences.count)
            #expect(firstDifference(batch.map(Self.fields), oneAtATime.map(Self.fields)) == nil, "threads \(threads)")
        }
    }

    /// The one-text calls made from several threads at once (each thread keeps its own buffers),
    /// including the nested call that Hugging Face's digit+comma re-split makes. Uses the seed dataset's
    /// first 2,000 sentences when KOBERT_SEED_CSV is set, otherwise the built-in sample's.
    @Test func oneTextCallsFromSeveralThreadsAgree() throws {
        let model = try Fixtures.digitCommaModel.get()
        let tokenizer = try KoBERTTokenizer(model: model, pipeline: .kobertHF)
        let source = SeedData.url != nil ? try SeedDatasetReader.sentences()
            : try EmotionDataset.loadBuiltInSample().examples.map(\.text)
        let sentences = Array(source.prefix(2_000)) + ["1,234, 5,6,", "[CLS] 12,3, [SEP]"]
        let expectedIds = sentences.map { model.encode($0) }
        let expectedTokens = sentences.map { Self.fields(tokenizer.encode($0, maxLength: 32)) }
        let ids = Results<[Int]>(count: sentences.count), tokens = Results<Fields>(count: sentences.count)
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for index in stride(from: worker, to: sentences.count, by: 4) {
                ids.set(index, model.encode(sentences[index]))
                tokens.set(index, Self.fields(tokenizer.encode(sentences[index], maxLength: 32)))
            }
        }
        #expect(firstDifference(ids.values, expectedIds) == nil)
        #expect(firstDifference(tokens.values, expectedTokens) == nil)
    }

    /// Results filled in from several threads, each index by one of them.
    private final class Results<Value>: @unchecked Sendable {
        private let lock = NSLock()
        private var storage: [Value?]
        init(count: Int) { storage = Array(repeating: nil, count: count) }
        func set(_ index: Int, _ value: Value) {
            lock.lock()
            storage[index] = value
            lock.unlock()
        }
        var values: [Value] { storage.map { $0! } }
    }

    /// Empty lists, empty and blank texts, odd thread counts, lists around the block size, and
    /// the test models (BPE; user-defined pieces ending in digit+comma).
    @Test func edgeCases() throws {
        let texts = ["", " ", "\t\n", "ㅋㅋ", "오늘 날씨가 좋네요!", "[CLS] 1,234, 그래요 [MASK]", "가ㄳ", "a\u{301}", "😀 ﾊﾟ ①"]
        let models = try [Fixtures.builtInModel.get(), Fixtures.digitCommaModel.get(), Fixtures.bpeModel.get()]
        for model in models {
            #expect(model.encode([String](), threads: 2).isEmpty)
            #expect(model.encode([""], threads: 4) == [[]])
            let lists = [texts, Array(repeating: "", count: 40)] + [1, 15, 16, 17, 33, 50].map { count in
                (0..<count).map { texts[$0 % texts.count] + String($0) }
            }
            for list in lists {
                let oneAtATime = list.map { model.encode($0) }
                for threads in [-1, 0, 1, 2, 3, 64] {
                    #expect(model.encode(list, threads: threads) == oneAtATime, "\(list.count) texts, threads \(threads)")
                }
                for pipeline in TokenPipeline.allCases {
                    let tokenizer = try KoBERTTokenizer(model: model, pipeline: pipeline)
                    #expect(tokenizer.encode([String](), threads: 3).isEmpty)
                    for maxLength in [2, 8, 64] {
                        let expected = list.map { Self.fields(tokenizer.encode($0, maxLength: maxLength)) }
                        for threads in [0, 1, 2, 64] {
                            let batch = tokenizer.encode(list, maxLength: maxLength, threads: threads)
                            #expect(batch.map(Self.fields) == expected, "\(pipeline) \(list.count) texts, threads \(threads)")
                        }
                    }
                }
            }
        }
    }

    private struct Fields: Equatable, Sendable {
        let tokenIds: [Int32], validLength: Int, segmentIds: [Int32]
    }

    private static func fields(_ sentence: EncodedSentence) -> Fields {
        Fields(tokenIds: sentence.tokenIds, validLength: sentence.validLength, segmentIds: sentence.segmentIds)
    }

    /// The first index where the lists differ (or where one ends), or nil.
    private func firstDifference<T: Equatable>(_ a: [T], _ b: [T]) -> Int? {
        for index in 0..<min(a.count, b.count) where a[index] != b[index] { return index }
        return a.count == b.count ? nil : min(a.count, b.count)
    }
}
