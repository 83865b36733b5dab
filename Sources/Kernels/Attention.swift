#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// The core of BERT's multi-head self-attention under a padding mask (Hugging Face's eager path):
///
///     scores = q kᵀ / √HS + (1 - mask) · (-∞) ; probs = softmax(scores) ; out = dropout(probs) v
///
/// Tokens are packed: sequence b occupies rows `rows[b] ..< rows[b + 1]` of `qkv` [N, 3C] (q | k | v
/// side by side, each split into NH heads of HS channels, C = NH·HS) and of `out` [N, C]; its
/// padding is not stored at all. A padded key gets probability exactly 0 in PyTorch (`finfo.min`
/// underflows in the exponential) and a padded query's output never reaches a real token, so the
/// real tokens' results are the same. `probs` [B, NH, T, T] keeps, for each sequence and head, an
/// L × L block (L its length) with row stride T, the longest sequence.
public enum Attention {
    /// - Parameters:
    ///   - probsDropped: where dropout is active, the dropped-out probabilities [B, NH, T, T]
    ///     (saved for the backward pass); `nil` when `dropout` is `nil`.
    ///   - dropout: probability and key of the attention-probability dropout (training only).
    ///   - firstQueryOnly: attend from each sequence's first token ([CLS]) only, against all of
    ///     its keys: `out` is then [B, C] (row b for sequence b) and only row 0 of each `probs`
    ///     block is written. The results for that token are the same as the full pass's (same
    ///     dropout indexes); BERT's last layer needs nothing else for classification.
    public static func forward(
        out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
        probsDropped: UnsafeMutablePointer<Float>?, dropout: DropoutSite?,
        qkv: UnsafePointer<Float>, rows: UnsafePointer<Int32>,
        B: Int, T: Int, NH: Int, HS: Int, firstQueryOnly: Bool = false
    ) {
        let C = NH * HS, C3 = 3 * C
        let scale = 1 / Float(HS).squareRoot()
        parallelFor(B * NH, minChunk: 1) { range in
            for bh in range {
                let b = bh / NH, h = bh % NH
                let first = Int(rows[b]), L = Int(rows[b + 1]) - first
                let Lq = firstQueryOnly ? 1 : L  // query rows
                let q = qkv + first * C3 + h * HS, k = q + C, v = q + 2 * C
                let P = probs + bh * T * T
                // scores[Lq, L] = q kᵀ · scale
                sgemm(transA: false, transB: true, m: Lq, n: L, k: HS, alpha: scale,
                      a: q, lda: C3, b: k, ldb: C3, beta: 0, c: P, ldc: T)
                for t in 0..<Lq {
                    let row = P + t * T
                    var mx = -Float.infinity
                    for j in 0..<L { mx = max(mx, row[j]) }
                    var sum: Float = 0
                    for j in 0..<L { let e = expf(row[j] - mx); row[j] = e; sum += e }
                    let inv = 1 / sum
                    for j in 0..<L { row[j] *= inv }
                }
                var A = UnsafePointer(P)
                if let dropout, let probsDropped {
                    let Pd = probsDropped + bh * T * T
                    // Row t of head bh has indexes ((bh · S) + t) · S + j for S = positions, whatever T is.
                    let S = dropout.positions
                    for t in 0..<Lq {
                        dropout.apply(out: Pd + t * T, inp: P + t * T, count: L, offset: (bh * S + t) * S)
                    }
                    A = UnsafePointer(Pd)
                }
                // out[Lq, HS] = A[Lq, L] · v[L, HS]
                sgemm(transA: false, transB: false, m: Lq, n: HS, k: L,
                      a: A, lda: T, b: v, ldb: C3, beta: 0, c: out + (firstQueryOnly ? b : first) * C + h * HS, ldc: C)
            }
        }
    }

    /// Accumulates the gradient of `forward` into `dqkv` [N, 3C].
    ///
    /// In the forward pass this was out = A v with A = dropout(P), P = softmax(S), S = q kᵀ · scale, so
    /// dA = dout vᵀ, dv += Aᵀ dout, dP = dA ⊙ keep / (1 - p), dS = P ⊙ (dP - Σ_j P dP) · scale,
    /// dq += dS k, dk += dSᵀ q. `scratch` [B, NH, T, T] holds dP. With `firstQueryOnly` (as in the
    /// forward pass) `dout` is [B, C] and only the first token's query gets a gradient.
    public static func backward(
        dqkv: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
        dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
        probs: UnsafePointer<Float>, probsDropped: UnsafePointer<Float>?, dropout: DropoutSite?,
        rows: UnsafePointer<Int32>,
        B: Int, T: Int, NH: Int, HS: Int, firstQueryOnly: Bool = false
    ) {
        let C = NH * HS, C3 = 3 * C
        let scale = 1 / Float(HS).squareRoot()
        parallelFor(B * NH, minChunk: 1) { range in
            for bh in range {
                let b = bh / NH, h = bh % NH
                let first = Int(rows[b]), L = Int(rows[b + 1]) - first
                let Lq = firstQueryOnly ? 1 : L  // query rows
                let q = qkv + first * C3 + h * HS, k = q + C, v = q + 2 * C
                let dq = dqkv + first * C3 + h * HS, dk = dq + C, dv = dq + 2 * C
                let dctx = dout + (firstQueryOnly ? b : first) * C + h * HS
                let P = probs + bh * T * T
                let A = (dropout != nil ? probsDropped! : probs) + bh * T * T
                let dP = scratch + bh * T * T
                // dA[Lq, L] = dout[Lq, HS] · vᵀ
                sgemm(transA: false, transB: true, m: Lq, n: L, k: HS,
                      a: dctx, lda: C, b: v, ldb: C3, beta: 0, c: dP, ldc: T)
                // dv[L, HS] += Aᵀ[L, Lq] · dout[Lq, HS]
                sgemm(transA: true, transB: false, m: L, n: HS, k: Lq,
                      a: A, lda: T, b: dctx, ldb: C, beta: 1, c: dv, ldc: C3)
                let keepScale = dropout.map { 1 / (1 - $0.probability) } ?? 1
                for t in 0..<Lq {
                    let p = P + t * T, d = dP + t * T, a = A + t * T
                    if dropout != nil {
                        // A = P · keep / (1 - p): where A is 0 either the element was dropped or P is 0,
                        // and in both cases its term in dS below is 0.
                        for j in 0..<L { d[j] = a[j] != 0 ? d[j] * keepScale : 0 }
                    }
                    var dot: Float = 0
                    for j in 0..<L { dot += p[j] * d[j] }
                    for j in 0..<L { d[j] = p[j] * (d[j] - dot) * scale }
                }
                // dq[Lq, HS] += dS[Lq, L] · k[L, HS];  dk[L, HS] += dSᵀ[L, Lq] · q[Lq, HS]
                sgemm(transA: false, transB: false, m: Lq, n: HS, k: L,
                      a: dP, lda: T, b: k, ldb: C3, beta: 1, c: dq, ldc: C3)
                sgemm(transA: true, transB: false, m: L, n: HS, k: Lq,
                      a: dP, lda: T, b: q, ldb: C3, beta: 1, c: dk, ldc: C3)
            }
        }
    }
}
