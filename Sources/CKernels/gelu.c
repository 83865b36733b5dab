#include "CKernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KB_X86 1
#define KB_AVX2 __attribute__((target("avx2,fma")))
#endif

// erf to within 3e-7 absolute (Abramowitz & Stegun 7.1.28), evaluated in double: the 16th power
// would amplify float rounding to 2e-6.
static inline float kb_erf(float x) {
    double t = fabs((double)x);
    double p = 1 + t * (0.0705230784 + t * (0.0422820123 + t * (0.0092705272
             + t * (0.0001520143 + t * (0.0002765672 + t * 0.0000430638)))));
    double p2 = p * p, p4 = p2 * p2, p8 = p4 * p4;
    return copysignf((float)(1 - 1 / (p8 * p8)), x);
}

// e^y for y <= 0 to about 2e-7 relative: y = n ln2 + r, e^r by its degree-6 Taylor polynomial,
// 2^n in the exponent bits; clamped at -87.
static inline float kb_exp_nonpositive(float y) {
    y = fminf(0, fmaxf(-87, y));
    float m = y * 1.442695041f + 12582912.0f;
    float n = m - 12582912.0f;
    float r = (y - n * 0.693145752f) - n * 1.428606820e-6f;
    float p = 1 + r * (1 + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    uint32_t mb;
    memcpy(&mb, &m, 4);
    uint32_t e = (mb - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &e, 4);
    return p * scale;
}

#define KB_INV_SQRT2 0.70710678118654752f
#define KB_INV_SQRT2PI 0.39894228040143268f

void kb_gelu_forward_portable(float *out, const float *inp, long n) {
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1 + kb_erf(x * KB_INV_SQRT2));
    }
}

void kb_gelu_backward_portable(float *dinp, const float *dout, const float *inp, long n) {
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        float cdf = 0.5f * (1 + kb_erf(x * KB_INV_SQRT2));
        float pdf = KB_INV_SQRT2PI * kb_exp_nonpositive(-0.5f * x * x);
        dinp[i] = dout[i] * (cdf + x * pdf);
    }
}

#ifdef KB_X86
// Four lanes of kb_erf: the polynomial in double, the result back in float.
KB_AVX2 static inline __m128 kb_erf4(__m128 x) {
    const __m128 signMask = _mm_set1_ps(-0.0f);
    __m256d t = _mm256_cvtps_pd(_mm_andnot_ps(signMask, x));
    __m256d p = _mm256_set1_pd(0.0000430638);
    p = _mm256_add_pd(_mm256_mul_pd(p, t), _mm256_set1_pd(0.0002765672));
    p = _mm256_add_pd(_mm256_mul_pd(p, t), _mm256_set1_pd(0.0001520143));
    p = _mm256_add_pd(_mm256_mul_pd(p, t), _mm256_set1_pd(0.0092705272));
    p = _mm256_add_pd(_mm256_mul_pd(p, t), _mm256_set1_pd(0.0422820123));
    p = _mm256_add_pd(_mm256_mul_pd(p, t), _mm256_set1_pd(0.0705230784));
    p = _mm256_add_pd(_mm256_mul_pd(p, t), _mm256_set1_pd(1.0));
    __m256d p2 = _mm256_mul_pd(p, p), p4 = _mm256_mul_pd(p2, p2), p8 = _mm256_mul_pd(p4, p4);
    __m256d e = _mm256_sub_pd(_mm256_set1_pd(1.0), _mm256_div_pd(_mm256_set1_pd(1.0), _mm256_mul_pd(p8, p8)));
    __m128 magnitude = _mm256_cvtpd_ps(e);
    return _mm_or_ps(magnitude, _mm_and_ps(signMask, x));
}

KB_AVX2 static inline __m128 kb_exp_nonpositive4(__m128 y) {
    y = _mm_min_ps(_mm_setzero_ps(), _mm_max_ps(_mm_set1_ps(-87.0f), y));
    __m128 m = _mm_add_ps(_mm_mul_ps(y, _mm_set1_ps(1.442695041f)), _mm_set1_ps(12582912.0f));
    __m128 n = _mm_sub_ps(m, _mm_set1_ps(12582912.0f));
    __m128 r = _mm_sub_ps(_mm_sub_ps(y, _mm_mul_ps(n, _mm_set1_ps(0.693145752f))), _mm_mul_ps(n, _mm_set1_ps(1.428606820e-6f)));
    __m128 p = _mm_set1_ps(1.0f / 720);
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 120));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 24));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 6));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(0.5f));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f));
    __m128i e = _mm_slli_epi32(_mm_add_epi32(_mm_sub_epi32(_mm_castps_si128(m), _mm_set1_epi32(0x4B400000)), _mm_set1_epi32(127)), 23);
    return _mm_mul_ps(p, _mm_castsi128_ps(e));
}

KB_AVX2 static void kb_gelu_forward_avx2(float *out, const float *inp, long n) {
    long i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 x = _mm_loadu_ps(inp + i);
        __m128 erf = kb_erf4(_mm_mul_ps(x, _mm_set1_ps(KB_INV_SQRT2)));
        _mm_storeu_ps(out + i, _mm_mul_ps(_mm_mul_ps(_mm_set1_ps(0.5f), x), _mm_add_ps(_mm_set1_ps(1.0f), erf)));
    }
    kb_gelu_forward_portable(out + i, inp + i, n - i);
}

KB_AVX2 static void kb_gelu_backward_avx2(float *dinp, const float *dout, const float *inp, long n) {
    long i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 x = _mm_loadu_ps(inp + i);
        __m128 cdf = _mm_mul_ps(_mm_set1_ps(0.5f), _mm_add_ps(_mm_set1_ps(1.0f), kb_erf4(_mm_mul_ps(x, _mm_set1_ps(KB_INV_SQRT2)))));
        __m128 pdf = _mm_mul_ps(_mm_set1_ps(KB_INV_SQRT2PI),
                                kb_exp_nonpositive4(_mm_mul_ps(_mm_mul_ps(_mm_set1_ps(-0.5f), x), x)));
        _mm_storeu_ps(dinp + i, _mm_mul_ps(_mm_loadu_ps(dout + i), _mm_add_ps(cdf, _mm_mul_ps(x, pdf))));
    }
    kb_gelu_backward_portable(dinp + i, dout + i, inp + i, n - i);
}
#endif

void kb_gelu_forward(float *out, const float *inp, long n) {
#ifdef KB_X86
    if (kb_gemm_nt_fast()) { kb_gelu_forward_avx2(out, inp, n); return; }
#endif
    kb_gelu_forward_portable(out, inp, n);
}

void kb_gelu_backward(float *dinp, const float *dout, const float *inp, long n) {
#ifdef KB_X86
    if (kb_gemm_nt_fast()) { kb_gelu_backward_avx2(dinp, dout, inp, n); return; }
#endif
    kb_gelu_backward_portable(dinp, dout, inp, n);
}
