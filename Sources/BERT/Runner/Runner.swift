import Kernels

/// How a forward pass runs: inference (no dropout) or training, where dropout masks are a pure
/// function of (seed, step), so a run is reproducible and a resumed run continues exactly.
public enum RunMode: Sendable {
    case inference
    case training(seed: UInt64, step: Int)
}

/// The dropout probabilities of a training run. They are run-time choices, not architecture: the
/// default is what the model's config.json says (transformers' defaults), and a training run may
/// choose others (the seed uses 0.5 before the classifier).
public struct DropoutRates: Sendable, Equatable {
    /// After the embeddings and each sub-layer's projection.
    public var hidden: Double
    /// On the attention probabilities.
    public var attention: Double
    /// On the pooled [CLS] vector before the classifier.
    public var classifier: Double

    public init(hidden: Double, attention: Double, classifier: Double) {
        self.hidden = hidden
        self.attention = attention
        self.classifier = classifier
    }

    /// The config's rates (`classifier_dropout`, or the hidden rate when it is unset).
    public init(config: BertConfig) {
        self.init(hidden: config.hiddenDropoutProb, attention: config.attentionProbsDropoutProb,
                  classifier: config.classifierDropout ?? config.hiddenDropoutProb)
    }
}

/// Runs a `BertClassifier` forward and backward over buffers sized once for the largest batch.
///
/// Nothing is allocated per step: every activation, and every activation gradient, has a fixed
/// buffer in an `ActivationArena`. Tokens are packed (`PackedBatch`): only real tokens are stored
/// and computed. The forward pass is here, the backward pass in `Runner+Backward.swift`.
/// Dimension letters: B batch, T longest sequence, C hidden, I intermediate, NH heads, HS head
/// size, K labels, N real tokens (rows).
public final class BertRunner: @unchecked Sendable {
    public let model: BertClassifier
    public private(set) var maxBatch: Int
    public private(set) var maxLength: Int
    /// Dropout of training passes.
    public let rates: DropoutRates
    /// The threads the passes run on.
    public let context: ComputeContext
    /// Parameter gradients (same layout as the weights); accumulated by `backward`, zeroed by the caller.
    public let grads: ParameterBuffer?

    private(set) var arena: ActivationArena
    var packed: PackedBatch
    private let keepIntermediates: Bool

    /// Whether the last encoder layer runs for each sequence's first token ([CLS]) only: its keys
    /// and values still come from every token, but its attention query, output projection,
    /// LayerNorms and feed-forward network run on B rows instead of N. The classifier reads
    /// nothing else, so logits, loss and gradients are those of the full layer (tested), at about
    /// 6% less arithmetic for KoBERT. On unless the runner keeps intermediates.
    public let lastLayerFirstTokenOnly: Bool

    /// The mode of the last forward pass (the backward pass reuses its dropout masks).
    var mode: RunMode = .inference

    /// When set, the passes add each kernel call's wall time to `profile` (see `KernelPhase`).
    /// Off, no clock is read.
    public var profiling = false
    /// What the passes measured since it was last reset (the caller resets it).
    public var profile = KernelProfile()

    /// - Parameters:
    ///   - training: allocate gradients and everything the backward pass needs.
    ///   - dropout: the rates of training passes (default: the config's).
    ///   - context: the threads to run on (default: every core). Creating a runner holds OpenBLAS
    ///     to one thread for the process (`holdBLASToOneThread`): the engine splits products itself.
    ///   - keepIntermediates: for inference, keep every layer's activations (for debugging against a
    ///     reference dump); otherwise the layers share one set of buffers (12x less memory for KoBERT).
    ///   - lastLayerFirstTokenOnly: see the property (default: on unless intermediates are kept).
    public init(model: BertClassifier, maxBatch: Int, maxLength: Int, training: Bool,
                dropout: DropoutRates? = nil, context: ComputeContext = ComputeContext(),
                keepIntermediates: Bool = false, lastLayerFirstTokenOnly: Bool? = nil) throws {
        let cfg = model.config
        guard maxBatch > 0, maxLength > 0, maxLength <= cfg.maxPositionEmbeddings else {
            throw BertError.invalidBatch("maxBatch \(maxBatch) and maxLength \(maxLength) must be positive, maxLength at most max_position_embeddings \(cfg.maxPositionEmbeddings)")
        }
        let rates = dropout ?? DropoutRates(config: cfg)
        for (name, p) in [("hidden", rates.hidden), ("attention", rates.attention), ("classifier", rates.classifier)] where !(p >= 0 && p < 1) {
            throw BertError.invalidBatch("\(name) dropout \(p) is outside [0, 1)")
        }
        holdBLASToOneThread()
        self.model = model
        self.maxBatch = maxBatch
        self.maxLength = maxLength
        self.rates = rates
        self.context = context
        arena = try ActivationArena(config: cfg, maxBatch: maxBatch, maxLength: maxLength, training: training,
                                    keepIntermediates: keepIntermediates, dropsAttention: rates.attention > 0)
        self.grads = training ? ParameterBuffer(layout: model.layout) : nil
        packed = PackedBatch(maxBatch: maxBatch, maxLength: maxLength)
        self.lastLayerFirstTokenOnly = lastLayerFirstTokenOnly ?? !keepIntermediates
        self.keepIntermediates = keepIntermediates
    }

