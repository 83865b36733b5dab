#include "CKernels.h"
#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KB_X86 1
#define KB_AVX2 __attribute__((target("avx2,fma")))
#endif

// Sums over a row in 8 interleaved lanes added in a fixed order (both paths), then the tail.
static inline float kb_lanes_sum(const float lane[8]) {
    return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
}

void kb_layernorm_forward_portable(float *out, float *mean, float *rstd, const float *inp, const float *w,
                                   const float *b, long n0, long n1, int C, float eps) {
    for (long n = n0; n < n1; n++) {
        const float *x = inp + n * C;
        float *y = out + n * C;
        float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int c = 0;
        for (; c + 8 <= C; c += 8) for (int l = 0; l < 8; l++) lane[l] += x[c + l];
        float sum = kb_lanes_sum(lane);
        for (; c < C; c++) sum += x[c];
        float m = sum / (float)C;
        for (int l = 0; l < 8; l++) lane[l] = 0;
        for (c = 0; c + 8 <= C; c += 8) for (int l = 0; l < 8; l++) { float d = x[c + l] - m; lane[l] += d * d; }
        float sq = kb_lanes_sum(lane);
        for (; c < C; c++) { float d = x[c] - m; sq += d * d; }
        float s = 1.0f / sqrtf(sq / (float)C + eps);
        for (c = 0; c < C; c++) y[c] = (x[c] - m) * s * w[c] + b[c];
        mean[n] = m;
        rstd[n] = s;
    }
}

void kb_layernorm_backward_portable(float *dinp, const float *dout, const float *inp, const float *w,
                                    const float *mean, const float *rstd, long n0, long n1, int C) {
    for (long n = n0; n < n1; n++) {
        const float *x = inp + n * C, *dy = dout + n * C;
        float *dx = dinp + n * C;
        float m = mean[n], s = rstd[n];
        float lg[8] = {0, 0, 0, 0, 0, 0, 0, 0}, lgx[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int c = 0;
        for (; c + 8 <= C; c += 8)
            for (int l = 0; l < 8; l++) { float g = dy[c + l] * w[c + l]; lg[l] += g; lgx[l] += g * ((x[c + l] - m) * s); }
        float meanG = kb_lanes_sum(lg), meanGX = kb_lanes_sum(lgx);
        for (; c < C; c++) { float g = dy[c] * w[c]; meanG += g; meanGX += g * ((x[c] - m) * s); }
        meanG /= (float)C;
        meanGX /= (float)C;
        for (c = 0; c < C; c++) dx[c] += s * (dy[c] * w[c] - meanG - (x[c] - m) * s * meanGX);
    }
}

#ifdef KB_X86
#include "hsum8.h"

KB_AVX2 static void kb_layernorm_forward_avx2(float *out, float *mean, float *rstd, const float *inp, const float *w,
                                              const float *b, long n0, long n1, int C, float eps) {
    for (long n = n0; n < n1; n++) {
        const float *x = inp + n * C;
        float *y = out + n * C;
        __m256 acc = _mm256_setzero_ps();
        int c = 0;
        for (; c + 8 <= C; c += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + c));
        float sum = kb_hsum8(acc);
        for (; c < C; c++) sum += x[c];
        float m = sum / (float)C;
        __m256 vm = _mm256_set1_ps(m);
        acc = _mm256_setzero_ps();
        for (c = 0; c + 8 <= C; c += 8) { __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + c), vm); acc = _mm256_fmadd_ps(d, d, acc); }
        float sq = kb_hsum8(acc);
        for (; c < C; c++) { float d = x[c] - m; sq += d * d; }
        float s = 1.0f / sqrtf(sq / (float)C + eps);
        __m256 vs = _mm256_set1_ps(s);
        for (c = 0; c + 8 <= C; c += 8) {
            __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + c), vm), vs);
            _mm256_storeu_ps(y + c, _mm256_fmadd_ps(xh, _mm256_loadu_ps(w + c), _mm256_loadu_ps(b + c)));
        }
        for (; c < C; c++) y[c] = (x[c] - m) * s * w[c] + b[c];
        mean[n] = m;
        rstd[n] = s;
    }
}

KB_AVX2 static void kb_layernorm_backward_avx2(float *dinp, const float *dout, const float *inp, const float *w,
                                               const float *mean, const float *rstd, long n0, long n1, int C) {
    for (long n = n0; n < n1; n++) {
        const float *x = inp + n * C, *dy = dout + n * C;
        float *dx = dinp + n * C;
        float m = mean[n], s = rstd[n];
        __m256 vm = _mm256_set1_ps(m), vs = _mm256_set1_ps(s), ag = _mm256_setzero_ps(), agx = ag;
        int c = 0;
        for (; c + 8 <= C; c += 8) {
            __m256 g = _mm256_mul_ps(_mm256_loadu_ps(dy + c), _mm256_loadu_ps(w + c));
            __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + c), vm), vs);
            ag = _mm256_add_ps(ag, g);
            agx = _mm256_fmadd_ps(g, xh, agx);
        }
        float meanG = kb_hsum8(ag), meanGX = kb_hsum8(agx);
        for (; c < C; c++) { float g = dy[c] * w[c]; meanG += g; meanGX += g * ((x[c] - m) * s); }
        meanG /= (float)C;
        meanGX /= (float)C;
        __m256 vg = _mm256_set1_ps(meanG), vgx = _mm256_set1_ps(meanGX);
        for (c = 0; c + 8 <= C; c += 8) {
            __m256 g = _mm256_mul_ps(_mm256_loadu_ps(dy + c), _mm256_loadu_ps(w + c));
            __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + c), vm), vs);
            __m256 t = _mm256_fnmadd_ps(xh, vgx, _mm256_sub_ps(g, vg));
            _mm256_storeu_ps(dx + c, _mm256_fmadd_ps(vs, t, _mm256_loadu_ps(dx + c)));
        }
        for (; c < C; c++) dx[c] += s * (dy[c] * w[c] - meanG - (x[c] - m) * s * meanGX);
    }
}
#endif

void kb_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                          long n0, long n1, int C, float eps) {
#ifdef KB_X86
    if (kb_gemm_nt_fast()) { kb_layernorm_forward_avx2(out, mean, rstd, inp, w, b, n0, n1, C, eps); return; }
#endif
    kb_layernorm_forward_portable(out, mean, rstd, inp, w, b, n0, n1, C, eps);
}

void kb_layernorm_backward(float *dinp, const float *dout, const float *inp, const float *w,
                           const float *mean, const float *rstd, long n0, long n1, int C) {
#ifdef KB_X86
    if (kb_gemm_nt_fast()) { kb_layernorm_backward_avx2(dinp, dout, inp, w, mean, rstd, n0, n1, C); return; }
#endif
    kb_layernorm_backward_portable(dinp, dout, inp, w, mean, rstd, n0, n1, C);
}
