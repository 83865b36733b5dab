import CKernels
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// GELU in its exact form, `0.5 * x * (1 + erf(x / √2))` (Hugging Face's "gelu").
///
/// The loops are C (`kb_gelu_forward`, `kb_gelu_backward`: AVX2 where the CPU has it): glibc's
/// `erff`/`expf` are scalar and made GELU a tenth of a training step, and Swift cannot vectorize
/// beyond SSE2 without CPU-specific flags. The AVX2 path runs 8 lanes in float: Φ from
/// Abramowitz & Stegun 7.1.26 (erfc = polynomial · e^{-x²/2}, 1.5e-7 absolute, no cancellation in
/// the negative tail) with the exponential a degree-6 polynomial with 2ⁿ in the exponent bits (2e-7
/// relative), shared with the backward's φ. The portable path is A&S 7.1.28 in double (3e-7).
public enum GELU {
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        parallelFor(count, minChunk: 16384) { r in
            kb_gelu_forward(out + r.lowerBound, inp + r.lowerBound, r.count)
        }
    }

    /// In the forward pass this was y = x Φ(x), so dy/dx = Φ(x) + x φ(x).
    /// Writes (not accumulates) `dinp = dout * gelu'(inp)`; `dinp` may alias `dout`.
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        parallelFor(count, minChunk: 16384) { r in
            kb_gelu_backward(dinp + r.lowerBound, dout + r.lowerBound, inp + r.lowerBound, r.count)
        }
    }
}

/// tanh, the pooler's activation.
public enum Tanh {
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = tanhf(inp[i]) }
    }

    /// In the forward pass this was y = tanh(x), so dx += dy * (1 - y²). Uses the saved output `out`.
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, out: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { dinp[i] += dout[i] * (1 - out[i] * out[i]) }
    }
}
