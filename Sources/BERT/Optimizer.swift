import CKernels
import Foundation
import Kernels

/// AdamW exactly as `torch.optim.AdamW` (decoupled weight decay, bias-corrected moments):
///
///     p ← p · (1 − lr·wd)
///     m ← β1·m + (1 − β1)·g ;  v ← β2·v + (1 − β2)·g²
///     p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
///
/// Weight decay applies only where the layout says so (not to biases and LayerNorm weights).
/// The default ε is the seed's (transformers' AdamW, 1e-6).
public final class AdamW: @unchecked Sendable {
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public let m: ParameterBuffer
    public let v: ParameterBuffer
    /// Steps taken so far (t of the bias correction after the next step is `step + 1`).
    public private(set) var step: Int = 0

    public init(layout: ParameterLayout, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-6, weightDecay: Float = 0.01) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        m = ParameterBuffer(layout: layout)
        v = ParameterBuffer(layout: layout)
    }

    /// Restores the state of a checkpoint (moments and step count).
    public func restore(step: Int) { self.step = step }

    /// One step on `params` with gradients `grads` × `gradScale` (the clipping coefficient of
    /// `clipCoefficient`, applied here as each gradient is read, so clipping costs no pass of its
    /// own; the result is the same as scaling `grads` first). `grads` is left unscaled.
    public func update(params: ParameterBuffer, grads: ParameterBuffer, lr: Float, gradScale: Float = 1) {
        step += 1
        let bc1 = 1 - Float(pow(Double(beta1), Double(step)))
        let bc2Sqrt = Float((1 - pow(Double(beta2), Double(step))).squareRoot())
        let stepSize = lr / bc1
        for entry in params.layout.entries {
            let decay = entry.decays ? 1 - lr * weightDecay : 1
            let p = params[entry.offset], g = grads[entry.offset], mm = m[entry.offset], vv = v[entry.offset]
            // kb_adamw: the formula above, 8 lanes at a time where the CPU has AVX2.
            parallelFor(entry.count, minChunk: 1 << 16) { r in
                kb_adamw(p + r.lowerBound, g + r.lowerBound, mm + r.lowerBound, vv + r.lowerBound, r.count,
                         gradScale, beta1, beta2, eps, decay, stepSize, bc2Sqrt)
            }
        }
    }
}

/// transformers' `get_cosine_schedule_with_warmup` (one half-cosine): the learning-rate factor
/// rises linearly from 0 over `warmupSteps`, then follows a half cosine down to 0 at `totalSteps`.
public struct CosineSchedule: Sendable {
    public let peak: Float
    public let warmupSteps: Int
    public let totalSteps: Int

    /// `warmupSteps = Int(Double(totalSteps) * warmupRatio)`, as the seed computes it.
    public init(peak: Float, totalSteps: Int, warmupRatio: Double) {
        self.peak = peak
        self.totalSteps = totalSteps
        self.warmupSteps = Int(Double(totalSteps) * warmupRatio)
    }

    /// The learning rate for 0-based step `step` (the value the optimizer uses on that step).
    public func learningRate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step) / Float(max(1, warmupSteps)) }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        return peak * Float(max(0, 0.5 * (1 + cos(Double.pi * progress))))
    }
}

/// The global L2 norm of all gradients. Squares are summed in Double over fixed chunks of 64K
/// values on all cores and the chunk sums added in order, so the norm does not depend on the
/// number of threads.
public func gradNorm(_ grads: ParameterBuffer) -> Float {
    let g = grads.base, count = grads.count
    let chunk = 1 << 16, chunks = (count + chunk - 1) / chunk
    // A few KB of chunk sums (1,400 for KoBERT): on the stack, so a training step allocates nothing.
    return withUnsafeTemporaryAllocation(of: Double.self, capacity: max(1, chunks)) { partial in
        let p = partial.baseAddress!
        parallelFor(chunks, minChunk: 1) { range in
            for c in range { p[c] = kb_sum_squares(g + c * chunk, min(chunk, count - c * chunk)) }
        }
        var sum: Double = 0
        for c in 0..<chunks { sum += p[c] }
        return Float(sum.squareRoot())
    }
}

/// `torch.nn.utils.clip_grad_norm_`'s scaling factor for gradients of norm `norm`:
/// maxNorm / (norm + 1e-6), capped at 1.
public func clipCoefficient(norm: Float, maxNorm: Float) -> Float {
    min(1, maxNorm / (norm + 1e-6))
}

/// Scales all gradients so their global L2 norm is at most `maxNorm`, as
/// `torch.nn.utils.clip_grad_norm_`. Returns the norm before clipping. (Training passes the
/// coefficient to `AdamW.update(gradScale:)` instead, which saves a pass over the gradients.)
@discardableResult
package func clipGradNorm(_ grads: ParameterBuffer, maxNorm: Float) -> Float {
    let norm = gradNorm(grads)
    let coef = clipCoefficient(norm: norm, maxNorm: maxNorm)
    if coef < 1 {
        let g = grads.base
        parallelFor(grads.count, minChunk: 1 << 16) { r in for i in r { g[i] *= coef } }
    }
    return norm
}