    /// Re-sizes the activation buffers for batches of at most `maxBatch` sequences of at most
    /// `maxLength` real tokens (e.g. a trainer that knows its epoch's longest batch before it starts).
    /// Batches padded beyond `maxLength` still fit when their sequences do: padding is not stored.
    public func resize(maxBatch: Int, maxLength: Int) throws {
        let cfg = model.config
        guard maxBatch > 0, maxLength > 0, maxLength <= cfg.maxPositionEmbeddings else {
            throw BertError.invalidBatch("maxBatch \(maxBatch) and maxLength \(maxLength) must be positive, maxLength at most max_position_embeddings \(cfg.maxPositionEmbeddings)")
        }
        guard maxBatch != self.maxBatch || maxLength != self.maxLength else { return }
        let training = grads != nil
        let newArena = try ActivationArena(config: cfg, maxBatch: maxBatch, maxLength: maxLength, training: training,
                                           keepIntermediates: keepIntermediates, dropsAttention: rates.attention > 0)
        arena = newArena
        packed.deallocate()
        packed = PackedBatch(maxBatch: maxBatch, maxLength: maxLength)
        self.maxBatch = maxBatch
        self.maxLength = maxLength
    }

    deinit { packed.deallocate() }

    /// Whether layer `l` runs for the first tokens only after its attention (see `lastLayerFirstTokenOnly`).
    func runsFirstTokenOnly(_ l: Int) -> Bool {
        lastLayerFirstTokenOnly && l == model.config.numHiddenLayers - 1
    }

    // Dropout sites: each place in the network gets its own stream of masks.
    func dropout(_ p: Double, site: Int) -> DropoutSite? {
        guard case let .training(seed, step) = mode, p > 0 else { return nil }
        return DropoutSite(probability: Float(p), seed: seed, step: step, site: site, positions: model.config.maxPositionEmbeddings)
    }
    enum Site { static let embeddings = 0, classifier = 1; static func layer(_ l: Int, _ k: Int) -> Int { 2 + 3 * l + k } }

    /// Runs the model on `batch`; returns the logits [B, K], valid until the next call and only while
    /// the runner lives (its memory is unmapped with it: read them inside `withExtendedLifetime(runner)`
    /// when the runner is not used afterwards).
    @discardableResult
    public func forward(_ batch: TokenBatch, mode: RunMode = .inference) throws -> UnsafeBufferPointer<Float> {
        if case .training = mode, grads == nil {
            throw BertError.invalidBatch("this runner was created for inference; create it with training: true to train")
        }
        try timed(.packing) {
            try packed.pack(batch, vocabSize: model.config.vocabSize, typeVocabSize: model.config.typeVocabSize)
        }
        self.mode = mode
        return context.run { forwardPass() }
    }

