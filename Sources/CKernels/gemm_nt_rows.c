#include "CKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KB_X86 1
#endif

void kb_gemm_nt_rows_portable(const float *X, int M, int C, const float *W, const float *bias,
                              float *Y, int ldy, int o0, int o1) {
    for (int m = 0; m < M; m++) {
        const float *x = X + (long)m * C;
        for (int o = o0; o < o1; o++) {
            const float *w = W + (long)o * C;
            float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int c = 0;
            for (; c + 8 <= C; c += 8)
                for (int l = 0; l < 8; l++) lane[l] += x[c + l] * w[c + l];
            float sum = ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
            for (; c < C; c++) sum += x[c] * w[c];
            Y[(long)m * ldy + o] = sum + (bias ? bias[o] : 0.0f);
        }
    }
}

#ifdef KB_X86
#define KB_AVX2 __attribute__((target("avx2,fma")))

KB_AVX2 static inline float kb_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Scalar tail of the dot products of rows x[0..<R) with w[0..<4) over c in [c0, C).
static inline float kb_tail(const float *x, const float *w, int c0, int C) {
    float s = 0;
    for (int c = c0; c < C; c++) s += x[c] * w[c];
    return s;
}

KB_AVX2 static void kb_gemm_nt_rows_avx2(const float *X, int M, int C, const float *W, const float *bias,
                                         float *Y, int ldy, int o0, int o1) {
    const int C8 = C & ~7;
    int o = o0;
    // Four weight rows at a time (12 KB for C = 768: they stay in L1 while every block of three
    // input rows passes over them), 3 x 4 accumulators.
    for (; o + 4 <= o1; o += 4) {
        const float *w0 = W + (long)o * C, *w1 = w0 + C, *w2 = w1 + C, *w3 = w2 + C;
        float b[4] = {0, 0, 0, 0};
        if (bias) { b[0] = bias[o]; b[1] = bias[o + 1]; b[2] = bias[o + 2]; b[3] = bias[o + 3]; }
        int m = 0;
        for (; m + 3 <= M; m += 3) {
            const float *x0 = X + (long)m * C, *x1 = x0 + C, *x2 = x1 + C;
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
            __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            __m256 a20 = a00, a21 = a00, a22 = a00, a23 = a00;
            for (int c = 0; c < C8; c += 8) {
                __m256 v0 = _mm256_loadu_ps(w0 + c), v1 = _mm256_loadu_ps(w1 + c);
                __m256 v2 = _mm256_loadu_ps(w2 + c), v3 = _mm256_loadu_ps(w3 + c);
                __m256 u = _mm256_loadu_ps(x0 + c);
                a00 = _mm256_fmadd_ps(u, v0, a00); a01 = _mm256_fmadd_ps(u, v1, a01);
                a02 = _mm256_fmadd_ps(u, v2, a02); a03 = _mm256_fmadd_ps(u, v3, a03);
                u = _mm256_loadu_ps(x1 + c);
                a10 = _mm256_fmadd_ps(u, v0, a10); a11 = _mm256_fmadd_ps(u, v1, a11);
                a12 = _mm256_fmadd_ps(u, v2, a12); a13 = _mm256_fmadd_ps(u, v3, a13);
                u = _mm256_loadu_ps(x2 + c);
                a20 = _mm256_fmadd_ps(u, v0, a20); a21 = _mm256_fmadd_ps(u, v1, a21);
                a22 = _mm256_fmadd_ps(u, v2, a22); a23 = _mm256_fmadd_ps(u, v3, a23);
            }
            float *y = Y + (long)m * ldy + o;
            y[0] = kb_hsum(a00) + kb_tail(x0, w0, C8, C) + b[0];
            y[1] = kb_hsum(a01) + kb_tail(x0, w1, C8, C) + b[1];
            y[2] = kb_hsum(a02) + kb_tail(x0, w2, C8, C) + b[2];
            y[3] = kb_hsum(a03) + kb_tail(x0, w3, C8, C) + b[3];
            y += ldy;
            y[0] = kb_hsum(a10) + kb_tail(x1, w0, C8, C) + b[0];
            y[1] = kb_hsum(a11) + kb_tail(x1, w1, C8, C) + b[1];
            y[2] = kb_hsum(a12) + kb_tail(x1, w2, C8, C) + b[2];
            y[3] = kb_hsum(a13) + kb_tail(x1, w3, C8, C) + b[3];
            y += ldy;
            y[0] = kb_hsum(a20) + kb_tail(x2, w0, C8, C) + b[0];
            y[1] = kb_hsum(a21) + kb_tail(x2, w1, C8, C) + b[1];
            y[2] = kb_hsum(a22) + kb_tail(x2, w2, C8, C) + b[2];
            y[3] = kb_hsum(a23) + kb_tail(x2, w3, C8, C) + b[3];
        }
        for (; m < M; m++) {
            const float *x0 = X + (long)m * C;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int c = 0; c < C8; c += 8) {
                __m256 u = _mm256_loadu_ps(x0 + c);
                a0 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w0 + c), a0);
                a1 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w1 + c), a1);
                a2 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w2 + c), a2);
                a3 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w3 + c), a3);
            }
            float *y = Y + (long)m * ldy + o;
            y[0] = kb_hsum(a0) + kb_tail(x0, w0, C8, C) + b[0];
            y[1] = kb_hsum(a1) + kb_tail(x0, w1, C8, C) + b[1];
            y[2] = kb_hsum(a2) + kb_tail(x0, w2, C8, C) + b[2];
            y[3] = kb_hsum(a3) + kb_tail(x0, w3, C8, C) + b[3];
        }
    }
    for (; o < o1; o++) {  // the last OC % 4 outputs
        const float *w0 = W + (long)o * C;
        for (int m = 0; m < M; m++) {
            const float *x0 = X + (long)m * C;
            __m256 a0 = _mm256_setzero_ps();
            for (int c = 0; c < C8; c += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x0 + c), _mm256_loadu_ps(w0 + c), a0);
            Y[(long)m * ldy + o] = kb_hsum(a0) + kb_tail(x0, w0, C8, C) + (bias ? bias[o] : 0.0f);
        }
    }
}
#endif

int kb_gemm_nt_fast(void) {
#ifdef KB_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

void kb_gemm_nt_rows(const float *X, int M, int C, const float *W, const float *bias,
                     float *Y, int ldy, int o0, int o1) {
#ifdef KB_X86
    if (kb_gemm_nt_fast()) {
        kb_gemm_nt_rows_avx2(X, M, C, W, bias, Y, ldy, o0, o1);
        return;
    }
#endif
    kb_gemm_nt_rows_portable(X, M, C, W, bias, Y, ldy, o0, o1);
}
