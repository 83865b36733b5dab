import Kernels

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

/// How a forward pass runs: inference (no dropout) or training, where dropout masks are a pure
/// function of (seed, step), so a run is reproducible and a resumed run continues exactly.
public enum RunMode: Sendable {
    case inference
    case training(seed: UInt64, step: Int)
}

/// Runs a `BertClassifier` forward and backward over buffers sized once for the largest batch.
///
/// Nothing is allocated per step: every activation, and every activation gradient, has a fixed
/// buffer carved from one allocation. Tokens are packed: only real tokens are stored and computed,
/// sequence b in rows `rowStart[b] ..< rowStart[b + 1]`, so padding costs nothing (it is masked, so
/// the results are those of the padded batch). Dimension letters: B batch, T longest sequence,
/// C hidden, I intermediate, NH heads, HS head size, K labels, N real tokens (rows).
public final class BertRunner: @unchecked Sendable {
    public let model: BertClassifier
    public let maxBatch: Int
    public let maxLength: Int
    /// Parameter gradients (same layout as the weights); accumulated by `backward`, zeroed by the caller.
    public let grads: ParameterBuffer?

    private struct LayerActs {
        var qkv, probs, probsDropped, ctx, ln1In, ln1Out, ln1Mean, ln1Rstd: UnsafeMutablePointer<Float>
        var ffnPre, ffnAct, ln2In, out, ln2Mean, ln2Rstd: UnsafeMutablePointer<Float>
    }

    private let arena: UnsafeMutablePointer<Float>
    private let arenaCount: Int
    private var layers: [LayerActs] = []
    private let embSum, embOut, embMean, embRstd: UnsafeMutablePointer<Float>
    private let tmp: UnsafeMutablePointer<Float>                                   // [N, C]
    private let clsIn, poolPre, pooled, pooledDrop, logits, probs: UnsafeMutablePointer<Float>
    // activation gradients
    private let dX, dT1, dT2, dctx, dqkv, dffn, dprobs: UnsafeMutablePointer<Float>
    private let dCls, dPool, dPooledDrop, dLogits: UnsafeMutablePointer<Float>
    private let tokenIds, segmentIds, positionIds, rowStart, labelBuf: UnsafeMutablePointer<Int32>
    /// 0, 1, ..., maxBatch: the row layout of a [B, C] buffer holding each sequence's first token.
    private let firstRows: UnsafeMutablePointer<Int32>

    /// Whether the last encoder layer runs for each sequence's first token ([CLS]) only: its keys
    /// and values still come from every token, but its attention query, output projection,
    /// LayerNorms and feed-forward network run on B rows instead of N. The classifier reads
    /// nothing else, so logits, loss and gradients are those of the full layer (tested), at about
    /// 6% less arithmetic for KoBERT. On unless the runner keeps intermediates (then the last
    /// layer's activations are kept for every token). Change it only between a backward pass and
    /// the next forward pass.
    public var lastLayerFirstTokenOnly: Bool

    // State of the last forward pass.
    private var B = 0, T = 0, N = 0
    private var mode: RunMode = .inference
    public private(set) var lastLoss: Float = .nan

