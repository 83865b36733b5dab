#include "CKernels.h"
#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KB_X86 1
#define KB_AVX2 __attribute__((target("avx2,fma")))
#endif

double kb_sum_squares_portable(const float *x, long n) {
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) s[l] += (double)x[i + l] * (double)x[i + l];
    double total = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; i < n; i++) total += (double)x[i] * (double)x[i];
    return total;
}

void kb_adamw_portable(float *p, const float *grad, float *m, float *v, long n, float grad_scale,
                              float b1, float b2, float eps, float decay, float step_size, float bc2_sqrt) {
    for (long i = 0; i < n; i++) {
        float g = grad[i] * grad_scale;
        float mi = b1 * m[i] + (1 - b1) * g;
        float vi = b2 * v[i] + (1 - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
    }
}

#ifdef KB_X86
KB_AVX2 static double kb_sum_squares_avx2(const float *x, long n) {
    __m256d s0 = _mm256_setzero_pd(), s1 = s0;  // lanes 0-3 and 4-7 of each group of 8
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 f = _mm256_loadu_ps(x + i);
        __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(f)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1));
        s0 = _mm256_fmadd_pd(lo, lo, s0);
        s1 = _mm256_fmadd_pd(hi, hi, s1);
    }
    double a[4], b[4];
    _mm256_storeu_pd(a, s0);
    _mm256_storeu_pd(b, s1);
    double total = ((a[0] + b[0]) + (a[1] + b[1])) + ((a[2] + b[2]) + (a[3] + b[3]));
    for (; i < n; i++) total += (double)x[i] * (double)x[i];
    return total;
}

KB_AVX2 static void kb_adamw_avx2(float *p, const float *grad, float *m, float *v, long n, float grad_scale,
                                  float b1, float b2, float eps, float decay, float step_size, float bc2_sqrt) {
    const __m256 gs = _mm256_set1_ps(grad_scale), B1 = _mm256_set1_ps(b1), B2 = _mm256_set1_ps(b2);
    const __m256 nB1 = _mm256_set1_ps(1 - b1), nB2 = _mm256_set1_ps(1 - b2), E = _mm256_set1_ps(eps);
    const __m256 D = _mm256_set1_ps(decay), S = _mm256_set1_ps(step_size), BC = _mm256_set1_ps(bc2_sqrt);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_mul_ps(_mm256_loadu_ps(grad + i), gs);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(B1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(nB1, g));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(B2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(nB2, g), g));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), BC), E);
        __m256 upd = _mm256_div_ps(_mm256_mul_ps(S, mi), denom);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(p + i), D), upd));
    }
    kb_adamw_portable(p + i, grad + i, m + i, v + i, n - i, grad_scale, b1, b2, eps, decay, step_size, bc2_sqrt);
}
#endif

double kb_sum_squares(const float *x, long n) {
#ifdef KB_X86
    if (kb_gemm_nt_fast()) return kb_sum_squares_avx2(x, n);
#endif
    return kb_sum_squares_portable(x, n);
}

void kb_adamw(float *p, const float *grad, float *m, float *v, long n, float grad_scale,
              float b1, float b2, float eps, float decay, float step_size, float bc2_sqrt) {
#ifdef KB_X86
    if (kb_gemm_nt_fast()) {
        kb_adamw_avx2(p, grad, m, v, n, grad_scale, b1, b2, eps, decay, step_size, bc2_sqrt);
        return;
    }
#endif
    kb_adamw_portable(p, grad, m, v, n, grad_scale, b1, b2, eps, decay, step_size, bc2_sqrt);
}
