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

#ifdef __cplusplus
}
#endif
#endif
