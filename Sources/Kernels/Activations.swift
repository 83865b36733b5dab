#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// GELU in its exact form, `0.5 * x * (1 + erf(x / √2))` (Hugging Face's "gelu").
public enum GELU {
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        parallelFor(count, minChunk: 16384) { r in
            for i in r {
                let x = inp[i]
                out[i] = 0.5 * x * (1 + erff(x * Float(0.5.squareRoot())))
            }
        }
    }

    /// In the forward pass this was y = x Φ(x), so dy/dx = Φ(x) + x φ(x).
    /// Writes (not accumulates) `dinp = dout * gelu'(inp)`; `dinp` may alias `dout`.
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        let invSqrt2 = Float(0.5.squareRoot())
        let invSqrt2Pi = Float(1 / (2 * Double.pi).squareRoot())
        parallelFor(count, minChunk: 16384) { r in
            for i in r {
                let x = inp[i]
                let cdf = 0.5 * (1 + erff(x * invSqrt2))
                let pdf = invSqrt2Pi * expf(-0.5 * x * x)
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