    /// - Parameters:
    ///   - training: allocate gradients and everything the backward pass needs.
    ///   - keepIntermediates: for inference, keep every layer's activations so `intermediate(_:)`
    ///     can show them; otherwise the layers share one set of buffers (12x less memory for KoBERT).
    public init(model: BertClassifier, maxBatch: Int, maxLength: Int, training: Bool, keepIntermediates: Bool = false) throws {
        let cfg = model.config
        guard maxBatch > 0, maxLength > 0, maxLength <= cfg.maxPositionEmbeddings else {
            throw BertError.invalidBatch("maxBatch \(maxBatch) and maxLength \(maxLength) must be positive, maxLength at most max_position_embeddings \(cfg.maxPositionEmbeddings)")
        }
        self.model = model
        self.maxBatch = maxBatch
        self.maxLength = maxLength
        self.grads = training ? ParameterBuffer(layout: model.layout) : nil

        let N = maxBatch * maxLength, C = cfg.hiddenSize, I = cfg.intermediateSize
        let NH = cfg.numAttentionHeads, K = model.numLabels
        let P = maxBatch * NH * maxLength * maxLength
        let dropsProbs = training && cfg.attentionProbsDropoutProb > 0
        // The size table: every buffer, in order.
        var sizes: [Int] = []
        let storedLayers = training || keepIntermediates ? cfg.numHiddenLayers : min(1, cfg.numHiddenLayers)
        for _ in 0..<storedLayers {
            sizes += [N * 3 * C, P, dropsProbs ? P : 0, N * C, N * C, N * C, N, N, N * I, N * I, N * C, N * C, N, N]
        }
        sizes += [N * C, N * C, N, N, N * C]                        // embSum, embOut, embMean, embRstd, tmp
        sizes += [maxBatch * C, maxBatch * C, maxBatch * C, maxBatch * C, maxBatch * K, maxBatch * K]
        if training {
            sizes += [N * C, N * C, N * C, N * C, N * 3 * C, N * I, P]
            sizes += [maxBatch * C, maxBatch * C, maxBatch * C, maxBatch * K]
        }
        arenaCount = sizes.reduce(0, +)
        arena = UnsafeMutableRawPointer.allocate(byteCount: max(1, arenaCount) * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(1, arenaCount))
        arena.initialize(repeating: 0, count: max(1, arenaCount))
        var cursor = arena
        var sizeIter = sizes.makeIterator()
        func next() -> UnsafeMutablePointer<Float> {
            let p = cursor
            cursor += sizeIter.next()!
            return p
        }
        for _ in 0..<storedLayers {
            layers.append(LayerActs(qkv: next(), probs: next(), probsDropped: next(), ctx: next(), ln1In: next(),
                                    ln1Out: next(), ln1Mean: next(), ln1Rstd: next(), ffnPre: next(), ffnAct: next(),
                                    ln2In: next(), out: next(), ln2Mean: next(), ln2Rstd: next()))
        }
        // Without stored intermediates every layer reuses the one set: a layer reads its input
        // (the previous layer's `out`, the same buffer) only before it writes its own `out`.
        while layers.count < cfg.numHiddenLayers { layers.append(layers[0]) }
        embSum = next(); embOut = next(); embMean = next(); embRstd = next(); tmp = next()
        clsIn = next(); poolPre = next(); pooled = next(); pooledDrop = next(); logits = next(); probs = next()
        if training {
            dX = next(); dT1 = next(); dT2 = next(); dctx = next(); dqkv = next(); dffn = next(); dprobs = next()
            dCls = next(); dPool = next(); dPooledDrop = next(); dLogits = next()
        } else {
            dX = arena; dT1 = arena; dT2 = arena; dctx = arena; dqkv = arena; dffn = arena; dprobs = arena
            dCls = arena; dPool = arena; dPooledDrop = arena; dLogits = arena
        }
        let ints = UnsafeMutablePointer<Int32>.allocate(capacity: 3 * N + 3 * maxBatch + 2)
        ints.initialize(repeating: 0, count: 3 * N + 3 * maxBatch + 2)
        tokenIds = ints; segmentIds = ints + N; positionIds = ints + 2 * N
        rowStart = ints + 3 * N; labelBuf = ints + 3 * N + maxBatch + 1
        firstRows = ints + 3 * N + 2 * maxBatch + 1
        for b in 0...maxBatch { firstRows[b] = Int32(b) }
        lastLayerFirstTokenOnly = !keepIntermediates
    }

    deinit {
        arena.deallocate()
        tokenIds.deallocate()
    }

    /// Whether layer `l` runs for the first tokens only after its attention (see `lastLayerFirstTokenOnly`).
    private func runsFirstTokenOnly(_ l: Int) -> Bool {
        lastLayerFirstTokenOnly && l == model.config.numHiddenLayers - 1
    }

    private var storesAllLayers: Bool { layers.count < 2 || layers[0].qkv != layers[1].qkv }

    /// Bytes held by activation (and activation-gradient) buffers.
    public var activationBytes: Int { arenaCount * 4 }

    // Dropout sites: each place in the network gets its own stream of masks.
    private func dropout(_ p: Double, site: Int) -> DropoutSite? {
        guard case let .training(seed, step) = mode, p > 0 else { return nil }
        return DropoutSite(probability: Float(p), seed: seed, step: step, site: site, positions: model.config.maxPositionEmbeddings)
    }
    private enum Site { static let embeddings = 0, classifier = 1; static func layer(_ l: Int, _ k: Int) -> Int { 2 + 3 * l + k } }

