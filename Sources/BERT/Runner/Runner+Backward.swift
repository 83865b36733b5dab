import Kernels

extension BertRunner {
    /// Cross-entropy of the last forward pass against `labels`, then the whole backward pass,
    /// accumulating every parameter's gradient into `grads`. Returns the mean loss.
    @discardableResult
    public func backward(labels: [Int32]) throws -> Float {
        guard let G = grads else { throw BertError.invalidBatch("this runner was created for inference; create it with training: true to train") }
        try packed.setLabels(labels, numLabels: model.numLabels)
        return context.run { backwardPass(G) }
    }

    private func backwardPass(_ G: ParameterBuffer) -> Float {
        let cfg = model.config, W = model.weights, Lo = model.layout
        let C = cfg.hiddenSize, I = cfg.intermediateSize, NH = cfg.numAttentionHeads, HS = cfg.headSize
        let K = model.numLabels
        let A = arena, B = packed.B, T = packed.S, N = packed.N, labelBuf = packed.labels  // T: the probabilities' row stride
        let tokenIds = packed.tokenIds, segmentIds = packed.segmentIds, positionIds = packed.positionIds
        let rowStart = packed.rowStart, firstRows = packed.firstRows
        let loss = timed(.loss) { () -> Float in
            let loss = CrossEntropy.forward(probs: A.probs, logits: A.logits, labels: labelBuf, B: B, K: K)
            CrossEntropy.backward(dlogits: A.dLogits, probs: A.probs, labels: labelBuf, B: B, K: K)
            return loss
        }

        // Classifier, dropout, tanh pooler; the gradient enters the encoder at each [CLS] row.
        timed(.pooler) { A.dPooledDrop.update(repeating: 0, count: B * C) }
        linearBackward(dinp: A.dPooledDrop, dweight: G[Lo.classifierWeight], dbias: G[Lo.classifierBias],
                       dout: A.dLogits, inp: A.pooledDrop, weight: W[Lo.classifierWeight], N: B, C: C, OC: K)
        timed(.pooler) {
            dropout(rates.classifier, site: Site.classifier)?
                .backward(dinp: A.dPooledDrop, dout: A.dPooledDrop, count: B * C)
            A.dPool.update(repeating: 0, count: B * C)
            Tanh.backward(dinp: A.dPool, dout: A.dPooledDrop, out: A.pooled, count: B * C)
            A.dCls.update(repeating: 0, count: B * C)
        }
        linearBackward(dinp: A.dCls, dweight: G[Lo.poolerWeight], dbias: G[Lo.poolerBias],
                       dout: A.dPool, inp: A.clsIn, weight: W[Lo.poolerWeight], N: B, C: C, OC: C)
        let lastFirstOnly = runsFirstTokenOnly(cfg.numHiddenLayers - 1)
        timed(.residual) {
            A.dX.update(repeating: 0, count: N * C)
            for b in 0..<B { (A.dX + (lastFirstOnly ? b : Int(rowStart[b])) * C).update(from: A.dCls + b * C, count: C) }
        }

        // Encoder layers in reverse. dX holds the gradient of the layer's output.
        for l in stride(from: cfg.numHiddenLayers - 1, through: 0, by: -1) {
            let p = Lo.layers[l], a = A.layers[l]
            let x = l == 0 ? UnsafePointer(A.embOut) : UnsafePointer(A.layers[l - 1].out)
            let firstOnly = runsFirstTokenOnly(l)
            let M = firstOnly ? B : N, R = firstOnly ? UnsafePointer(firstRows) : UnsafePointer(rowStart)
            // out = LN2(dropout(ffnOut) + ln1Out)
            timed(.residual) { A.dT1.update(repeating: 0, count: M * C) }
            timed(.layerNorm) {
                LayerNorm.backward(dinp: A.dT1, dweight: G[p.ln2Weight], dbias: G[p.ln2Bias], dout: A.dX, inp: a.ln2In,
                                   weight: W[p.ln2Weight], mean: a.ln2Mean, rstd: a.ln2Rstd, N: M, C: C)
            }
            timed(.residual) { A.dT2.update(from: A.dT1, count: M * C) }     // the residual path into ln1Out
            timed(.dropout) { dropout(rates.hidden, site: Site.layer(l, 2))?.applySequences(A.dT1, rows: R, B: B, C: C) }
            // ffnOut = ffnAct · Woutᵀ + b ; ffnAct = GELU(ffnPre) ; ffnPre = ln1Out · Winᵀ + b
            timed(.residual) { A.dffn.update(repeating: 0, count: M * I) }
            linearBackward(dinp: A.dffn, dweight: G[p.ffnOutWeight], dbias: G[p.ffnOutBias], dout: A.dT1,
                           inp: a.ffnAct, weight: W[p.ffnOutWeight], N: M, C: I, OC: C)
            timed(.gelu) { GELU.backward(dinp: A.dffn, dout: A.dffn, inp: a.ffnPre, count: M * I) }
            linearBackward(dinp: A.dT2, dweight: G[p.ffnInWeight], dbias: G[p.ffnInBias], dout: A.dffn,
                           inp: a.ln1Out, weight: W[p.ffnInWeight], N: M, C: C, OC: I)
            // ln1Out = LN1(dropout(ctx · Woᵀ + b) + x)
            timed(.residual) { A.dT1.update(repeating: 0, count: M * C) }
            timed(.layerNorm) {
                LayerNorm.backward(dinp: A.dT1, dweight: G[p.ln1Weight], dbias: G[p.ln1Bias], dout: A.dT2, inp: a.ln1In,
                                   weight: W[p.ln1Weight], mean: a.ln1Mean, rstd: a.ln1Rstd, N: M, C: C)
            }
            timed(.residual) {
                if firstOnly {  // the residual path into each sequence's first row of x
                    A.dX.update(repeating: 0, count: N * C)
                    for b in 0..<B { (A.dX + Int(rowStart[b]) * C).update(from: A.dT1 + b * C, count: C) }
                } else {
                    A.dX.update(from: A.dT1, count: N * C)    // the residual path into x
                }
            }
            timed(.dropout) { dropout(rates.hidden, site: Site.layer(l, 1))?.applySequences(A.dT1, rows: R, B: B, C: C) }
            timed(.residual) { A.dctx.update(repeating: 0, count: M * C) }
            linearBackward(dinp: A.dctx, dweight: G[p.attnOutWeight], dbias: G[p.attnOutBias], dout: A.dT1,
                           inp: a.ctx, weight: W[p.attnOutWeight], N: M, C: C, OC: C)
            // ctx = attention(qkv) ; qkv = x · Wqkvᵀ + b
            timed(.residual) { A.dqkv.update(repeating: 0, count: N * 3 * C) }
            let attnDrop = dropout(rates.attention, site: Site.layer(l, 0))
            attention(firstQueryOnly: firstOnly, backward: true) {
                Attention.backward(dqkv: A.dqkv, scratch: A.dprobs, dout: A.dctx, qkv: a.qkv, probs: a.probs,
                                   probsDropped: attnDrop == nil ? nil : a.probsDropped, dropout: attnDrop,
                                   rows: rowStart, B: B, T: T, NH: NH, HS: HS, firstQueryOnly: firstOnly)
            }
            linearBackward(dinp: A.dX, dweight: G[p.qkvWeight], dbias: G[p.qkvBias], dout: A.dqkv,
                           inp: x, weight: W[p.qkvWeight], N: N, C: C, OC: 3 * C)
        }

        // Embeddings: dropout, LayerNorm, then the three tables.
        timed(.dropout) { dropout(rates.hidden, site: Site.embeddings)?.applySequences(A.dX, rows: rowStart, B: B, C: C) }
        timed(.residual) { A.dT1.update(repeating: 0, count: N * C) }
        timed(.layerNorm) {
            LayerNorm.backward(dinp: A.dT1, dweight: G[Lo.embLNWeight], dbias: G[Lo.embLNBias], dout: A.dX, inp: A.embSum,
                               weight: W[Lo.embLNWeight], mean: A.embMean, rstd: A.embRstd, N: N, C: C)
        }
        timed(.embedding) {
            Embedding.backward(dtable: G[Lo.wordEmbeddings], dout: A.dT1, ids: tokenIds, N: N, C: C)
            Embedding.backward(dtable: G[Lo.positionEmbeddings], dout: A.dT1, ids: positionIds, N: N, C: C)
            Embedding.backward(dtable: G[Lo.tokenTypeEmbeddings], dout: A.dT1, ids: segmentIds, N: N, C: C)
        }
        return loss
    }

}
