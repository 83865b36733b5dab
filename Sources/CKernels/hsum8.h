// The sum of eight float lanes in one fixed order, ((0+4)+(2+6)) + ((1+5)+(3+7)). Shared by
// attention.c, layernorm.c and gemm_nt_rows.c (each had its own copy); include it after
// <immintrin.h> on x86 only.
#ifndef KB_HSUM8_H
#define KB_HSUM8_H

__attribute__((target("avx2,fma"))) static inline float kb_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#endif
