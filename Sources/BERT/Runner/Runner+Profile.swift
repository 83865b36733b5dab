import Dispatch
import Kernels

/// Where the time of a runner's passes goes, measured by the engine's own timers: each kernel call
/// of the forward and backward pass is one of these phases. Off unless `BertRunner.profiling` is
/// set; off, a pass reads no clock (one branch on a stored Bool per kernel call).
public enum KernelPhase: String, CaseIterable, Sendable {
    /// Packing the batch's real tokens (and checking its ids).
    case packing
    /// Word + position + token-type look-ups (forward) and their table gradients (backward).
    case embedding
    /// The fully connected layers' matrix products (forward: bias written first; backward: dinp, dW).
    case linearProducts = "linear.products"
    /// The bias gradients of the fully connected layers (column sums of dout).
    case biasGrad = "linear.bias_grad"
    /// Attention in one pass per (sequence, head) block: q·kᵀ, masked softmax, dropout on the
    /// probabilities, ·v (and the backward of all of it). Its products are counted in
    /// `KernelProfile.attentionFlops`.
    case attention
    case layerNorm = "layernorm"
    case gelu
    /// Dropout on hidden activations (after the embeddings and each sub-layer's projection).
    case dropout
    /// Residual adds, buffer zeroing and copies between kernels.
    case residual = "residual_copy_zero"
    /// Pooler (tanh), classifier-head dropout (their products are in `linearProducts`).
    case pooler
    /// Cross-entropy and its gradient.
    case loss
}

/// Accumulated seconds per `KernelPhase`, and the shapes of the matrix products the passes made
/// (so a benchmark can time plain sgemm on exactly those shapes).
public struct KernelProfile: Sendable {
    public var seconds: [KernelPhase: Double] = [:]
    /// One entry per `Linear` call: rows, input and output channels, and whether it was the
    /// backward (dinp when `hasInputGradient`, then dW) or the forward product.
    public struct LinearCall: Sendable, Hashable {
        public var rows: Int, inChannels: Int, outChannels: Int
        public var backward: Bool, hasInputGradient: Bool
        /// Multiply-adds × 2 of this call's products.
        public var flops: Double {
            let one = 2.0 * Double(rows) * Double(inChannels) * Double(outChannels)
            return backward ? (hasInputGradient ? 2 * one : one) : one
        }
    }
    public var linearCalls: [LinearCall] = []
    /// FLOPs of the attention products (q·kᵀ, p·v forward; four products backward) on real tokens.
    public var attentionFlops: Double = 0

    public init() {}

    public var totalSeconds: Double { seconds.values.reduce(0, +) }
    public var linearFlops: Double { linearCalls.reduce(0) { $0 + $1.flops } }

    mutating func add(_ phase: KernelPhase, nanoseconds: UInt64) {
        seconds[phase, default: 0] += Double(nanoseconds) * 1e-9
    }
}

extension BertRunner {
    /// Runs `body` as `phase` of the profile when profiling; otherwise just runs it.
    @inline(__always)
    func timed<R>(_ phase: KernelPhase, _ body: () throws -> R) rethrows -> R {
        guard profiling else { return try body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer { profile.add(phase, nanoseconds: DispatchTime.now().uptimeNanoseconds - t0) }
        return try body()
    }

    /// `Linear.forward`, timed and its shape recorded when profiling.
    @inline(__always)
    func linearForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                       bias: UnsafePointer<Float>?, N: Int, C: Int, OC: Int) {
        if profiling { profile.linearCalls.append(.init(rows: N, inChannels: C, outChannels: OC, backward: false, hasInputGradient: false)) }
        timed(.linearProducts) { Linear.forward(out: out, inp: inp, weight: weight, bias: bias, N: N, C: C, OC: OC) }
    }

    /// `Linear.backward`, its products and its bias gradient timed apart when profiling.
    @inline(__always)
    func linearBackward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
                        dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>,
                        weight: UnsafePointer<Float>, N: Int, C: Int, OC: Int) {
        if profiling { profile.linearCalls.append(.init(rows: N, inChannels: C, outChannels: OC, backward: true, hasInputGradient: dinp != nil)) }
        timed(.linearProducts) {
            Linear.backward(dinp: dinp, dweight: dweight, dbias: nil, dout: dout, inp: inp, weight: weight, N: N, C: C, OC: OC)
        }
        if let dbias { timed(.biasGrad) { Linear.biasBackward(dbias: dbias, dout: dout, N: N, OC: OC) } }
    }

    /// FLOPs of one attention pass's products over the current batch (forward: 2; backward: 4 products).
    func attentionFlops(backward: Bool, firstQueryOnly: Bool) -> Double {
        let cfg = model.config, HS = cfg.headSize, NH = cfg.numAttentionHeads
        var total = 0.0
        for b in 0..<packed.B {
            let L = Double(packed.rowStart[b + 1] - packed.rowStart[b]), Lq = firstQueryOnly ? 1 : L
            total += 2 * 2 * Lq * L * Double(HS) * Double(NH)
        }
        return backward ? 2 * total : total
    }
}

extension BertRunner {
    /// Runs one attention pass, timed and its FLOPs counted when profiling.
    @inline(__always)
    func attention(firstQueryOnly: Bool, backward: Bool, _ body: () -> Void) {
        guard profiling else { return body() }
        timed(.attention, body)
        profile.attentionFlops += attentionFlops(backward: backward, firstQueryOnly: firstQueryOnly)
    }
}
