#include "CKernels.h"
#include <math.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KB_X86 1
#define KB_AVX2 __attribute__((target("avx2,fma")))
#endif

// The mask is DropoutSite.keeps (Sources/Kernels/Dropout.swift): element `index` is kept when the
// top 24 bits of mix64(key + index * K1) (SplitMix64's finalizer), as a fraction of 2^24, are at
// least p. u24 * 2^-24 >= p is exact in float, so it is the integer test u24 >= ceil(p * 2^24).
#define KB_K1 0xD1B54A32D192ED03ull
#define KB_GOLDEN 0x9E3779B97F4A7C15ull
#define KB_M1 0xBF58476D1CE4E5B9ull
#define KB_M2 0x94D049BB133111EBull

static inline uint64_t kb_mix64(uint64_t x) {
    uint64_t z = x + KB_GOLDEN;
    z = (z ^ (z >> 30)) * KB_M1;
    z = (z ^ (z >> 27)) * KB_M2;
    return z ^ (z >> 31);
}

static inline uint64_t kb_threshold(float p) { return (uint64_t)ceilf(p * 16777216.0f); }

void kb_dropout_portable(float *out, const float *inp, const float *res, long n, uint64_t key, long offset,
                         float p, float scale) {
    uint64_t threshold = kb_threshold(p);
    for (long i = 0; i < n; i++) {
        uint64_t z = kb_mix64(key + (uint64_t)(offset + i) * KB_K1);
        float v = (z >> 40) >= threshold ? inp[i] * scale : 0.0f;
        out[i] = res ? v + res[i] : v;
    }
}

#ifdef KB_X86
// a * b mod 2^64 in each 64-bit lane (AVX2 has no 64-bit multiply): three 32 x 32 -> 64 products.
KB_AVX2 static inline __m256i kb_mul64(__m256i a, __m256i b_lo, __m256i b_hi) {
    __m256i lo = _mm256_mul_epu32(a, b_lo);
    __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b_lo), _mm256_mul_epu32(a, b_hi));
    return _mm256_add_epi64(lo, _mm256_slli_epi64(cross, 32));
}

// Four lanes of "kept" as 32-bit masks (all ones / zero) from four 64-bit hash inputs.
KB_AVX2 static inline __m128i kb_keep4(__m256i x, __m256i threshold_minus_1) {
    const __m256i m1lo = _mm256_set1_epi64x((long long)(KB_M1 & 0xffffffffu)), m1hi = _mm256_set1_epi64x((long long)(KB_M1 >> 32));
    const __m256i m2lo = _mm256_set1_epi64x((long long)(KB_M2 & 0xffffffffu)), m2hi = _mm256_set1_epi64x((long long)(KB_M2 >> 32));
    __m256i z = _mm256_add_epi64(x, _mm256_set1_epi64x((long long)KB_GOLDEN));
    z = kb_mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), m1lo, m1hi);
    z = kb_mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), m2lo, m2hi);
    z = _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
    __m256i keep = _mm256_cmpgt_epi64(_mm256_srli_epi64(z, 40), threshold_minus_1);  // values < 2^24: signed is fine
    // The low 32 bits of each 64-bit lane, in order.
    __m256i packed = _mm256_permutevar8x32_epi32(keep, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
    return _mm256_castsi256_si128(packed);
}

KB_AVX2 static void kb_dropout_avx2(float *out, const float *inp, const float *res, long n, uint64_t key, long offset,
                                    float p, float scale) {
    uint64_t threshold = kb_threshold(p);
    const __m256i thr = _mm256_set1_epi64x((long long)threshold - 1);
    const __m256 vscale = _mm256_set1_ps(scale);
    // Hash inputs key + (offset + i) K1 for i, ..., i + 7, advanced by 8 K1 (mod 2^64) each round.
    uint64_t x0 = key + (uint64_t)offset * KB_K1;
    __m256i xa = _mm256_setr_epi64x((long long)x0, (long long)(x0 + KB_K1), (long long)(x0 + 2 * KB_K1), (long long)(x0 + 3 * KB_K1));
    __m256i xb = _mm256_add_epi64(xa, _mm256_set1_epi64x((long long)(4 * KB_K1)));
    const __m256i step = _mm256_set1_epi64x((long long)(8 * KB_K1));
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i keep = _mm256_inserti128_si256(_mm256_castsi128_si256(kb_keep4(xa, thr)), kb_keep4(xb, thr), 1);
        __m256 v = _mm256_and_ps(_mm256_castsi256_ps(keep), _mm256_mul_ps(_mm256_loadu_ps(inp + i), vscale));
        if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res + i));
        _mm256_storeu_ps(out + i, v);
        xa = _mm256_add_epi64(xa, step);
        xb = _mm256_add_epi64(xb, step);
    }
    if (i < n) {  // the tail through the same vector code, via padded copies (short rows: attention's)
        float x[8] = {0, 0, 0, 0, 0, 0, 0, 0}, r[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (long j = i; j < n; j++) { x[j - i] = inp[j]; if (res) r[j - i] = res[j]; }
        __m256i keep = _mm256_inserti128_si256(_mm256_castsi128_si256(kb_keep4(xa, thr)), kb_keep4(xb, thr), 1);
        __m256 v = _mm256_and_ps(_mm256_castsi256_ps(keep), _mm256_mul_ps(_mm256_loadu_ps(x), vscale));
        if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(r));
        _mm256_storeu_ps(x, v);
        for (long j = i; j < n; j++) out[j] = x[j - i];
    }
}
#endif

void kb_dropout(float *out, const float *inp, const float *res, long n, uint64_t key, long offset, float p, float scale) {
#ifdef KB_X86
    if (kb_gemm_nt_fast()) { kb_dropout_avx2(out, inp, res, n, key, offset, p, scale); return; }
#endif
    kb_dropout_portable(out, inp, res, n, key, offset, p, scale);
}
