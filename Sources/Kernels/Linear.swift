import CKernels

/// Fully connected layer with PyTorch's weight layout: `weight` is [OC, C].
///
/// Shapes: N rows (B*T), C input channels, OC output channels.
public enum Linear {
    /// Up to this many rows, `forward` uses the few-rows kernel (`kb_gemm_nt_rows`, AVX2) with
    /// either library. It streams the weight matrix once, fetching the next rows ahead, where the
    /// libraries pack or re-read it: on the model's products with weights from memory (as in
    /// inference, 340 MB per pass) it is faster than both up to about 48 rows, level with oneDNN at
    /// 64 and slower beyond (Benchmarks/README.md, "Few-rows products"). Zero where that kernel has
    /// no fast path on this CPU.
    package static let fewRowsLimit = kb_gemm_nt_fast() != 0 ? 48 : 0

    /// "products of at most 48 rows: the engine's AVX2 kernel" where that kernel is used, for logs.
    public static var fewRowsSummary: String? {
        fewRowsLimit > 0 ? "products of at most \(fewRowsLimit) rows: the engine's AVX2 kernel" : nil
    }

    /// out[N, OC] = inp[N, C] · weight[OC, C]ᵀ + bias[OC]
    public static func forward(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        N: Int, C: Int, OC: Int
    ) {
        if N <= fewRowsLimit {
            forwardFewRows(out: out, inp: inp, weight: weight, bias: bias, N: N, C: C, OC: OC)
            return
        }
        sgemmSplit(transA: false, transB: true, m: N, n: OC, k: C,
                   a: inp, lda: C, b: weight, ldb: C, beta: bias == nil ? 0 : 1, c: out, ldc: OC) { rows in
            if let bias {
                for n in rows { (out + n * OC).update(from: bias, count: OC) }
            }
        }
    }

    /// `forward` by the few-rows kernel, output columns split across the cores in blocks of 3 (the
    /// kernel's groups of weight rows).
    package static func forwardFewRows(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        N: Int, C: Int, OC: Int, portable: Bool = false
    ) {
        let blocks = (OC + 2) / 3
        parallelFor(blocks, minChunk: 16) { range in
            let o0 = Int32(range.lowerBound * 3), o1 = Int32(min(OC, range.upperBound * 3))
            if portable {
                kb_gemm_nt_rows_portable(inp, Int32(N), Int32(C), weight, bias, out, Int32(OC), o0, o1)
            } else {
                kb_gemm_nt_rows(inp, Int32(N), Int32(C), weight, bias, out, Int32(OC), o0, o1)
            }
        }
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
            sgemmSplit(transA: false, transB: false, m: N, n: C, k: OC,
                       a: dout, lda: OC, b: weight, ldb: C, beta: 1, c: dinp, ldc: C)
        }
        sgemmSplit(transA: true, transB: false, m: OC, n: C, k: N,
                   a: dout, lda: OC, b: inp, ldb: C, beta: 1, c: dweight, ldc: C)
        if let dbias { biasBackward(dbias: dbias, dout: dout, N: N, OC: OC) }
    }

    /// The bias part of `backward`: dbias += Σ_rows dout, columns split across the cores, each
    /// summed over rows in order (the same sums as one thread would make).
    /// The loop is C (`kb_bias_grad`, AVX2 where the CPU has it; the same bits either way).
    public static func biasBackward(dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, N: Int, OC: Int,
                                    portable: Bool = false) {
        parallelFor(OC, minChunk: max(32, 65536 / max(N, 1))) { cols in
            if portable {
                kb_bias_grad_portable(dbias, dout, N, OC, cols.lowerBound, cols.upperBound)
            } else {
                kb_bias_grad(dbias, dout, N, OC, cols.lowerBound, cols.upperBound)
            }
        }
    }
}