    /// Runs the model on `batch`; returns the logits [B, K], valid until the next call.
    @discardableResult
    public func forward(_ batch: TokenBatch, mode: RunMode = .inference) throws -> UnsafeBufferPointer<Float> {
        try load(batch)
        if case .training = mode, grads == nil {
            throw BertError.invalidBatch("this runner was created for inference; create it with training: true to train")
        }
        self.mode = mode
        let cfg = model.config, W = model.weights, Lo = model.layout
        let C = cfg.hiddenSize, I = cfg.intermediateSize, NH = cfg.numAttentionHeads, HS = cfg.headSize
        let K = model.numLabels, eps = Float(cfg.layerNormEps)

        // Embeddings: word + position + token type, LayerNorm, dropout.
        Embedding.forward(out: embSum, ids: tokenIds, table: W[Lo.wordEmbeddings], N: N, C: C, accumulate: false)
        Embedding.forward(out: embSum, ids: positionIds, table: W[Lo.positionEmbeddings], N: N, C: C, accumulate: true)
        Embedding.forward(out: embSum, ids: segmentIds, table: W[Lo.tokenTypeEmbeddings], N: N, C: C, accumulate: true)
        LayerNorm.forward(out: embOut, mean: embMean, rstd: embRstd, inp: embSum,
                          weight: W[Lo.embLNWeight], bias: W[Lo.embLNBias], N: N, C: C, eps: eps)
        dropout(cfg.hiddenDropoutProb, site: Site.embeddings)?.applySequences(embOut, rows: rowStart, B: B, C: C)

        var x = UnsafePointer(embOut)
        for (l, (p, a)) in zip(Lo.layers, layers).enumerated() {
            // After the attention, a first-token-only layer has M = B rows laid out as `firstRows`.
            let firstOnly = runsFirstTokenOnly(l)
            let M = firstOnly ? B : N, R = firstOnly ? UnsafePointer(firstRows) : UnsafePointer(rowStart)
            // Self-attention: fused q|k|v projection, masked softmax attention, output projection.
            Linear.forward(out: a.qkv, inp: x, weight: W[p.qkvWeight], bias: W[p.qkvBias], N: N, C: C, OC: 3 * C)
            let attnDrop = dropout(cfg.attentionProbsDropoutProb, site: Site.layer(l, 0))
            Attention.forward(out: a.ctx, probs: a.probs, probsDropped: attnDrop == nil ? nil : a.probsDropped,
                              dropout: attnDrop, qkv: a.qkv, rows: rowStart, B: B, T: T, NH: NH, HS: HS,
                              firstQueryOnly: firstOnly)
            Linear.forward(out: tmp, inp: a.ctx, weight: W[p.attnOutWeight], bias: W[p.attnOutBias], N: M, C: C, OC: C)
            dropout(cfg.hiddenDropoutProb, site: Site.layer(l, 1))?.applySequences(tmp, rows: R, B: B, C: C)
            if firstOnly {  // the residual from each sequence's first row of x
                for b in 0..<B { add(out: a.ln1In + b * C, tmp + b * C, x + Int(rowStart[b]) * C, count: C) }
            } else {
                add(out: a.ln1In, tmp, x, count: N * C)
            }
            LayerNorm.forward(out: a.ln1Out, mean: a.ln1Mean, rstd: a.ln1Rstd, inp: a.ln1In,
                              weight: W[p.ln1Weight], bias: W[p.ln1Bias], N: M, C: C, eps: eps)
            // Feed-forward: dense to I, GELU, dense back to C, dropout, residual, LayerNorm.
            Linear.forward(out: a.ffnPre, inp: a.ln1Out, weight: W[p.ffnInWeight], bias: W[p.ffnInBias], N: M, C: C, OC: I)
            GELU.forward(out: a.ffnAct, inp: a.ffnPre, count: M * I)
            Linear.forward(out: tmp, inp: a.ffnAct, weight: W[p.ffnOutWeight], bias: W[p.ffnOutBias], N: M, C: I, OC: C)
            dropout(cfg.hiddenDropoutProb, site: Site.layer(l, 2))?.applySequences(tmp, rows: R, B: B, C: C)
            add(out: a.ln2In, tmp, a.ln1Out, count: M * C)
            LayerNorm.forward(out: a.out, mean: a.ln2Mean, rstd: a.ln2Rstd, inp: a.ln2In,
                              weight: W[p.ln2Weight], bias: W[p.ln2Bias], N: M, C: C, eps: eps)
            x = UnsafePointer(a.out)
        }

        // Pooler over [CLS] (position 0), dropout, classifier.
        let lastFirstOnly = runsFirstTokenOnly(cfg.numHiddenLayers - 1)
        for b in 0..<B { (clsIn + b * C).update(from: x + (lastFirstOnly ? b : Int(rowStart[b])) * C, count: C) }
        Linear.forward(out: poolPre, inp: clsIn, weight: W[Lo.poolerWeight], bias: W[Lo.poolerBias], N: B, C: C, OC: C)
        Tanh.forward(out: pooled, inp: poolPre, count: B * C)
        pooledDrop.update(from: pooled, count: B * C)
        dropout(cfg.classifierDropout ?? cfg.hiddenDropoutProb, site: Site.classifier)?
            .apply(out: pooledDrop, inp: pooledDrop, count: B * C)
        Linear.forward(out: logits, inp: pooledDrop, weight: W[Lo.classifierWeight], bias: W[Lo.classifierBias], N: B, C: C, OC: K)
        return UnsafeBufferPointer(start: logits, count: B * K)
    }

