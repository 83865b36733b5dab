// Small C kernels that Swift cannot vectorize without CPU-specific compiler flags (which a package
// that others depend on may not set): picked at run time by what the CPU supports.
#ifndef CKERNELS_H
#define CKERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when `kb_gemm_nt_rows` runs its AVX2 + FMA kernel on this CPU, else 0 (it still works, on a
/// portable loop, but BLAS is then the faster choice).
int kb_gemm_nt_fast(void);

/// Y[m, o] = bias[o] + sum_c X[m, c] * W[o, c] for m in [0, M), o in [o0, o1): a fully connected
/// layer with PyTorch's weight layout, for few rows (M small), where BLAS spends its time packing
/// the weight matrix. W is read straight from its [OC, C] rows (no copy); bias may be NULL.
/// X is [M, C] with row stride C; Y has row stride ldy. Each output is one dot product, summed in
/// 8 interleaved lanes and then added up: the order differs from BLAS's, the value agrees to float
/// rounding.
void kb_gemm_nt_rows(const float *X, int M, int C, const float *W, const float *bias,
                     float *Y, int ldy, int o0, int o1);

/// The portable loop of `kb_gemm_nt_rows`, callable directly so tests cover it on any CPU.
void kb_gemm_nt_rows_portable(const float *X, int M, int C, const float *W, const float *bias,
                              float *Y, int ldy, int o0, int o1);

/// Sum of x[i]^2 over [0, n), in double (8 interleaved partial sums, added in a fixed order).
double kb_sum_squares(const float *x, long n);

/// One AdamW step (torch.optim.AdamW's formula) over [0, n):
///   g = grad * grad_scale; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
///   p = p * decay - step_size * m / (sqrt(v) / bc2_sqrt + eps)
void kb_adamw(float *p, const float *grad, float *m, float *v, long n, float grad_scale,
              float b1, float b2, float eps, float decay, float step_size, float bc2_sqrt);

/// Exact-erf GELU, out = 0.5 x (1 + erf(x / sqrt 2)), with erf to 3e-7 absolute (Abramowitz &
/// Stegun 7.1.28 in double precision); and its backward, dinp = dout (Phi(x) + x phi(x)) (writes;
/// dinp may alias dout), with phi's exponential to 2e-7 relative.
void kb_gelu_forward(float *out, const float *inp, long n);
void kb_gelu_backward(float *dinp, const float *dout, const float *inp, long n);
void kb_gelu_forward_portable(float *out, const float *inp, long n);
void kb_gelu_backward_portable(float *dinp, const float *dout, const float *inp, long n);

/// The portable loops of `kb_sum_squares` and `kb_adamw` (used where the CPU lacks AVX2), callable
/// directly so tests cover them on any CPU.
double kb_sum_squares_portable(const float *x, long n);
void kb_adamw_portable(float *p, const float *grad, float *m, float *v, long n, float grad_scale,
                       float b1, float b2, float eps, float decay, float step_size, float bc2_sqrt);

#ifdef __cplusplus
}
#endif
#endif
