import CKernels
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
    /// Each (sequence, head) block runs in one pass in C (`kb_attention_forward`): scores, softmax,
    /// dropout and the product with v, with no BLAS call (BLAS's per-call overhead dominated these
    /// L × L × HS products).
    ///
    /// - Parameters:
    ///   - probsDropped: where dropout is active, the dropped-out probabilities [B, NH, T, T]
    ///     (saved for the backward pass); `nil` when `dropout` is `nil`.
    ///   - dropout: probability and key of the attention-probability dropout (training only).
    ///   - firstQueryOnly: attend from each sequence's first token ([CLS]) only, against all of
    ///     its keys: `out` is then [B, C] (row b for sequence b) and only row 0 of each `probs`
    ///     block is written. The results for that token are the same as the full pass's (same
    ///     dropout indexes); BERT's last layer needs nothing else for classification.
    ///   - portable: use the portable C loop even where the CPU has AVX2 (for tests).
    public static func forward(
        out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
        probsDropped: UnsafeMutablePointer<Float>?, dropout: DropoutSite?,
        qkv: UnsafePointer<Float>, rows: UnsafePointer<Int32>,
        B: Int, T: Int, NH: Int, HS: Int, firstQueryOnly: Bool = false, portable: Bool = false
    ) {
        let C = NH * HS, C3 = 3 * C
        let scale = 1 / Float(HS).squareRoot()
        let drop = dropout != nil && probsDropped != nil ? dropout : nil
        let S = drop?.positions ?? 0
        let keepScale = drop.map { 1 / (1 - $0.probability) } ?? 1
        parallelFor(B * NH, minChunk: 1) { range in
            for bh in range {
                let b = bh / NH, h = bh % NH
                let first = Int(rows[b]), L = Int(rows[b + 1]) - first
                let Lq = firstQueryOnly ? 1 : L  // query rows
                let q = qkv + first * C3 + h * HS
                // Row t of head bh has dropout indexes ((bh · S) + t) · S + j for S = positions, whatever T is.
                kb_attention_forward(q, q + C, q + 2 * C, C3, Int32(L), Int32(Lq), Int32(HS), scale,
                                     probs + bh * T * T, drop == nil ? nil : probsDropped! + bh * T * T, T,
                                     out + (firstQueryOnly ? b : first) * C + h * HS, C,
                                     drop?.key ?? 0, bh * S * S, S, drop?.probability ?? 0, keepScale, portable ? 1 : 0)
            }
        }
    }

    /// Accumulates the gradient of `forward` into `dqkv` [N, 3C], one pass per (sequence, head)
    /// block in C (`kb_attention_backward`).
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
        B: Int, T: Int, NH: Int, HS: Int, firstQueryOnly: Bool = false, portable: Bool = false
    ) {
        let C = NH * HS, C3 = 3 * C
        let scale = 1 / Float(HS).squareRoot()
        let keepScale = dropout.map { 1 / (1 - $0.probability) } ?? 1
        parallelFor(B * NH, minChunk: 1) { range in
            for bh in range {
                let b = bh / NH, h = bh % NH
                let first = Int(rows[b]), L = Int(rows[b + 1]) - first
                let Lq = firstQueryOnly ? 1 : L  // query rows
                let q = qkv + first * C3 + h * HS
                let dq = dqkv + first * C3 + h * HS
                let A = (dropout != nil ? probsDropped! : probs) + bh * T * T
                kb_attention_backward(q, q + C, q + 2 * C, dq, dq + C, dq + 2 * C, C3, Int32(L), Int32(Lq), Int32(HS), scale,
                                      probs + bh * T * T, A, scratch + bh * T * T, T,
                                      dout + (firstQueryOnly ? b : first) * C + h * HS, C,
                                      dropout != nil ? 1 : 0, keepScale, portable ? 1 : 0)
            }
        }
    }
}
