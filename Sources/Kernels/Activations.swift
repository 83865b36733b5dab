#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// GELU in its exact form, `0.5 * x * (1 + erf(x / √2))` (Hugging Face's "gelu").
public enum GELU {
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        let invSqrt2 = Float(0.5.squareRoot())
        parallelFor(count, minChunk: 16384) { r in
            for i in r {
                let x = inp[i]
                out[i] = 0.5 * x * (1 + erfApprox(x * invSqrt2))
            }
        }
    }

    /// erf to within 3e-7 absolute (Abramowitz & Stegun 7.1.28), branch-free so the loop
    /// vectorizes; glibc's `erff` is scalar and made GELU a tenth of a training step. Evaluated in
    /// Double: the 16th power would amplify Float rounding to 2e-6.
    @inline(__always)
    static func erfApprox(_ x: Float) -> Float {
        let t = Double(abs(x))
        let p = 1 + t * (0.0705230784 + t * (0.0422820123 + t * (0.0092705272
                + t * (0.0001520143 + t * (0.0002765672 + t * 0.0000430638)))))
        let p2 = p * p, p4 = p2 * p2, p8 = p4 * p4
        return Float(signOf: x, magnitudeOf: Float(1 - 1 / (p8 * p8)))
    }

    /// e^y for y ≤ 0 to about 2e-7 relative, branch-free so the loop vectorizes: y = n·ln 2 + r with
    /// |r| ≤ ln 2 / 2, e^r by its degree-6 Taylor polynomial, 2^n built in the exponent bits.
    /// Below -87 (where e^y is under Float's normal range) it returns about e^-87, which is what
    /// GELU's backward needs (it multiplies by x, and x·e^-87 is far below any gradient).
    @inline(__always)
    static func expNonPositive(_ y: Float) -> Float {
        let y = min(0, max(-87, y))
        // Round y / ln 2 to the nearest integer with the 1.5·2^23 trick (plain float adds vectorize).
        // The integer n also sits in the low mantissa bits of m; reading it there (wrapping integer
        // ops, no trapping conversion) keeps the loop vectorizable.
        let m = y * 1.442695041 + 12582912
        let n = m - 12582912
        let r = (y - n * 0.693145752) - n * 1.428606820e-6   // ln 2 split in two for accuracy
        let p = 1 + r * (1 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720))))))
        let exponent = (m.bitPattern &- 0x4B40_0000 &+ 127) << 23
        return p * Float(bitPattern: exponent)
    }

    /// In the forward pass this was y = x Φ(x), so dy/dx = Φ(x) + x φ(x).
    /// Writes (not accumulates) `dinp = dout * gelu'(inp)`; `dinp` may alias `dout`.
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        let invSqrt2 = Float(0.5.squareRoot())
        let invSqrt2Pi = Float(1 / (2 * Double.pi).squareRoot())
        parallelFor(count, minChunk: 16384) { r in
            for i in r {
                let x = inp[i]
                let cdf = 0.5 * (1 + erfApprox(x * invSqrt2))
                let pdf = invSqrt2Pi * expNonPositive(-0.5 * x * x)
                dinp[i] = dout[i] * (cdf + x * pdf)
            }
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
