#include "CKernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KB_X86 1
#endif

// ---- portable helpers
static inline float kb_dot_portable(const float *a, const float *b, int n) {
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int c = 0;
    for (; c + 8 <= n; c += 8)
        for (int l = 0; l < 8; l++) lane[l] += a[c + l] * b[c + l];
    float s = ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
    for (; c < n; c++) s += a[c] * b[c];
    return s;
}
static inline void kb_axpy_portable(float *y, float alpha, const float *x, int n) {
    for (int c = 0; c < n; c++) y[c] += alpha * x[c];
}
static inline float kb_exp_row_portable(float *row, int n, float mx) {
    float sum = 0;
    for (int j = 0; j < n; j++) { float e = expf(row[j] - mx); row[j] = e; sum += e; }
    return sum;
}

#define KB_SUFFIX(name) name##_portable_impl
#define KB_ATTR
#define KB_DOT kb_dot_portable
#define KB_AXPY kb_axpy_portable
#define KB_EXP_ROW kb_exp_row_portable
#include "attention_block.h"
#undef KB_SUFFIX
#undef KB_ATTR
#undef KB_DOT
#undef KB_AXPY
#undef KB_EXP_ROW

#ifdef KB_X86
#define KB_AVX2_ATTR __attribute__((target("avx2,fma")))

#include "hsum8.h"
// Dot product over n (the head size): two 8-lane accumulators, then the scalar tail.
KB_AVX2_ATTR static inline float kb_dot_avx2(const float *a, const float *b, int n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    int c = 0;
    for (; c + 16 <= n; c += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + c), _mm256_loadu_ps(b + c), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + c + 8), _mm256_loadu_ps(b + c + 8), s1);
    }
    for (; c + 8 <= n; c += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + c), _mm256_loadu_ps(b + c), s0);
    float s = kb_hsum8(_mm256_add_ps(s0, s1));
    for (; c < n; c++) s += a[c] * b[c];
    return s;
}
KB_AVX2_ATTR static inline void kb_axpy_avx2(float *y, float alpha, const float *x, int n) {
    __m256 a = _mm256_set1_ps(alpha);
    int c = 0;
    for (; c + 8 <= n; c += 8) _mm256_storeu_ps(y + c, _mm256_fmadd_ps(a, _mm256_loadu_ps(x + c), _mm256_loadu_ps(y + c)));
    for (; c < n; c++) y[c] += alpha * x[c];
}
#include "exp8.h"
KB_AVX2_ATTR static inline float kb_exp_row_avx2(float *row, int n, float mx) {
    __m256 vm = _mm256_set1_ps(mx), s = _mm256_setzero_ps();
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 e = kb_exp_nonpositive8(_mm256_sub_ps(_mm256_loadu_ps(row + j), vm));
        _mm256_storeu_ps(row + j, e);
        s = _mm256_add_ps(s, e);
    }
    float sum = kb_hsum8(s);
    if (j < n) {  // the tail through the same vector code, via a padded copy
        float tail[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        memcpy(tail, row + j, (size_t)(n - j) * sizeof(float));
        __m256 e = kb_exp_nonpositive8(_mm256_sub_ps(_mm256_loadu_ps(tail), vm));
        _mm256_storeu_ps(tail, e);
        for (int i = 0; i < n - j; i++) { row[j + i] = tail[i]; sum += tail[i]; }
    }
    return sum;
}

// Head size 64 (BERT's): each row of 64 floats is 8 registers, so sums over keys or queries stay
// in registers (one store per row instead of one per term), and four scores come from one pass
// over the query row.
typedef struct { __m256 r[8]; } kb_row64;

KB_AVX2_ATTR static inline void kb_row64_zero(kb_row64 *a) { for (int i = 0; i < 8; i++) a->r[i] = _mm256_setzero_ps(); }
KB_AVX2_ATTR static inline void kb_row64_load(kb_row64 *a, const float *x) { for (int i = 0; i < 8; i++) a->r[i] = _mm256_loadu_ps(x + 8 * i); }
KB_AVX2_ATTR static inline void kb_row64_fma(kb_row64 *a, float alpha, const float *x) {
    __m256 s = _mm256_set1_ps(alpha);
    for (int i = 0; i < 8; i++) a->r[i] = _mm256_fmadd_ps(s, _mm256_loadu_ps(x + 8 * i), a->r[i]);
}
KB_AVX2_ATTR static inline void kb_row64_store(const kb_row64 *a, float *y) { for (int i = 0; i < 8; i++) _mm256_storeu_ps(y + 8 * i, a->r[i]); }

// out[j] = scale · x · y_j for j in [0, L), rows y_j at stride ld; four rows per pass over x.
KB_AVX2_ATTR static inline void kb_dots64(float *out, const float *x, const float *y, long ld, int L, float scale) {
    int j = 0;
    for (; j + 4 <= L; j += 4) {
        const float *y0 = y + (long)j * ld, *y1 = y0 + ld, *y2 = y1 + ld, *y3 = y2 + ld;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < 64; c += 8) {
            __m256 xv = _mm256_loadu_ps(x + c);
            a0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(y0 + c), a0);
            a1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(y1 + c), a1);
            a2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(y2 + c), a2);
            a3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(y3 + c), a3);
        }
        // four horizontal sums at once
        __m256 h01 = _mm256_hadd_ps(a0, a1), h23 = _mm256_hadd_ps(a2, a3);
        __m256 h = _mm256_hadd_ps(h01, h23);  // [s0 s1 s2 s3 | s0' s1' s2' s3'] halves
        __m128 sum = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        _mm_storeu_ps(out + j, _mm_mul_ps(sum, _mm_set1_ps(scale)));
    }
    for (; j < L; j++) out[j] = scale * kb_dot_avx2(x, y + (long)j * ld, 64);
}

