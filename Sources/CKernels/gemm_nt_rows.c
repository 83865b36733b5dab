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

#include "hsum8.h"

/// Scalar tail of the dot products of rows x[0..<R) with w[0..<4) over c in [c0, C).
static inline float kb_tail(const float *x, const float *w, int c0, int C) {
    float s = 0;
    for (int c = c0; c < C; c++) s += x[c] * w[c];
    return s;
}

/* One block of the kernel: R input rows (1 to 4) against the three weight rows at w0, R x 3 outputs
   at y; 4 x 3 accumulators, the three weight vectors and one input vector fill the 16 registers
   exactly. Meanwhile it prefetches `lines` cache lines from `pf` on, one per two steps of 8 (spread
   out, not in a burst: 13 % faster on one sentence than one per step): the next group of weight
   rows, which would otherwise arrive from memory only when that group starts (the rows are too
   short for the hardware prefetcher to catch on). */
#define KB_STEP(BODY)                                                                \
    { __m256 v0 = _mm256_loadu_ps(w0 + c), v1 = _mm256_loadu_ps(w1 + c);             \
      __m256 v2 = _mm256_loadu_ps(w2 + c);                                           \
      BODY }
#define KB_ROWS_LOOP(BODY)                                                           \
    int c = 0;                                                                       \
    const int cp = 16 * lines < (C8 & ~15) ? 16 * lines : (C8 & ~15);                \
    for (const float *p = pf; c < cp; p += 16) {                                     \
        _mm_prefetch((const char *)p, _MM_HINT_T0);                                  \
        KB_STEP(BODY) c += 8;                                                        \
        KB_STEP(BODY) c += 8;                                                        \
    }                                                                                \
    for (; c < C8; c += 8) KB_STEP(BODY)
#define KB_FMA3(r)                                                                   \
    { __m256 u = _mm256_loadu_ps(x##r + c);                                          \
      a##r##0 = _mm256_fmadd_ps(u, v0, a##r##0); a##r##1 = _mm256_fmadd_ps(u, v1, a##r##1); \
      a##r##2 = _mm256_fmadd_ps(u, v2, a##r##2); }
#define KB_STORE3(r)                                                                 \
    y[(long)(r) * ldy + 0] = kb_hsum8(a##r##0) + kb_tail(x##r, w0, C8, C) + b[0];    \
    y[(long)(r) * ldy + 1] = kb_hsum8(a##r##1) + kb_tail(x##r, w1, C8, C) + b[1];    \
    y[(long)(r) * ldy + 2] = kb_hsum8(a##r##2) + kb_tail(x##r, w2, C8, C) + b[2];
#define KB_ZERO3(r) __m256 a##r##0 = _mm256_setzero_ps(), a##r##1 = a##r##0, a##r##2 = a##r##0;
#define KB_BLOCK_ARGS const float *x0, int C, int C8, const float *w0, const float *b, float *y, int ldy, \
                      const float *pf, int lines
#define KB_W12 const float *w1 = w0 + C, *w2 = w1 + C;

KB_AVX2 static void kb_rows4(KB_BLOCK_ARGS) {
    KB_W12 const float *x1 = x0 + C, *x2 = x1 + C, *x3 = x2 + C;
    KB_ZERO3(0) KB_ZERO3(1) KB_ZERO3(2) KB_ZERO3(3)
    KB_ROWS_LOOP(KB_FMA3(0) KB_FMA3(1) KB_FMA3(2) KB_FMA3(3))
    KB_STORE3(0) KB_STORE3(1) KB_STORE3(2) KB_STORE3(3)
}
KB_AVX2 static void kb_rows3(KB_BLOCK_ARGS) {
    KB_W12 const float *x1 = x0 + C, *x2 = x1 + C;
    KB_ZERO3(0) KB_ZERO3(1) KB_ZERO3(2)
    KB_ROWS_LOOP(KB_FMA3(0) KB_FMA3(1) KB_FMA3(2))
    KB_STORE3(0) KB_STORE3(1) KB_STORE3(2)
}
KB_AVX2 static void kb_rows2(KB_BLOCK_ARGS) {
    KB_W12 const float *x1 = x0 + C;
    KB_ZERO3(0) KB_ZERO3(1)
    KB_ROWS_LOOP(KB_FMA3(0) KB_FMA3(1))
    KB_STORE3(0) KB_STORE3(1)
}
KB_AVX2 static void kb_rows1(KB_BLOCK_ARGS) {
    KB_W12
    KB_ZERO3(0)
    KB_ROWS_LOOP(KB_FMA3(0))
    KB_STORE3(0)
}

/* The rows of the next block when r input rows are left. */
static inline int kb_block_rows(int r) { return r < 3 ? r : (r % 4 != 0 ? 3 : 4); }

KB_AVX2 static void kb_gemm_nt_rows_avx2(const float *X, int M, int C, const float *W, const float *bias,
                                         float *Y, int ldy, int o0, int o1) {
    const int C8 = C & ~7;
    // Three weight rows at a time (9 KB for C = 768: they stay in L1 while every block of input rows
    // passes over them), in blocks of 4 input rows, or 3 while the rows left are not a multiple of
    // 4 (13 = 3 + 3 + 3 + 4), so a block of 1 or 2 rows (which runs at a fraction of the rate) is
    // left only when M is 1, 2 or 5. Each output is one dot product in the same order whatever its
    // block, so the blocking changes no bit.
    if (M <= 0) return;
    int blocks = 0;
    for (int r = M; r > 0; r -= kb_block_rows(r)) blocks++;
    // The next group's 12·C bytes are prefetched in equal shares by this group's blocks (a block issues
    // at most C / 16 lines, one per two steps: with fewer than 3 blocks, M < 9, part of the group is
    // left to the hardware prefetcher; measured no slower than the libraries there all the same).
    const int groupLines = (3 * C + 15) / 16, share = (groupLines + blocks - 1) / blocks;
    int o = o0;
    for (; o + 3 <= o1; o += 3) {
        const float *w0 = W + (long)o * C;
        const float *next = w0 + 3L * C;
        const int hasNext = o + 6 <= o1;
        float b[3] = {0, 0, 0};
        if (bias) { b[0] = bias[o]; b[1] = bias[o + 1]; b[2] = bias[o + 2]; }
        int m = 0;
        for (int k = 0; k < blocks; k++) {
            const int first = k * share;
            const int lines = hasNext && first < groupLines ? (share < groupLines - first ? share : groupLines - first) : 0;
            const float *pf = next + 16L * first;
            const float *x = X + (long)m * C;
            float *y = Y + (long)m * ldy + o;
            const int rows = kb_block_rows(M - m);
            switch (rows) {
            case 4: kb_rows4(x, C, C8, w0, b, y, ldy, pf, lines); break;
            case 3: kb_rows3(x, C, C8, w0, b, y, ldy, pf, lines); break;
            case 2: kb_rows2(x, C, C8, w0, b, y, ldy, pf, lines); break;
            default: kb_rows1(x, C, C8, w0, b, y, ldy, pf, lines); break;
            }
            m += rows;
        }
    }
    for (; o < o1; o++) {  // the last OC % 3 outputs
        const float *w0 = W + (long)o * C;
        for (int m = 0; m < M; m++) {
            const float *x0 = X + (long)m * C;
            __m256 a0 = _mm256_setzero_ps();
            for (int c = 0; c < C8; c += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x0 + c), _mm256_loadu_ps(w0 + c), a0);
            Y[(long)m * ldy + o] = kb_hsum8(a0) + kb_tail(x0, w0, C8, C) + (bias ? bias[o] : 0.0f);
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