    private func forwardPass() -> UnsafeBufferPointer<Float> {
        let A = arena, B = packed.B, T = packed.S, N = packed.N  // T: the probabilities' row stride
        let tokenIds = packed.tokenIds, segmentIds = packed.segmentIds, positionIds = packed.positionIds
        let rowStart = packed.rowStart, firstRows = packed.firstRows
        let cfg = model.config, W = model.weights, Lo = model.layout
        let C = cfg.hiddenSize, I = cfg.intermediateSize, NH = cfg.numAttentionHeads, HS = cfg.headSize
        let K = model.numLabels, eps = Float(cfg.layerNormEps)

        // Embeddings: word + position + token type, LayerNorm, dropout.
        timed(.embedding) {
            Embedding.forward(out: A.embSum, ids: tokenIds, table: W[Lo.wordEmbeddings], N: N, C: C, accumulate: false)
            Embedding.forward(out: A.embSum, ids: positionIds, table: W[Lo.positionEmbeddings], N: N, C: C, accumulate: true)
            Embedding.forward(out: A.embSum, ids: segmentIds, table: W[Lo.tokenTypeEmbeddings], N: N, C: C, accumulate: true)
        }
        timed(.layerNorm) {
            LayerNorm.forward(out: A.embOut, mean: A.embMean, rstd: A.embRstd, inp: A.embSum,
                              weight: W[Lo.embLNWeight], bias: W[Lo.embLNBias], N: N, C: C, eps: eps)
        }
        timed(.dropout) { dropout(rates.hidden, site: Site.embeddings)?.applySequences(A.embOut, rows: rowStart, B: B, C: C) }

        var x = UnsafePointer(A.embOut)
        for (l, (p, a)) in zip(Lo.layers, A.layers).enumerated() {
            // After the attention, a first-token-only layer has M = B rows laid out as `firstRows`.
            let firstOnly = runsFirstTokenOnly(l)
            let M = firstOnly ? B : N, R = firstOnly ? UnsafePointer(firstRows) : UnsafePointer(rowStart)
            // Self-attention: fused q|k|v projection, masked softmax attention, output projection.
            linearForward(out: a.qkv, inp: x, weight: W[p.qkvWeight], bias: W[p.qkvBias], N: N, C: C, OC: 3 * C)
            let attnDrop = dropout(rates.attention, site: Site.layer(l, 0))
            attention(firstQueryOnly: firstOnly, backward: false) {
                Attention.forward(out: a.ctx, probs: a.probs, probsDropped: attnDrop == nil ? nil : a.probsDropped,
                                  dropout: attnDrop, qkv: a.qkv, rows: rowStart, B: B, T: T, NH: NH, HS: HS,
                                  firstQueryOnly: firstOnly)
            }
            linearForward(out: A.tmp, inp: a.ctx, weight: W[p.attnOutWeight], bias: W[p.attnOutBias], N: M, C: C, OC: C)
            if firstOnly {  // the residual from each sequence's first row of x
                timed(.dropout) { dropout(rates.hidden, site: Site.layer(l, 1))?.applySequences(A.tmp, rows: R, B: B, C: C) }
                timed(.residual) {
                    for b in 0..<B { add(out: a.ln1In + b * C, A.tmp + b * C, x + Int(rowStart[b]) * C, count: C) }
                }
            } else {
                timed(.dropout) { dropoutAdd(dropout(rates.hidden, site: Site.layer(l, 1)), out: a.ln1In, inp: A.tmp, residual: x, rows: R, B: B, C: C) }
            }
            timed(.layerNorm) {
                LayerNorm.forward(out: a.ln1Out, mean: a.ln1Mean, rstd: a.ln1Rstd, inp: a.ln1In,
                                  weight: W[p.ln1Weight], bias: W[p.ln1Bias], N: M, C: C, eps: eps)
            }
            // Feed-forward: dense to I, GELU, dense back to C, dropout, residual, LayerNorm.
            linearForward(out: a.ffnPre, inp: a.ln1Out, weight: W[p.ffnInWeight], bias: W[p.ffnInBias], N: M, C: C, OC: I)
            timed(.gelu) { GELU.forward(out: a.ffnAct, inp: a.ffnPre, count: M * I) }
            linearForward(out: A.tmp, inp: a.ffnAct, weight: W[p.ffnOutWeight], bias: W[p.ffnOutBias], N: M, C: I, OC: C)
            timed(.dropout) { dropoutAdd(dropout(rates.hidden, site: Site.layer(l, 2)), out: a.ln2In, inp: A.tmp, residual: a.ln1Out, rows: R, B: B, C: C) }
            timed(.layerNorm) {
                LayerNorm.forward(out: a.out, mean: a.ln2Mean, rstd: a.ln2Rstd, inp: a.ln2In,
                                  weight: W[p.ln2Weight], bias: W[p.ln2Bias], N: M, C: C, eps: eps)
            }
            x = UnsafePointer(a.out)
        }

        // Pooler over [CLS] (position 0), dropout, classifier.
        let lastFirstOnly = runsFirstTokenOnly(cfg.numHiddenLayers - 1)
        timed(.pooler) {
            for b in 0..<B { (A.clsIn + b * C).update(from: x + (lastFirstOnly ? b : Int(rowStart[b])) * C, count: C) }
        }
        linearForward(out: A.poolPre, inp: A.clsIn, weight: W[Lo.poolerWeight], bias: W[Lo.poolerBias], N: B, C: C, OC: C)
        timed(.pooler) {
            Tanh.forward(out: A.pooled, inp: A.poolPre, count: B * C)
            A.pooledDrop.update(from: A.pooled, count: B * C)
            dropout(rates.classifier, site: Site.classifier)?
                .apply(out: A.pooledDrop, inp: A.pooledDrop, count: B * C)
        }
        linearForward(out: A.logits, inp: A.pooledDrop, weight: W[Lo.classifierWeight], bias: W[Lo.classifierBias], N: B, C: C, OC: K)
        return UnsafeBufferPointer(start: A.logits, count: B * K)
    }


    /// Softmax probabilities [B, K] of the last forward pass.
    public func probabilities() -> [[Float]] {
        let K = model.numLabels, B = packed.B
        Softmax.rows(out: arena.probs, inp: arena.logits, B: B, K: K)
        return (0..<B).map { Array(UnsafeBufferPointer(start: arena.probs + $0 * K, count: K)) }
    }
}

/// out = dropout(inp) + residual over the packed rows `rows` (one pass), or inp + residual without dropout.
func dropoutAdd(_ site: DropoutSite?, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, residual: UnsafePointer<Float>,
                rows: UnsafePointer<Int32>, B: Int, C: Int) {
    if let site {
        site.applySequences(out: out, inp: inp, residual: residual, rows: rows, B: B, C: C)
    } else {
        let count = Int(rows[B]) * C
        parallelFor(count, minChunk: 65536) { r in add(out: out + r.lowerBound, inp + r.lowerBound, residual + r.lowerBound, count: r.count) }
    }
}

/// out = a + b, element-wise.
@inline(__always)
func add(out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = a[i] + b[i] }
}

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