KB_AVX2_ATTR static void kb_attention_forward_hs64(
    const float *q, const float *k, const float *v, long ld, int L, int Lq, float scale,
    float *P, float *Pd, long ldp, float *out, long ldo,
    uint64_t key, long offset, long offsetStride, float p, float keepScale) {
    for (int t = 0; t < Lq; t++) {
        float *row = P + (long)t * ldp;
        kb_dots64(row, q + (long)t * ld, k, ld, L, scale);
        float mx = row[0];
        for (int j = 1; j < L; j++) mx = row[j] > mx ? row[j] : mx;
        float inv = 1.0f / kb_exp_row_avx2(row, L, mx);
        for (int j = 0; j < L; j++) row[j] *= inv;
        const float *a = row;
        if (Pd) {
            kb_dropout(Pd + (long)t * ldp, row, 0, L, key, offset + (long)t * offsetStride, p, keepScale);
            a = Pd + (long)t * ldp;
        }
        kb_row64 o;
        kb_row64_zero(&o);
        for (int j = 0; j < L; j++) kb_row64_fma(&o, a[j], v + (long)j * ld);
        kb_row64_store(&o, out + (long)t * ldo);
    }
}

KB_AVX2_ATTR static void kb_attention_backward_hs64(
    const float *q, const float *k, const float *v, float *dq, float *dk, float *dv, long ld,
    int L, int Lq, float scale, const float *P, const float *A, float *dP, long ldp,
    const float *dout, long ldo, int dropped, float keepScale) {
    // dS row by row: dA = dout vᵀ, dP = dA · keepScale where kept, dS = P ⊙ (dP - Σ P dP) · scale;
    // then dq_t += Σ_j dS[t, j] k_j.
    for (int t = 0; t < Lq; t++) {
        const float *pt = P + (long)t * ldp, *at = A + (long)t * ldp;
        float *d = dP + (long)t * ldp;
        kb_dots64(d, dout + (long)t * ldo, v, ld, L, 1.0f);
        if (dropped)
            for (int j = 0; j < L; j++) d[j] = at[j] != 0 ? d[j] * keepScale : 0;
        float dot = 0;
        for (int j = 0; j < L; j++) dot += pt[j] * d[j];
        for (int j = 0; j < L; j++) d[j] = pt[j] * (d[j] - dot) * scale;
        kb_row64 acc;
        kb_row64_load(&acc, dq + (long)t * ld);
        for (int j = 0; j < L; j++) kb_row64_fma(&acc, d[j], k + (long)j * ld);
        kb_row64_store(&acc, dq + (long)t * ld);
    }
    // dv_j += Σ_t A[t, j] dout_t ; dk_j += Σ_t dS[t, j] q_t
    for (int j = 0; j < L; j++) {
        kb_row64 av, ak;
        kb_row64_load(&av, dv + (long)j * ld);
        kb_row64_load(&ak, dk + (long)j * ld);
        for (int t = 0; t < Lq; t++) {
            kb_row64_fma(&av, A[(long)t * ldp + j], dout + (long)t * ldo);
            kb_row64_fma(&ak, dP[(long)t * ldp + j], q + (long)t * ld);
        }
        kb_row64_store(&av, dv + (long)j * ld);
        kb_row64_store(&ak, dk + (long)j * ld);
    }
}

#define KB_SUFFIX(name) name##_avx2_impl
#define KB_ATTR KB_AVX2_ATTR
#define KB_DOT kb_dot_avx2
#define KB_AXPY kb_axpy_avx2
#define KB_EXP_ROW kb_exp_row_avx2
#include "attention_block.h"
#endif

void kb_attention_forward(const float *q, const float *k, const float *v, long ld, int L, int Lq, int HS, float scale,
                          float *P, float *Pd, long ldp, float *out, long ldo,
                          uint64_t key, long offset, long offsetStride, float p, float keepScale, int portable) {
#ifdef KB_X86
    if (!portable && kb_gemm_nt_fast() && HS == 64) {
        kb_attention_forward_hs64(q, k, v, ld, L, Lq, scale, P, Pd, ldp, out, ldo, key, offset, offsetStride, p, keepScale);
        return;
    }
    if (!portable && kb_gemm_nt_fast()) {
        kb_attention_forward_block_avx2_impl(q, k, v, ld, L, Lq, HS, scale, P, Pd, ldp, out, ldo, key, offset, offsetStride, p, keepScale);
        return;
    }
#endif
    kb_attention_forward_block_portable_impl(q, k, v, ld, L, Lq, HS, scale, P, Pd, ldp, out, ldo, key, offset, offsetStride, p, keepScale);
}

void kb_attention_backward(const float *q, const float *k, const float *v, float *dq, float *dk, float *dv, long ld,
                           int L, int Lq, int HS, float scale, const float *P, const float *A, float *dP, long ldp,
                           const float *dout, long ldo, int dropped, float keepScale, int portable) {
#ifdef KB_X86
    if (!portable && kb_gemm_nt_fast() && HS == 64) {
        kb_attention_backward_hs64(q, k, v, dq, dk, dv, ld, L, Lq, scale, P, A, dP, ldp, dout, ldo, dropped, keepScale);
        return;
    }
    if (!portable && kb_gemm_nt_fast()) {
        kb_attention_backward_block_avx2_impl(q, k, v, dq, dk, dv, ld, L, Lq, HS, scale, P, A, dP, ldp, dout, ldo, dropped, keepScale);
        return;
    }
#endif
    kb_attention_backward_block_portable_impl(q, k, v, dq, dk, dv, ld, L, Lq, HS, scale, P, A, dP, ldp, dout, ldo, dropped, keepScale);
}
