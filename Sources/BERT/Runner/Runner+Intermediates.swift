extension BertRunner {
    /// Bytes held by activation (and activation-gradient) buffers.
    package var activationBytes: Int { arena.count * 4 }

    /// A named intermediate of the last forward pass, for comparing with a reference dump (earlier
    /// layers only when the runner keeps intermediates or trains; the last layer only without
    /// `lastLayerFirstTokenOnly`), in the padded layout of the batch
    /// with zeros at padded positions: `emb.out`, `layer{i}.attn.probs` [B, NH, T, T],
    /// `layer{i}.attn.context`, `layer{i}.attn.out`, `layer{i}.ffn.act` [B, T, I], `layer{i}.out`
    /// ([B, T, C] unless noted), `pooler` [B, C], `logits` [B, K].
    package func intermediate(_ name: String) -> [Float]? {
        let cfg = model.config, C = cfg.hiddenSize, NH = cfg.numAttentionHeads
        let A = arena, B = packed.B, T = packed.T, S = packed.S, rowStart = packed.rowStart
        let layers = A.layers, storesAllLayers = A.storesAllLayers
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
        case "emb.out": return padded(A.embOut, width: C)
        case "pooler": return array(A.pooled, B * C)
        case "logits": return array(A.logits, B * model.numLabels)
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
                for t in 0..<L { for j in 0..<L { out[(bh * T + t) * T + j] = a.probs[(bh * S + t) * S + j] } }
            }
            return out
        case "attn.context": return padded(a.ctx, width: C)
        case "attn.out": return padded(a.ln1Out, width: C)
        case "ffn.act": return padded(a.ffnAct, width: cfg.intermediateSize)
        case "out": return padded(a.out, width: C)
        default: return nil
        }
    }

}
