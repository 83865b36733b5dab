// Small C kernels that Swift cannot vectorize without CPU-specific compiler flags (which a package
// that others depend on may not set): picked at run time by what the CPU supports.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stdint.h>

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

/// Exact-erf GELU, out = 0.5 x (1 + erf(x / sqrt 2)); and its backward, dinp = dout (Phi(x) + x phi(x))
/// (writes; dinp may alias dout). AVX2: 8 float lanes, Phi from Abramowitz & Stegun 7.1.26 (erfc
/// as polynomial times e^{-x^2/2}, 1.5e-7 absolute), the exponential to 2e-7 relative. Portable:
/// erf to 3e-7 absolute (A&S 7.1.28 in double precision), phi's exponential to 2e-7 relative.
void kb_gelu_forward(float *out, const float *inp, long n);
void kb_gelu_backward(float *dinp, const float *dout, const float *inp, long n);
void kb_gelu_forward_portable(float *out, const float *inp, long n);
void kb_gelu_backward_portable(float *dinp, const float *dout, const float *inp, long n);

/// The portable loops of `kb_sum_squares` and `kb_adamw` (used where the CPU lacks AVX2), callable
/// directly so tests cover them on any CPU.
double kb_sum_squares_portable(const float *x, long n);
void kb_adamw_portable(float *p, const float *grad, float *m, float *v, long n, float grad_scale,
                       float b1, float b2, float eps, float decay, float step_size, float bc2_sqrt);

/// Inverted dropout with DropoutSite's counter-based mask (Sources/Kernels/Dropout.swift), bit for
/// bit: out[i] = (kept(offset + i) ? inp[i] * scale : 0) + (res ? res[i] : 0), where element j is
/// kept when the top 24 bits of mix64(key + j * 0xD1B54A32D192ED03) / 2^24 >= p. `out` may alias
/// `inp` or `res`. AVX2 (the 64-bit multiplies emulated) where the CPU has it.
void kb_dropout(float *out, const float *inp, const float *res, long n, uint64_t key, long offset, float p, float scale);
void kb_dropout_portable(float *out, const float *inp, const float *res, long n, uint64_t key, long offset,
                         float p, float scale);

/// One (sequence, head) block of masked self-attention in one pass (no BLAS call): for the Lq
/// query rows t, P[t, :L] = softmax(scale · q_t kᵀ); with Pd non-NULL, Pd[t] = dropout of P[t]
/// (kb_dropout with offset + t · offsetStride); out_t = Σ_j A[t, j] v_j with A = Pd or P. q, k, v
/// rows have stride ld, P and Pd rows ldp, out rows ldo. The exponential is expf on the portable
/// path, a polynomial to 2e-7 relative on the AVX2 one. `portable` forces the portable path.
void kb_attention_forward(const float *q, const float *k, const float *v, long ld, int L, int Lq, int HS, float scale,
                          float *P, float *Pd, long ldp, float *out, long ldo,
                          uint64_t key, long offset, long offsetStride, float p, float keepScale, int portable);

/// Its backward, accumulating into dq (Lq rows), dk and dv (L rows), stride ld: with A the
/// probabilities the forward multiplied v by (dropped out when `dropped`) and P before dropout,
/// dA = dout vᵀ, dv += Aᵀ dout, dP = dA · keepScale where A != 0 (when dropped),
/// dS = P ⊙ (dP - Σ_j P dP) · scale, dq += dS k, dk += dSᵀ q. dP (rows ldp) is scratch.
void kb_attention_backward(const float *q, const float *k, const float *v, float *dq, float *dk, float *dv, long ld,
                           int L, int Lq, int HS, float scale, const float *P, const float *A, float *dP, long ldp,
                           const float *dout, long ldo, int dropped, float keepScale, int portable);

/// LayerNorm over rows [n0, n1) of inp [N, C] (torch.nn.LayerNorm): out = (x - mean) rstd w + b,
/// saving mean and rstd = 1 / sqrt(biased var + eps); and the input gradient of its backward,
/// accumulated: with g = dy w and x^ = (x - mean) rstd, dinp += rstd (g - mean(g) - x^ mean(g x^)).
/// Row sums in 8 lanes (AVX2 where the CPU has it).
void kb_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                          long n0, long n1, int C, float eps);
void kb_layernorm_backward(float *dinp, const float *dout, const float *inp, const float *w,
                           const float *mean, const float *rstd, long n0, long n1, int C);
void kb_layernorm_forward_portable(float *out, float *mean, float *rstd, const float *inp, const float *w,
                                   const float *b, long n0, long n1, int C, float eps);
void kb_layernorm_backward_portable(float *dinp, const float *dout, const float *inp, const float *w,
                                    const float *mean, const float *rstd, long n0, long n1, int C);

/// dbias[c] += sum over rows n of dout[n * ld + c], for c in [c0, c1), rows added in order: a
/// fully connected layer's bias gradient. And LayerNorm's parameter gradients over rows [0, N):
/// dweight[c] += dy (x - mean) rstd, dbias[c] += dy. Both paths give the same bits (same order, no
/// fused multiply-add); AVX2 where the CPU has it.
void kb_bias_grad(float *dbias, const float *dout, long N, long ld, long c0, long c1);
void kb_bias_grad_portable(float *dbias, const float *dout, long N, long ld, long c0, long c1);
void kb_layernorm_param_grad(float *dweight, float *dbias, const float *dout, const float *inp,
                             const float *mean, const float *rstd, long N, long C, long c0, long c1);
void kb_layernorm_param_grad_portable(float *dweight, float *dbias, const float *dout, const float *inp,
                                      const float *mean, const float *rstd, long N, long C, long c0, long c1);

#ifdef __cplusplus
}
#endif
#endif
