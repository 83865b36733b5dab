// The benchmark's workload, built from the seed dataset with the library's own reader, split and
// tokenizer, and the tokenizer-throughput case.
import BERT
import EmotionClassifier
import Foundation
import SentencePiece

/// One batch: token ids padded (or cut) to `length`, real lengths in `valid`.
struct WorkBatch: Codable {
    let batch: Int
    let length: Int
    let valid: [Int32]
    let labels: [Int32]
    let tokens: [Int32]

    var tokenBatch: TokenBatch {
        TokenBatch(batchSize: batch, length: length, tokenIds: tokens, validLength: valid)
    }
    /// Real (unpadded) tokens in the batch: the work of an engine that packs tokens.
    var realTokens: Int { valid.reduce(0) { $0 + Int($1) } }
}

/// What `--case workload` writes and every other case reads (Benchmarks/baseline.py too).
struct Workload: Codable {
    var note: String
    var csv: String
    var rows: Int
    var train_rows: Int
    var max_len: Int
    var batch_size: Int
    var epochs: Int
    var steps_per_epoch: Int
    var sentence_tokens_median: Double
    var sentence_tokens_mean: Double
    /// Per training batch of an epoch, in order: its longest sentence and its real tokens.
    var epoch_batch_longest: [Int]
    var epoch_batch_tokens: [Int]
    /// The first training batch padded to max_len (the seed's shape).
    var padded: WorkBatch
    /// Training batches cut to their longest sentence: the epoch's first (warm-up), then the
    /// batches at the 10th, 50th and 90th percentile of real tokens, so a line fit spans the epoch.
    var cut: [WorkBatch]
    /// A typical sentence (median token count) alone.
    var single: WorkBatch
    var single_text: String
}

enum WorkloadBuilder {
    static let batchSize = 64, maxLength = 64, epochs = 5

    static func tokenizer() throws -> KoBERTTokenizer {
        try KoBERTTokenizer(model: SentencePieceModel(contentsOf: SentencePieceModel.builtInEmotionDialogue), pipeline: .gluonnlp)
    }

    /// The seed's data path: every row of `csv`, split 80/20 with `random_state = 32`, the
    /// training rows in order (the seed's DataLoader does not shuffle), tokenized to at most 64 ids.
    static func build(csv: URL) throws -> Workload {
        let dataset = try EmotionDataset.load(contentsOf: csv)
        let split = try DatasetSplit(examples: dataset.examples, mode: .random, testFraction: 0.2, seed: 32)
        let tokenizer = try tokenizer()
        let all = tokenizer.encode(dataset.examples.map(\.text), maxLength: maxLength)
        let encoded = split.trainIndices.map { all[$0] }
        let allLengths = all.map { Double($0.validLength) }

        func batch(_ range: Range<Int>, length: Int? = nil) -> WorkBatch {
            let rows = range.map { encoded[$0] }
            let longest = length ?? rows.map(\.validLength).max()!
            return WorkBatch(batch: rows.count, length: longest,
                             valid: rows.map { Int32($0.validLength) },
                             labels: range.map { Int32(split.train[$0].label) },
                             tokens: rows.flatMap { $0.tokenIds.prefix(longest) })
        }
        let ranges = stride(from: 0, to: encoded.count, by: batchSize).map { $0..<min($0 + batchSize, encoded.count) }
        let epoch = ranges.map { batch($0) }
        let byTokens = epoch.indices.sorted { epoch[$0].realTokens < epoch[$1].realTokens }
        let percentiles = [0.1, 0.5, 0.9].map { byTokens[Int(Double(byTokens.count - 1) * $0)] }

        let sortedLengths = allLengths.sorted()
        let medianLength = sortedLengths[sortedLengths.count / 2]
        let typical = encoded.firstIndex { Double($0.validLength) == medianLength } ?? 0
        return Workload(
            note: "token ids from the built-in SentencePiece model (emotion-dialogue.model, 5,800 pieces, trained on this dataset) "
                + "through the gluonnlp pipeline; KoBERT's own 8,002-piece vocabulary is not available offline",
            csv: csv.lastPathComponent, rows: dataset.examples.count, train_rows: split.train.count, max_len: maxLength, batch_size: batchSize,
            epochs: epochs, steps_per_epoch: epoch.count,
            sentence_tokens_median: medianLength,
            sentence_tokens_mean: allLengths.reduce(0, +) / Double(allLengths.count),
            epoch_batch_longest: epoch.map(\.length), epoch_batch_tokens: epoch.map(\.realTokens),
            padded: batch(ranges[0], length: maxLength),
            cut: [epoch[0]] + percentiles.map { epoch[$0] },
            single: batch(typical..<(typical + 1)),
            single_text: split.train[typical].text)
    }

    /// FNV-1a over every id (32-bit little-endian), 0xFFFFFFFF after each sentence: equal ids give
    /// an equal checksum on both sides (baseline.py computes the same).
    static func checksum(_ sentences: [[Int]]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ v: UInt32) {
            for shift in stride(from: 0, to: 32, by: 8) {
                h ^= UInt64((v >> UInt32(shift)) & 0xff)
                h = h &* 0x100_0000_01b3
            }
        }
        for ids in sentences {
            for id in ids { mix(UInt32(truncatingIfNeeded: id)) }
            mix(0xffff_ffff)
        }
        return String(h, radix: 16)
    }
}
