import CKernels

/// Inverted dropout whose mask is a pure function of (seed, step, site, element index).
///
/// A counter-based mask needs no generator state: the same step of the same run drops the same
/// elements whatever the threading, and a resumed run continues exactly where it stopped.
/// Element indexes are laid out for sequences of `positions` tokens (the model's maximum), not
/// the batch's padded length, so a batch cut to its longest sentence drops exactly the elements
/// the same batch padded to the maximum would.
public struct DropoutSite: Sendable {
    /// Probability of dropping an element, in [0, 1).
    public let probability: Float
    /// Identifies the step and the place in the network (mixed into every element's hash).
    public let key: UInt64
    /// The sequence length element indexes are computed for.
    public let positions: Int

    public init(probability: Float, seed: UInt64, step: Int, site: Int, positions: Int) {
        self.probability = probability
        self.positions = positions
        self.key = mix64(seed ^ mix64(UInt64(truncatingIfNeeded: step) &* 0x9E37_79B9_7F4A_7C15
                                      &+ UInt64(truncatingIfNeeded: site)))
    }

    /// True when element `index` is kept.
    @inline(__always)
    public func keeps(_ index: Int) -> Bool {
        let z = mix64(key &+ UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03)
        return Float(z >> 40) * 0x1p-24 >= probability
    }

    /// out[i] = keeps(offset + i) ? inp[i] / (1 - p) : 0, plus `residual[i]` when given. `out` may
    /// alias `inp` or `residual`. The loop is C (`kb_dropout`: AVX2 where the CPU has it), the same
    /// mask bit for bit as `keeps`.
    public func apply(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int, offset: Int = 0,
                      residual: UnsafePointer<Float>? = nil, portable: Bool = false) {
        let scale = 1 / (1 - probability)
        if portable {
            kb_dropout_portable(out, inp, residual, count, key, offset, probability, scale)
        } else {
            kb_dropout(out, inp, residual, count, key, offset, probability, scale)
        }
    }

    /// In the forward pass this was out = inp · keep / (1 - p), so dinp = dout · keep / (1 - p).
    /// Writes; `dinp` may alias `dout`.
    public func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, count: Int, offset: Int = 0) {
        apply(out: dinp, inp: dout, count: count, offset: offset)
    }

    /// Dropout over packed activations (in place): sequence b is rows `rows[b] ..< rows[b + 1]`
    /// of `x` [N, C], and its token t, channel c has index (b · positions + t) · C + c, however the
    /// batch is padded or packed. The backward pass is the same call on the gradient.
    public func applySequences(_ x: UnsafeMutablePointer<Float>, rows: UnsafePointer<Int32>, B: Int, C: Int) {
        applySequences(out: x, inp: x, residual: nil, rows: rows, B: B, C: C)
    }

    /// `out = dropout(inp) + residual` over packed activations (all three in the layout of `rows`),
    /// one pass: the residual connection after a sub-layer's projection. `out` may alias either input.
    public func applySequences(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, residual: UnsafePointer<Float>?,
                               rows: UnsafePointer<Int32>, B: Int, C: Int) {
        parallelFor(B, minChunk: max(1, 32768 / max(1, Int(rows[B]) / max(1, B) * C))) { range in
            for b in range {
                let first = Int(rows[b]), count = (Int(rows[b + 1]) - first) * C
                apply(out: out + first * C, inp: inp + first * C, count: count, offset: b * positions * C,
                      residual: residual.map { $0 + first * C })
            }
        }
    }
}

/// SplitMix64's finalizer: a bijective 64-bit mix with good avalanche.
@inline(__always)
public func mix64(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// A small seeded generator (SplitMix64) for weight initialization and shuffling.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix64(state &- 0x9E37_79B9_7F4A_7C15)
    }

    /// A standard normal sample (Box–Muller).
    public mutating func nextGaussian() -> Float {
        let u1 = max(Double(next() >> 11) * 0x1p-53, Double.leastNonzeroMagnitude)
        let u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
