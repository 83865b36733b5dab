// e^y for y <= 0 in eight float lanes, to about 2e-7 relative: y = n ln2 + r (ln2 split in two for
// accuracy), a degree-6 polynomial for e^r, 2^n built in the exponent bits; clamped at -87 (below
// it e^y is under float's smallest normal and flushes to 0 here). Shared by gelu.c and attention.c;
// include it after <immintrin.h> on x86 only.
#ifndef KB_EXP8_H
#define KB_EXP8_H

__attribute__((target("avx2,fma"))) static inline __m256 kb_exp_nonpositive8(__m256 y) {
    y = _mm256_min_ps(_mm256_setzero_ps(), _mm256_max_ps(_mm256_set1_ps(-87.0f), y));
    __m256 m = _mm256_fmadd_ps(y, _mm256_set1_ps(1.442695041f), _mm256_set1_ps(12582912.0f));
    __m256 n = _mm256_sub_ps(m, _mm256_set1_ps(12582912.0f));
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606820e-6f), _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145752f), y));
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(_mm256_castps_si256(m), _mm256_set1_epi32(0x4B400000)), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

#endif
