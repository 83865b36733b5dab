// One (sequence, head) block of masked self-attention, forward and backward, written once and
// compiled twice by attention.c: with the portable helpers and with the AVX2 ones. Expects
// KB_SUFFIX(name), KB_ATTR, KB_DOT(a, b, n), KB_AXPY(y, alpha, x, n) and KB_EXP_ROW(row, n, mx)
// (row[j] = exp(row[j] - mx), returns the sum) to be defined.

KB_ATTR static void KB_SUFFIX(kb_attention_forward_block)(
    const float *q, const float *k, const float *v, long ld, int L, int Lq, int HS, float scale,
    float *P, float *Pd, long ldp, float *out, long ldo,
    uint64_t key, long offset, long offsetStride, float p, float keepScale) {
    for (int t = 0; t < Lq; t++) {
        const float *qt = q + (long)t * ld;
        float *row = P + (long)t * ldp;
        // scores = q kᵀ · scale, then the softmax of the row (no key is masked: padding is not stored)
        for (int j = 0; j < L; j++) row[j] = scale * KB_DOT(qt, k + (long)j * ld, HS);
        float mx = row[0];
        for (int j = 1; j < L; j++) mx = row[j] > mx ? row[j] : mx;
        float inv = 1.0f / KB_EXP_ROW(row, L, mx);
        for (int j = 0; j < L; j++) row[j] *= inv;
        const float *a = row;
        if (Pd) {
            kb_dropout(Pd + (long)t * ldp, row, 0, L, key, offset + (long)t * offsetStride, p, keepScale);
            a = Pd + (long)t * ldp;
        }
        // out_t = Σ_j a[j] v_j
        float *o = out + (long)t * ldo;
        for (int c = 0; c < HS; c++) o[c] = 0;
        for (int j = 0; j < L; j++) KB_AXPY(o, a[j], v + (long)j * ld, HS);
    }
}

KB_ATTR static void KB_SUFFIX(kb_attention_backward_block)(
    const float *q, const float *k, const float *v, float *dq, float *dk, float *dv, long ld,
    int L, int Lq, int HS, float scale, const float *P, const float *A, float *dP, long ldp,
    const float *dout, long ldo, int dropped, float keepScale) {
    for (int t = 0; t < Lq; t++) {
        const float *g = dout + (long)t * ldo, *pt = P + (long)t * ldp, *at = A + (long)t * ldp;
        float *d = dP + (long)t * ldp;
        // dA = dout vᵀ ; dv += Aᵀ dout
        for (int j = 0; j < L; j++) {
            d[j] = KB_DOT(g, v + (long)j * ld, HS);
            KB_AXPY(dv + (long)j * ld, at[j], g, HS);
        }
        // dP = dA ⊙ keep / (1 - p) (A is 0 where dropped, or where P is 0: either way its term is 0);
        // dS = P ⊙ (dP - Σ_j P dP) · scale
        if (dropped)
            for (int j = 0; j < L; j++) d[j] = at[j] != 0 ? d[j] * keepScale : 0;
        float dot = 0;
        for (int j = 0; j < L; j++) dot += pt[j] * d[j];
        for (int j = 0; j < L; j++) d[j] = pt[j] * (d[j] - dot) * scale;
        // dq_t += Σ_j dS[j] k_j ; dk_j += dS[j] q_t
        const float *qt = q + (long)t * ld;
        float *dqt = dq + (long)t * ld;
        for (int j = 0; j < L; j++) {
            KB_AXPY(dqt, d[j], k + (long)j * ld, HS);
            KB_AXPY(dk + (long)j * ld, d[j], qt, HS);
        }
    }
}
