/// Fully connected layer with PyTorch's weight layout: `weight` is [OC, C].
///
/// Shapes: N rows (B*T), C input channels, OC output channels.
public enum Linear {
    /// out[N, OC] = inp[N, C] · weight[OC, C]ᵀ + bias[OC]
    public static func forward(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        N: Int, C: Int, OC: Int
    ) {
        if let bias {
            for n in 0..<N { (out + n * OC).update(from: bias, count: OC) }
        }
        sgemm(transA: false, transB: true, m: N, n: OC, k: C,
              a: inp, lda: C, b: weight, ldb: C, beta: bias == nil ? 0 : 1, c: out, ldc: OC)
    }

    /// Accumulates the gradients of `forward`.
    ///
    /// In the forward pass this was `out = inp · Wᵀ + b`, so
    /// dinp += dout · W, dW += doutᵀ · inp, db += Σ_rows dout.
    public static func backward(
        dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
        dbias: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        N: Int, C: Int, OC: Int
    ) {
        if let dinp {
            sgemm(transA: false, transB: false, m: N, n: C, k: OC,
                  a: dout, lda: OC, b: weight, ldb: C, beta: 1, c: dinp, ldc: C)
        }
        sgemm(transA: true, transB: false, m: OC, n: C, k: N,
              a: dout, lda: OC, b: inp, ldb: C, beta: 1, c: dweight, ldc: C)
        if let dbias {
            for n in 0..<N {
                let row = dout + n * OC
                for o in 0..<OC { dbias[o] += row[o] }
            }
        }
    }
}
