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
        var total: Double = 0
        for b in 0..<B {
            let x = logits + b * K, p = probs + b * K
            var mx = -Float.infinity
            for j in 0..<K { mx = max(mx, x[j]) }
            var sum: Double = 0
            for j in 0..<K { let e = exp(Double(x[j] - mx)); p[j] = Float(e); sum += e }
            for j in 0..<K { p[j] = Float(Double(p[j]) / sum) }
            // -log softmax(x)[y] = log Σ exp(x - mx) - (x[y] - mx)
            total += log(sum) - Double(x[Int(labels[b])] - mx)
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

