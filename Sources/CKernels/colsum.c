#include "CKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KB_X86 1
#define KB_AVX2 __attribute__((target("avx2,fma")))
#endif

// Column sums over rows in row order, for columns [c0, c1): each column's additions happen in the
// same order on both paths (no reassociation, no fused multiply-add), so they agree bit for bit.

void kb_bias_grad_portable(float *dbias, const float *dout, long N, long ld, long c0, long c1) {
    for (long n = 0; n < N; n++) {
        const float *row = dout + n * ld;
        for (long c = c0; c < c1; c++) dbias[c] += row[c];
    }
}

void kb_layernorm_param_grad_portable(float *dweight, float *dbias, const float *dout, const float *inp,
                                      const float *mean, const float *rstd, long N, long C, long c0, long c1) {
    for (long n = 0; n < N; n++) {
        const float *x = inp + n * C, *dy = dout + n * C;
        float m = mean[n], s = rstd[n];
        for (long c = c0; c < c1; c++) {
            float xh = x[c] - m;
            float t = dy[c] * xh;
            dweight[c] += t * s;
            dbias[c] += dy[c];
        }
    }
}

#ifdef KB_X86
KB_AVX2 static void kb_bias_grad_avx2(float *dbias, const float *dout, long N, long ld, long c0, long c1) {
    long c = c0;
    // 32 columns at a time in registers over all rows, then 8, then the tail.
    for (; c + 32 <= c1; c += 32) {
        __m256 a0 = _mm256_loadu_ps(dbias + c), a1 = _mm256_loadu_ps(dbias + c + 8);
        __m256 a2 = _mm256_loadu_ps(dbias + c + 16), a3 = _mm256_loadu_ps(dbias + c + 24);
        for (long n = 0; n < N; n++) {
            const float *row = dout + n * ld + c;
            a0 = _mm256_add_ps(a0, _mm256_loadu_ps(row));
            a1 = _mm256_add_ps(a1, _mm256_loadu_ps(row + 8));
            a2 = _mm256_add_ps(a2, _mm256_loadu_ps(row + 16));
            a3 = _mm256_add_ps(a3, _mm256_loadu_ps(row + 24));
        }
        _mm256_storeu_ps(dbias + c, a0); _mm256_storeu_ps(dbias + c + 8, a1);
        _mm256_storeu_ps(dbias + c + 16, a2); _mm256_storeu_ps(dbias + c + 24, a3);
    }
    for (; c + 8 <= c1; c += 8) {
        __m256 a = _mm256_loadu_ps(dbias + c);
        for (long n = 0; n < N; n++) a = _mm256_add_ps(a, _mm256_loadu_ps(dout + n * ld + c));
        _mm256_storeu_ps(dbias + c, a);
    }
    if (c < c1) kb_bias_grad_portable(dbias, dout, N, ld, c, c1);
}

KB_AVX2 static void kb_layernorm_param_grad_avx2(float *dweight, float *dbias, const float *dout, const float *inp,
                                                 const float *mean, const float *rstd, long N, long C, long c0, long c1) {
    long c = c0;
    for (; c + 16 <= c1; c += 16) {
        __m256 w0 = _mm256_loadu_ps(dweight + c), w1 = _mm256_loadu_ps(dweight + c + 8);
        __m256 b0 = _mm256_loadu_ps(dbias + c), b1 = _mm256_loadu_ps(dbias + c + 8);
        for (long n = 0; n < N; n++) {
            const float *x = inp + n * C + c, *dy = dout + n * C + c;
            __m256 m = _mm256_set1_ps(mean[n]), s = _mm256_set1_ps(rstd[n]);
            __m256 d0 = _mm256_loadu_ps(dy), d1 = _mm256_loadu_ps(dy + 8);
            w0 = _mm256_add_ps(w0, _mm256_mul_ps(_mm256_mul_ps(d0, _mm256_sub_ps(_mm256_loadu_ps(x), m)), s));
            w1 = _mm256_add_ps(w1, _mm256_mul_ps(_mm256_mul_ps(d1, _mm256_sub_ps(_mm256_loadu_ps(x + 8), m)), s));
            b0 = _mm256_add_ps(b0, d0);
            b1 = _mm256_add_ps(b1, d1);
        }
        _mm256_storeu_ps(dweight + c, w0); _mm256_storeu_ps(dweight + c + 8, w1);
        _mm256_storeu_ps(dbias + c, b0); _mm256_storeu_ps(dbias + c + 8, b1);
    }
    if (c < c1) kb_layernorm_param_grad_portable(dweight, dbias, dout, inp, mean, rstd, N, C, c, c1);
}
#endif

void kb_bias_grad(float *dbias, const float *dout, long N, long ld, long c0, long c1) {
#ifdef KB_X86
    if (kb_gemm_nt_fast()) { kb_bias_grad_avx2(dbias, dout, N, ld, c0, c1); return; }
#endif
    kb_bias_grad_portable(dbias, dout, N, ld, c0, c1);
}

void kb_layernorm_param_grad(float *dweight, float *dbias, const float *dout, const float *inp,
                             const float *mean, const float *rstd, long N, long C, long c0, long c1) {
#ifdef KB_X86
    if (kb_gemm_nt_fast()) { kb_layernorm_param_grad_avx2(dweight, dbias, dout, inp, mean, rstd, N, C, c0, c1); return; }
#endif
    kb_layernorm_param_grad_portable(dweight, dbias, dout, inp, mean, rstd, N, C, c0, c1);
}
