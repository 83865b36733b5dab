#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Table look-up: row `ids[n]` of `table` [V, C] for each of N positions.
public enum Embedding {
    /// out[n] (+)= table[ids[n]]; adds when `accumulate` so BERT's three embeddings sum in place.
    public static func forward(
        out: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, table: UnsafePointer<Float>,
        N: Int, C: Int, accumulate: Bool
    ) {
        for n in 0..<N {
            let src = table + Int(ids[n]) * C, dst = out + n * C
            if accumulate {
                for c in 0..<C { dst[c] += src[c] }
            } else {
                dst.update(from: src, count: C)
            }
        }
    }

    /// In the forward pass this was out[n] = table[ids[n]], so dtable[ids[n]] += dout[n].
    public static func backward(
        dtable: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, ids: UnsafePointer<Int32>,
        N: Int, C: Int
    ) {
        for n in 0..<N {
            let dst = dtable + Int(ids[n]) * C, src = dout + n * C
            for c in 0..<C { dst[c] += src[c] }
        }
    }
}

/// Softmax cross-entropy averaged over the batch, as `torch.nn.CrossEntropyLoss()`.
public enum CrossEntropy {
    /// Writes the softmax of `logits` [B, K] into `probs` and returns the mean negative log-likelihood.
    public static func forward(
        probs: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>,
        B: Int, K: Int
    ) -> Float {
        Softmax.rows(out: probs, inp: logits, B: B, K: K)
        var total: Double = 0
        for b in 0..<B {
            // -log softmax(x)[y] = log Σ exp(x) - x[y]
            total += Softmax.logSumExp(logits + b * K, count: K) - Double(logits[b * K + Int(labels[b])])
        }
        return Float(total / Double(B))
    }

    /// In the forward pass this was loss = mean_b(-log p[b, y_b]), so dlogits = (p - onehot(y)) / B. Writes.
    public static func backward(
        dlogits: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>, labels: UnsafePointer<Int32>,
        B: Int, K: Int
    ) {
        let inv = 1 / Float(B)
        for b in 0..<B {
            for j in 0..<K { dlogits[b * K + j] = probs[b * K + j] * inv }
            dlogits[b * K + Int(labels[b])] -= inv
        }
    }
}


/// Row-wise softmax, the one the engine uses everywhere (loss, probabilities).
public enum Softmax {
    /// out[b, :] = softmax(inp[b, :]) for B rows of K, computed in Double. `out` may alias `inp`.
    public static func rows(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, B: Int, K: Int) {
        for b in 0..<B {
            let x = inp + b * K, p = out + b * K
            let lse = logSumExp(x, count: K)
            for j in 0..<K { p[j] = Float(exp(Double(x[j]) - lse)) }
        }
    }

    /// log Σ exp(x[j]) over `count` values, in Double, shifted by the largest for stability.
    public static func logSumExp(_ x: UnsafePointer<Float>, count K: Int) -> Double {
        var mx = -Float.infinity
        for j in 0..<K { mx = max(mx, x[j]) }
        var sum: Double = 0
        for j in 0..<K { sum += exp(Double(x[j] - mx)) }
        return Double(mx) + log(sum)
    }
}

/// The index of the largest of `count` values (the first one on ties, as `torch.argmax`); 0 when
/// empty. NaN is never the largest.
@inline(__always)
public func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
    var best = 0
    for k in 1..<max(1, count) where x[k] > x[best] || (x[best].isNaN && !x[k].isNaN) { best = k }
    return best
}
