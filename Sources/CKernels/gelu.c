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
#include "exp8.h"

// Eight lanes in float. With z = |x| / √2, E = e^{-z²} = e^{-x²/2} and t = 1 / (1 + 0.3275911 z),
// Abramowitz & Stegun 7.1.26 gives erfc(z) = t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) E to 1.5e-7
// absolute; Φ(x) = erfc(z) / 2 for x < 0 and 1 - erfc(z) / 2 otherwise (no cancellation in the
// negative tail), and φ(x) = E / √(2π) reuses the same exponential.

// Φ(x) and e^{-x²/2} in eight lanes.
KB_AVX2 static inline __m256 kb_cdf8(__m256 x, __m256 *E) {
    const __m256 signMask = _mm256_set1_ps(-0.0f);
    __m256 z = _mm256_mul_ps(_mm256_andnot_ps(signMask, x), _mm256_set1_ps(KB_INV_SQRT2));
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(z, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.0f)));
    __m256 poly = _mm256_set1_ps(1.061405429f);
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-1.453152027f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(1.421413741f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-0.284496736f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(0.254829592f));
    *E = kb_exp_nonpositive8(_mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(-0.5f), x), x));
    __m256 halfErfc = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), _mm256_mul_ps(poly, t)), *E);
    __m256 negative = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    return _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), halfErfc), halfErfc, negative);
}

KB_AVX2 static void kb_gelu_forward_avx2(float *out, const float *inp, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(inp + i), E;
        _mm256_storeu_ps(out + i, _mm256_mul_ps(x, kb_cdf8(x, &E)));
    }
    if (i < n) {  // the tail through the same code, via a padded copy
        float tail[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (long j = i; j < n; j++) tail[j - i] = inp[j];
        __m256 x = _mm256_loadu_ps(tail), E;
        _mm256_storeu_ps(tail, _mm256_mul_ps(x, kb_cdf8(x, &E)));
        for (long j = i; j < n; j++) out[j] = tail[j - i];
    }
}

KB_AVX2 static inline __m256 kb_gelu_grad8(__m256 x) {
    __m256 E, cdf = kb_cdf8(x, &E);
    return _mm256_fmadd_ps(x, _mm256_mul_ps(_mm256_set1_ps(KB_INV_SQRT2PI), E), cdf);
}

KB_AVX2 static void kb_gelu_backward_avx2(float *dinp, const float *dout, const float *inp, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dinp + i, _mm256_mul_ps(_mm256_loadu_ps(dout + i), kb_gelu_grad8(_mm256_loadu_ps(inp + i))));
    if (i < n) {
        float tail[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (long j = i; j < n; j++) tail[j - i] = inp[j];
        _mm256_storeu_ps(tail, kb_gelu_grad8(_mm256_loadu_ps(tail)));
        for (long j = i; j < n; j++) dinp[j] = dout[j] * tail[j - i];
    }
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
