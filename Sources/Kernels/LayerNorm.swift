/// Layer normalization over the last dimension (C), as `torch.nn.LayerNorm`.
public enum LayerNorm {
    /// out = (inp - mean) * rstd * weight + bias, per row of `inp` [N, C].
    /// Saves `mean` [N] and `rstd` [N] (1 / sqrt(var + eps), biased variance) for the backward pass.
    public static func forward(
        out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        N: Int, C: Int, eps: Float
    ) {
        parallelFor(N, minChunk: max(1, 65536 / max(C, 1))) { rows in
            for n in rows {
                let x = inp + n * C
                var sum: Float = 0
                for c in 0..<C { sum += x[c] }
                let m = sum / Float(C)
                var sq: Float = 0
                for c in 0..<C { let d = x[c] - m; sq += d * d }
                let s = 1 / (sq / Float(C) + eps).squareRoot()
                let y = out + n * C
                for c in 0..<C { y[c] = (x[c] - m) * s * weight[c] + bias[c] }
                mean[n] = m
                rstd[n] = s
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
        N: Int, C: Int
    ) {
        // dinp rows are independent: parallel over rows.
        parallelFor(N, minChunk: max(1, 65536 / max(C, 1))) { rows in
            for n in rows {
                let x = inp + n * C, dy = dout + n * C, dx = dinp + n * C
                let m = mean[n], s = rstd[n]
                var meanG: Float = 0, meanGX: Float = 0
                for c in 0..<C {
                    let g = dy[c] * weight[c]
                    meanG += g
                    meanGX += g * (x[c] - m) * s
                }
                meanG /= Float(C)
                meanGX /= Float(C)
                for c in 0..<C {
                    let xh = (x[c] - m) * s
                    dx[c] += s * (dy[c] * weight[c] - meanG - xh * meanGX)
                }
            }
        }
        // dweight/dbias: columns split across the cores, each column summed over rows in order
        // (the same sums as one thread would make).
        parallelFor(C, minChunk: max(16, 65536 / max(N, 1))) { cols in
            for n in 0..<N {
                let x = inp + n * C, dy = dout + n * C
                let m = mean[n], s = rstd[n]
                for c in cols {
                    dweight[c] += dy[c] * (x[c] - m) * s
                    dbias[c] += dy[c]
                }
            }
        }
    }
}
