/// A batch of token sequences padded to one length: B sequences of T positions.
///
/// Sequence b has `validLength[b]` real tokens followed by padding; the attention mask is that
/// prefix, as in the seed's `gen_attention_mask`.
public struct TokenBatch: Sendable {
    public let batchSize: Int        // B
    public let length: Int           // T
    public var tokenIds: [Int32]     // [B, T]
    public var segmentIds: [Int32]   // [B, T]
    public var validLength: [Int32]  // [B]

    public init(batchSize: Int, length: Int, tokenIds: [Int32], segmentIds: [Int32]? = nil, validLength: [Int32]) {
        self.batchSize = batchSize
        self.length = length
        self.tokenIds = tokenIds
        self.segmentIds = segmentIds ?? [Int32](repeating: 0, count: tokenIds.count)
        self.validLength = validLength
    }
}

/// A batch as the runner computes it: only the real tokens, sequence after sequence. Sequence b
/// occupies rows `rowStart[b] ..< rowStart[b + 1]` of every [N, ·] activation, so padding costs
/// nothing (it is masked, so the results are those of the padded batch).
struct PackedBatch {
    // Sized once for the runner's largest batch (maxBatch × maxLength tokens).
    let tokenIds, segmentIds, positionIds: UnsafeMutablePointer<Int32>   // [N]
    let rowStart: UnsafeMutablePointer<Int32>                              // [B + 1]
    let labels: UnsafeMutablePointer<Int32>                                // [B]
    /// 0, 1, ..., maxBatch: the row layout of a [B, C] buffer holding each sequence's first token.
    let firstRows: UnsafeMutablePointer<Int32>                             // [maxBatch + 1]
    private let storage: UnsafeMutablePointer<Int32>
    let maxBatch: Int, maxLength: Int

    /// The current batch: B sequences, T its padded length, S its longest sequence (S ≤ T, S ≤
    /// maxLength: the row stride of attention probabilities), N real tokens.
    private(set) var B = 0, T = 0, S = 0, N = 0

    init(maxBatch: Int, maxLength: Int) {
        self.maxBatch = maxBatch
        self.maxLength = maxLength
        let N = maxBatch * maxLength
        let total = 3 * N + 3 * maxBatch + 2
        storage = .allocate(capacity: total)
        storage.initialize(repeating: 0, count: total)
        tokenIds = storage; segmentIds = storage + N; positionIds = storage + 2 * N
        rowStart = storage + 3 * N
        labels = rowStart + maxBatch + 1
        firstRows = labels + maxBatch
        for b in 0...maxBatch { firstRows[b] = Int32(b) }
    }

    func deallocate() { storage.deallocate() }

    /// Checks `batch` against the model's vocabulary and this buffer's size, then packs its real tokens.
    mutating func pack(_ batch: TokenBatch, vocabSize: Int, typeVocabSize: Int) throws {
        let b = batch.batchSize, t = batch.length
        // Padding is not stored, so a batch fits when its sequences' real tokens do.
        guard b > 0, t > 0, b <= maxBatch, batch.validLength.count != b || batch.validLength.allSatisfy({ $0 <= maxLength }) else {
            throw BertError.invalidBatch("batch of \(b) x \(t) (longest sequence \(batch.validLength.max() ?? 0)) does not fit this runner (at most \(maxBatch) sequences of \(maxLength) tokens)")
        }
        let bt = b.multipliedReportingOverflow(by: t)
        guard !bt.overflow, batch.tokenIds.count == bt.partialValue, batch.segmentIds.count == bt.partialValue,
              batch.validLength.count == b else {
            throw BertError.invalidBatch("expected \(b * t) token ids, \(b * t) segment ids and \(b) lengths; got \(batch.tokenIds.count), \(batch.segmentIds.count), \(batch.validLength.count)")
        }
        for i in 0..<b * t {
            guard (0..<Int32(vocabSize)).contains(batch.tokenIds[i]) else {
                throw BertError.invalidBatch("token id \(batch.tokenIds[i]) at sequence \(i / t), position \(i % t) is outside the vocabulary of \(vocabSize)")
            }
            guard (0..<Int32(typeVocabSize)).contains(batch.segmentIds[i]) else {
                throw BertError.invalidBatch("segment id \(batch.segmentIds[i]) at sequence \(i / t), position \(i % t) is outside 0..<\(typeVocabSize)")
            }
        }
        for (i, v) in batch.validLength.enumerated() where v < 1 || Int(v) > t {
            throw BertError.invalidBatch("valid length \(v) of sequence \(i) is outside 1...\(t)")
        }
        B = b; T = t
        S = Int(batch.validLength.max() ?? 0)
        var row = 0
        for s in 0..<b {
            rowStart[s] = Int32(row)
            for p in 0..<Int(batch.validLength[s]) {
                tokenIds[row] = batch.tokenIds[s * t + p]
                segmentIds[row] = batch.segmentIds[s * t + p]
                positionIds[row] = Int32(p)
                row += 1
            }
        }
        rowStart[b] = Int32(row)
        N = row
    }

    /// Sets the labels of the current batch, checked against `numLabels`.
    func setLabels(_ ys: [Int32], numLabels K: Int) throws {
        guard ys.count == B else { throw BertError.invalidBatch("\(ys.count) labels for a batch of \(B)") }
        for (b, y) in ys.enumerated() {
            guard (0..<Int32(K)).contains(y) else { throw BertError.invalidBatch("label \(y) of sequence \(b) is outside 0..<\(K)") }
            labels[b] = y
        }
    }
}