    /// Softmax probabilities [B, K] of the last forward pass.
    public func probabilities() -> [[Float]] {
        let K = model.numLabels
        var out: [[Float]] = []
        for b in 0..<B {
            let x = logits + b * K
            let m = (0..<K).map { x[$0] }.max() ?? 0
            let e = (0..<K).map { expf(x[$0] - m) }
            let s = e.reduce(0, +)
            out.append(e.map { $0 / s })
        }
        return out
    }

    /// Cross-entropy of the last forward pass against `labels`, then the whole backward pass,
    /// accumulating every parameter's gradient into `grads`. Returns the mean loss.
    @discardableResult
    public func backward(labels: [Int32]) throws -> Float {
        guard let G = grads else { throw BertError.invalidBatch("this runner was created for inference; create it with training: true to train") }
        let cfg = model.config, W = model.weights, Lo = model.layout
        let C = cfg.hiddenSize, I = cfg.intermediateSize, NH = cfg.numAttentionHeads, HS = cfg.headSize
        let K = model.numLabels
        guard labels.count == B else { throw BertError.invalidBatch("\(labels.count) labels for a batch of \(B)") }
        for (b, y) in labels.enumerated() {
            guard (0..<Int32(K)).contains(y) else { throw BertError.invalidBatch("label \(y) of sequence \(b) is outside 0..<\(K)") }
            labelBuf[b] = y
        }
        let loss = CrossEntropy.forward(probs: probs, logits: logits, labels: labelBuf, B: B, K: K)
        lastLoss = loss
        CrossEntropy.backward(dlogits: dLogits, probs: probs, labels: labelBuf, B: B, K: K)

        // Classifier, dropout, tanh pooler; the gradient enters the encoder at each [CLS] row.
        dPooledDrop.update(repeating: 0, count: B * C)
        Linear.backward(dinp: dPooledDrop, dweight: G[Lo.classifierWeight], dbias: G[Lo.classifierBias],
                        dout: dLogits, inp: pooledDrop, weight: W[Lo.classifierWeight], N: B, C: C, OC: K)
        dropout(cfg.classifierDropout ?? cfg.hiddenDropoutProb, site: Site.classifier)?
            .backward(dinp: dPooledDrop, dout: dPooledDrop, count: B * C)
        dPool.update(repeating: 0, count: B * C)
        Tanh.backward(dinp: dPool, dout: dPooledDrop, out: pooled, count: B * C)
        dCls.update(repeating: 0, count: B * C)
        Linear.backward(dinp: dCls, dweight: G[Lo.poolerWeight], dbias: G[Lo.poolerBias],
                        dout: dPool, inp: clsIn, weight: W[Lo.poolerWeight], N: B, C: C, OC: C)
        let lastFirstOnly = runsFirstTokenOnly(cfg.numHiddenLayers - 1)
        dX.update(repeating: 0, count: N * C)
        for b in 0..<B { (dX + (lastFirstOnly ? b : Int(rowStart[b])) * C).update(from: dCls + b * C, count: C) }

        // Encoder layers in reverse. dX holds the gradient of the layer's output.
        for l in stride(from: cfg.numHiddenLayers - 1, through: 0, by: -1) {
            let p = Lo.layers[l], a = layers[l]
            let x = l == 0 ? UnsafePointer(embOut) : UnsafePointer(layers[l - 1].out)
            let firstOnly = runsFirstTokenOnly(l)
            let M = firstOnly ? B : N, R = firstOnly ? UnsafePointer(firstRows) : UnsafePointer(rowStart)
            // out = LN2(dropout(ffnOut) + ln1Out)
            dT1.update(repeating: 0, count: M * C)
            LayerNorm.backward(dinp: dT1, dweight: G[p.ln2Weight], dbias: G[p.ln2Bias], dout: dX, inp: a.ln2In,
                               weight: W[p.ln2Weight], mean: a.ln2Mean, rstd: a.ln2Rstd, N: M, C: C)
            dT2.update(from: dT1, count: M * C)      // the residual path into ln1Out
            dropout(cfg.hiddenDropoutProb, site: Site.layer(l, 2))?.applySequences(dT1, rows: R, B: B, C: C)
            // ffnOut = ffnAct · Woutᵀ + b ; ffnAct = GELU(ffnPre) ; ffnPre = ln1Out · Winᵀ + b
            dffn.update(repeating: 0, count: M * I)
            Linear.backward(dinp: dffn, dweight: G[p.ffnOutWeight], dbias: G[p.ffnOutBias], dout: dT1,
                            inp: a.ffnAct, weight: W[p.ffnOutWeight], N: M, C: I, OC: C)
            GELU.backward(dinp: dffn, dout: dffn, inp: a.ffnPre, count: M * I)
            Linear.backward(dinp: dT2, dweight: G[p.ffnInWeight], dbias: G[p.ffnInBias], dout: dffn,
                            inp: a.ln1Out, weight: W[p.ffnInWeight], N: M, C: C, OC: I)
            // ln1Out = LN1(dropout(ctx · Woᵀ + b) + x)
            dT1.update(repeating: 0, count: M * C)
            LayerNorm.backward(dinp: dT1, dweight: G[p.ln1Weight], dbias: G[p.ln1Bias], dout: dT2, inp: a.ln1In,
                               weight: W[p.ln1Weight], mean: a.ln1Mean, rstd: a.ln1Rstd, N: M, C: C)
            if firstOnly {  // the residual path into each sequence's first row of x
                dX.update(repeating: 0, count: N * C)
                for b in 0..<B { (dX + Int(rowStart[b]) * C).update(from: dT1 + b * C, count: C) }
            } else {
                dX.update(from: dT1, count: N * C)    // the residual path into x
            }
            dropout(cfg.hiddenDropoutProb, site: Site.layer(l, 1))?.applySequences(dT1, rows: R, B: B, C: C)
            dctx.update(repeating: 0, count: M * C)
            Linear.backward(dinp: dctx, dweight: G[p.attnOutWeight], dbias: G[p.attnOutBias], dout: dT1,
                            inp: a.ctx, weight: W[p.attnOutWeight], N: M, C: C, OC: C)
            // ctx = attention(qkv) ; qkv = x · Wqkvᵀ + b
            dqkv.update(repeating: 0, count: N * 3 * C)
            let attnDrop = dropout(cfg.attentionProbsDropoutProb, site: Site.layer(l, 0))
            Attention.backward(dqkv: dqkv, scratch: dprobs, dout: dctx, qkv: a.qkv, probs: a.probs,
                               probsDropped: attnDrop == nil ? nil : a.probsDropped, dropout: attnDrop,
                               rows: rowStart, B: B, T: T, NH: NH, HS: HS, firstQueryOnly: firstOnly)
            Linear.backward(dinp: dX, dweight: G[p.qkvWeight], dbias: G[p.qkvBias], dout: dqkv,
                            inp: x, weight: W[p.qkvWeight], N: N, C: C, OC: 3 * C)
        }

        // Embeddings: dropout, LayerNorm, then the three tables.
        dropout(cfg.hiddenDropoutProb, site: Site.embeddings)?.applySequences(dX, rows: rowStart, B: B, C: C)
        dT1.update(repeating: 0, count: N * C)
        LayerNorm.backward(dinp: dT1, dweight: G[Lo.embLNWeight], dbias: G[Lo.embLNBias], dout: dX, inp: embSum,
                           weight: W[Lo.embLNWeight], mean: embMean, rstd: embRstd, N: N, C: C)
        Embedding.backward(dtable: G[Lo.wordEmbeddings], dout: dT1, ids: tokenIds, N: N, C: C)
        Embedding.backward(dtable: G[Lo.positionEmbeddings], dout: dT1, ids: positionIds, N: N, C: C)
        Embedding.backward(dtable: G[Lo.tokenTypeEmbeddings], dout: dT1, ids: segmentIds, N: N, C: C)
        return loss
    }

