import CKernels

/// Layer normalization over the last dimension (C), as `torch.nn.LayerNorm`. The row loops are C
/// (`kb_layernorm_forward`, `kb_layernorm_backward`: AVX2 where the CPU has it; `portable` forces
/// the portable loop, for tests).
public enum LayerNorm {
    /// out = (inp - mean) * rstd * weight + bias, per row of `inp` [N, C].
    /// Saves `mean` [N] and `rstd` [N] (1 / sqrt(var + eps), biased variance) for the backward pass.
    public static func forward(
        out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        N: Int, C: Int, eps: Float, portable: Bool = false
    ) {
        parallelFor(N, minChunk: max(1, 65536 / max(C, 1))) { rows in
            if portable {
                kb_layernorm_forward_portable(out, mean, rstd, inp, weight, bias, rows.lowerBound, rows.upperBound, Int32(C), eps)
            } else {
                kb_layernorm_forward(out, mean, rstd, inp, weight, bias, rows.lowerBound, rows.upperBound, Int32(C), eps)
            }
        }
    }

    /// Accumulates the gradients of `forward` into `dinp`, `dweight`, `dbias`.
    ///
    /// With x̂ = (x - mean) * rstd and y = x̂ * w + b:
    /// dw += Σ_rows dy * x̂, db += Σ_rows dy, and with g = dy * w,
    /// dx += rstd * (g - mean(g) - x̂ * mean(g * x̂)).
    public static func backward(
        dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>,
        dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        N: Int, C: Int, portable: Bool = false
    ) {
        // dinp rows are independent: parallel over rows (C: `kb_layernorm_backward`).
        parallelFor(N, minChunk: max(1, 65536 / max(C, 1))) { rows in
            if portable {
                kb_layernorm_backward_portable(dinp, dout, inp, weight, mean, rstd, rows.lowerBound, rows.upperBound, Int32(C))
            } else {
                kb_layernorm_backward(dinp, dout, inp, weight, mean, rstd, rows.lowerBound, rows.upperBound, Int32(C))
            }
        }
        // dweight/dbias: columns split across the cores, each column summed over rows in order
        // (the same sums as one thread would make).
        parallelFor(C, minChunk: max(16, 65536 / max(N, 1))) { cols in
            if portable {
                kb_layernorm_param_grad_portable(dweight, dbias, dout, inp, mean, rstd, N, C, cols.lowerBound, cols.upperBound)
            } else {
                kb_layernorm_param_grad(dweight, dbias, dout, inp, mean, rstd, N, C, cols.lowerBound, cols.upperBound)
            }
        }
    }
}