    /// A named intermediate of the last forward pass, for comparing with a reference dump (earlier
    /// layers only when the runner keeps intermediates or trains; the last layer only without
    /// `lastLayerFirstTokenOnly`), in the padded layout of the batch
    /// with zeros at padded positions: `emb.out`, `layer{i}.attn.probs` [B, NH, T, T],
    /// `layer{i}.attn.context`, `layer{i}.attn.out`, `layer{i}.ffn.act` [B, T, I], `layer{i}.out`
    /// ([B, T, C] unless noted), `pooler` [B, C], `logits` [B, K].
    public func intermediate(_ name: String) -> [Float]? {
        let cfg = model.config, C = cfg.hiddenSize, NH = cfg.numAttentionHeads
        func array(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> [Float] { Array(UnsafeBufferPointer(start: p, count: n)) }
        func padded(_ p: UnsafeMutablePointer<Float>, width: Int) -> [Float] {
            var out = [Float](repeating: 0, count: B * T * width)
            for b in 0..<B {
                let first = Int(rowStart[b]), L = Int(rowStart[b + 1]) - first
                for t in 0..<L { for c in 0..<width { out[(b * T + t) * width + c] = p[(first + t) * width + c] } }
            }
            return out
        }
        switch name {
        case "emb.out": return padded(embOut, width: C)
        case "pooler": return array(pooled, B * C)
        case "logits": return array(logits, B * model.numLabels)
        default: break
        }
        let parts = name.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, parts[0].hasPrefix("layer"), let l = Int(parts[0].dropFirst(5)), layers.indices.contains(l),
              storesAllLayers || l == layers.count - 1, !runsFirstTokenOnly(l) else { return nil }
        let a = layers[l]
        switch parts[1] {
        case "attn.probs":
            var out = [Float](repeating: 0, count: B * NH * T * T)
            for bh in 0..<B * NH {
                let L = Int(rowStart[bh / NH + 1] - rowStart[bh / NH])
                for t in 0..<L { for j in 0..<L { out[(bh * T + t) * T + j] = a.probs[(bh * T + t) * T + j] } }
            }
            return out
        case "attn.context": return padded(a.ctx, width: C)
        case "attn.out": return padded(a.ln1Out, width: C)
        case "ffn.act": return padded(a.ffnAct, width: cfg.intermediateSize)
        case "out": return padded(a.out, width: C)
        default: return nil
        }
    }

    private func load(_ batch: TokenBatch) throws {
        let b = batch.batchSize, t = batch.length, cfg = model.config
        guard b > 0, t > 0, b <= maxBatch, t <= maxLength else {
            throw BertError.invalidBatch("batch of \(b) x \(t) does not fit this runner (at most \(maxBatch) x \(maxLength))")
        }
        guard batch.tokenIds.count == b * t, batch.segmentIds.count == b * t, batch.validLength.count == b else {
            throw BertError.invalidBatch("expected \(b * t) token ids, \(b * t) segment ids and \(b) lengths; got \(batch.tokenIds.count), \(batch.segmentIds.count), \(batch.validLength.count)")
        }
        for i in 0..<b * t {
            guard (0..<Int32(cfg.vocabSize)).contains(batch.tokenIds[i]) else {
                throw BertError.invalidBatch("token id \(batch.tokenIds[i]) at sequence \(i / t), position \(i % t) is outside the vocabulary of \(cfg.vocabSize)")
            }
            guard (0..<Int32(cfg.typeVocabSize)).contains(batch.segmentIds[i]) else {
                throw BertError.invalidBatch("segment id \(batch.segmentIds[i]) at sequence \(i / t), position \(i % t) is outside 0..<\(cfg.typeVocabSize)")
            }
        }
        for (i, v) in batch.validLength.enumerated() where v < 1 || Int(v) > t {
            throw BertError.invalidBatch("valid length \(v) of sequence \(i) is outside 1...\(t)")
        }
        // Pack the real tokens: sequence s goes to rows rowStart[s] ..< rowStart[s + 1].
        B = b; T = t
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
}

/// out = a + b, element-wise.
@inline(__always)
private func add(out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = a[i] + b[i] }
}

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
