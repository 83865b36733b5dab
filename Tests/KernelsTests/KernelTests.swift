import Foundation
import Testing
import CKernels
import SafeTensors
@testable import Kernels

/// Each kernel against PyTorch on odd shapes (Scripts/make_bert_fixtures.py writes kernels.safetensors).
struct KernelTests {
    let ref: SafeTensorsFile

    init() throws {
        let dir = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        ref = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("kernels.safetensors"))
    }

    func f(_ name: String) throws -> [Float] { try ref.floats(name) }
    func i32(_ name: String) throws -> [Int32] { try ref.ints(name).map { Int32($0) } }

    /// Fails the test unless `got` matches the reference tensor `name`; prints the errors either way.
    func check(_ got: [Float], _ name: String, atol: Float = 1e-5, rtol: Float = 1e-4) throws {
        let d = Discrepancy(got, try f(name), atol: atol, rtol: rtol)
        print("\(name): \(d)")
        #expect(d.withinTolerance, "\(name): \(d)")
    }

    @Test func linearForwardAndBackward() throws {
        let (N, C, OC) = (7, 5, 3)
        let x = try f("linear.x"), w = try f("linear.w"), b = try f("linear.b"), dout = try f("linear.dout")
        var y = [Float](repeating: 0, count: N * OC)
        Linear.forward(out: &y, inp: x, weight: w, bias: b, N: N, C: C, OC: OC)
        try check(y, "linear.y")
        // Backward accumulates: start from 1 and subtract it again, so a kernel that overwrites fails.
        var dx = [Float](repeating: 1, count: N * C), dw = [Float](repeating: 1, count: OC * C), db = [Float](repeating: 1, count: OC)
        Linear.backward(dinp: &dx, dweight: &dw, dbias: &db, dout: dout, inp: x, weight: w, N: N, C: C, OC: OC)
        try check(dx.map { $0 - 1 }, "linear.dx")
        try check(dw.map { $0 - 1 }, "linear.dw")
        try check(db.map { $0 - 1 }, "linear.db")
    }

    /// The few-rows kernel (batch-1 inference) on both of its paths, with and without bias, against
    /// PyTorch: shapes that reach its blocks of 3 and 4 input rows (13 = 3 + 3 + 3 + 4) against groups
    /// of 3 weight rows, its 8-wide loop and every tail. Each output is written
    /// over a NaN, so an output the kernel skips fails.
    @Test func linearFewRowsKernel() throws {
        let (N, C, OC) = (13, 37, 11)
        let x = try f("linear_rows.x"), w = try f("linear_rows.w"), b = try f("linear_rows.b")
        for portable in [false, true] {
            var y = [Float](repeating: .nan, count: N * OC)
            Linear.forwardFewRows(out: &y, inp: x, weight: w, bias: b, N: N, C: C, OC: OC, portable: portable)
            try check(y, "linear_rows.y", atol: 1e-6, rtol: 1e-5)
            y = [Float](repeating: .nan, count: N * OC)
            Linear.forwardFewRows(out: &y, inp: x, weight: w, bias: nil, N: N, C: C, OC: OC, portable: portable)
            try check(y, "linear_rows.y_nobias", atol: 1e-6, rtol: 1e-5)
        }
        // Through Linear.forward, which takes this kernel for few rows where the CPU has AVX2, and
        // BLAS otherwise: either way the same answer.
        var y = [Float](repeating: .nan, count: N * OC)
        Linear.forward(out: &y, inp: x, weight: w, bias: b, N: N, C: C, OC: OC)
        try check(y, "linear_rows.y", atol: 1e-6, rtol: 1e-5)
    }

    /// The few-rows kernel agrees with BLAS at the model's shapes (C = 768, 3072) for 1 ... 48 rows
    /// (every block size: 1, 2, 3 + 2, 3 + 4, ...) and with both cores splitting the outputs.
    @Test func linearFewRowsMatchesBLASAtModelShapes() throws {
        var rng = SeededGenerator(seed: 11)
        for (C, OC) in [(768, 2304), (3072, 768), (768, 7)] {
            let w = (0..<OC * C).map { _ in rng.nextGaussian() * 0.05 }, b = (0..<OC).map { _ in rng.nextGaussian() }
            for N in [1, 2, 3, 4, 5, 7, 13, 32, 48] {
                let x = (0..<N * C).map { _ in rng.nextGaussian() }
                var viaBLAS = [Float](repeating: 0, count: N * OC)
                for n in 0..<N { for o in 0..<OC { viaBLAS[n * OC + o] = b[o] } }
                sgemm(transA: false, transB: true, m: N, n: OC, k: C, a: x, lda: C, b: w, ldb: C, beta: 1, c: &viaBLAS, ldc: OC)
                var got = [Float](repeating: .nan, count: N * OC)
                Linear.forwardFewRows(out: &got, inp: x, weight: w, bias: b, N: N, C: C, OC: OC)
                let d = Discrepancy(got, viaBLAS, atol: 1e-5, rtol: 1e-4)
                #expect(d.withinTolerance, "N \(N) C \(C) OC \(OC): \(d)")
            }
        }
    }

    /// A row's outputs do not depend on the rows computed with it: every block size gives the same
    /// bits as the row alone (each output is one dot product in one order), on both paths.
    @Test func linearFewRowsGivesTheSameBitsInEveryBlock() {
        var rng = SeededGenerator(seed: 12)
        let (C, OC) = (771, 23)
        let w = (0..<OC * C).map { _ in rng.nextGaussian() * 0.05 }, b = (0..<OC).map { _ in rng.nextGaussian() }
        for N in [2, 5, 13, 48] {
            let x = (0..<N * C).map { _ in rng.nextGaussian() }
            for portable in [false, true] {
                var together = [Float](repeating: .nan, count: N * OC)
                Linear.forwardFewRows(out: &together, inp: x, weight: w, bias: b, N: N, C: C, OC: OC, portable: portable)
                for n in 0..<N {
                    var alone = [Float](repeating: .nan, count: OC)
                    Array(x[n * C..<(n + 1) * C]).withUnsafeBufferPointer {
                        Linear.forwardFewRows(out: &alone, inp: $0.baseAddress!, weight: w, bias: b, N: 1, C: C, OC: OC, portable: portable)
                    }
                    #expect(alone.map(\.bitPattern) == together[n * OC..<(n + 1) * OC].map(\.bitPattern), "row \(n) of \(N), portable \(portable)")
                }
            }
        }
    }

    /// The optimizer's C loops (AVX2 and portable) against the formula written out in Swift, on a
    /// length that leaves a tail after the 8-wide loop.
    @Test func adamWAndSumOfSquaresLoops() {
        var rng = SeededGenerator(seed: 21)
        let n = 1003
        let g = (0..<n).map { _ in rng.nextGaussian() }, p0 = (0..<n).map { _ in rng.nextGaussian() }
        let m0 = (0..<n).map { _ in rng.nextGaussian() * 0.1 }, v0 = (0..<n).map { _ in abs(rng.nextGaussian()) * 0.01 }
        let (gs, b1, b2, eps, decay, step, bc2): (Float, Float, Float, Float, Float, Float, Float) = (0.3, 0.9, 0.999, 0.1, 0.9995, 1e-3, 0.05)  // a large ε, so every term shows
        var wantP = p0, wantM = m0, wantV = v0
        for i in 0..<n {
            let gi = g[i] * gs
            wantM[i] = b1 * m0[i] + (1 - b1) * gi
            wantV[i] = b2 * v0[i] + (1 - b2) * gi * gi
            wantP[i] = p0[i] * decay - step * wantM[i] / (wantV[i].squareRoot() / bc2 + eps)
        }
        let wantSum = g.reduce(0.0) { $0 + Double($1) * Double($1) }
        for portable in [false, true] {
            var p = p0, m = m0, v = v0
            if portable {
                kb_adamw_portable(&p, g, &m, &v, n, gs, b1, b2, eps, decay, step, bc2)
            } else {
                kb_adamw(&p, g, &m, &v, n, gs, b1, b2, eps, decay, step, bc2)
            }
            for (got, want, name) in [(p, wantP, "p"), (m, wantM, "m"), (v, wantV, "v")] {
                let d = Discrepancy(got, want, atol: 1e-7, rtol: 1e-6)
                #expect(d.withinTolerance, "\(name) (portable: \(portable)): \(d)")
            }
            let sum = portable ? kb_sum_squares_portable(g, n) : kb_sum_squares(g, n)
            #expect(abs(sum - wantSum) <= 1e-12 * wantSum, "sum of squares (portable: \(portable)): \(sum) vs \(wantSum)")
        }
    }

    @Test func layerNormForwardAndBackward() throws {
        let (N, C) = (6, 13)
        let x = try f("layernorm.x"), w = try f("layernorm.w"), b = try f("layernorm.b"), dout = try f("layernorm.dout")
        // C = 13: the 8-lane loops and their tails, on the AVX2 and the portable path.
        for portable in [false, true] {
            var y = [Float](repeating: 0, count: N * C), mean = [Float](repeating: 0, count: N), rstd = mean
            LayerNorm.forward(out: &y, mean: &mean, rstd: &rstd, inp: x, weight: w, bias: b, N: N, C: C, eps: 1e-12, portable: portable)
            try check(y, "layernorm.y")
            // Backward accumulates into dinp: start from 1 and subtract it again.
            var dx = [Float](repeating: 1, count: N * C), dw = [Float](repeating: 0, count: C), db = dw
            LayerNorm.backward(dinp: &dx, dweight: &dw, dbias: &db, dout: dout, inp: x, weight: w, mean: mean, rstd: rstd,
                               N: N, C: C, portable: portable)
            try check(dx.map { $0 - 1 }, "layernorm.dx")
            try check(dw, "layernorm.dw")
            try check(db, "layernorm.db")
        }
    }

    @Test func geluAndTanh() throws {
        let x = try f("gelu.x"), dout = try f("gelu.dout")
        var y = [Float](repeating: 0, count: x.count), dx = y
        GELU.forward(out: &y, inp: x, count: x.count)
        GELU.backward(dinp: &dx, dout: dout, inp: x, count: x.count)
        try check(y, "gelu.y")
        try check(dx, "gelu.dx")

        let tx = try f("tanh.x"), tdout = try f("tanh.dout")
        var ty = [Float](repeating: 0, count: tx.count), tdx = ty
        Tanh.forward(out: &ty, inp: tx, count: tx.count)
        Tanh.backward(dinp: &tdx, dout: tdout, out: ty, count: tx.count)
        try check(ty, "tanh.y")
        try check(tdx, "tanh.dx")
    }

    /// The reference is PyTorch's padded [B, T, ·] computation; the kernel works on packed real
    /// tokens, so the test packs the inputs and compares the real tokens' rows.
    /// GELU's forward and backward loops (AVX2 and portable) against the exact formulas in Double
    /// on a dense grid over [-10, 10] (erf to 3e-7 and exp to 2e-7 inside), with a length that
    /// leaves a tail after the vector loop.
    @Test func geluLoopsAreAccurate() {
        let xs = (-100_000...100_001).map { Float($0) * 1e-4 }
        let ones = [Float](repeating: 1, count: xs.count)
        for portable in [false, true] {
            var y = [Float](repeating: .nan, count: xs.count), dy = y
            if portable {
                kb_gelu_forward_portable(&y, xs, xs.count)
                kb_gelu_backward_portable(&dy, ones, xs, xs.count)
            } else {
                kb_gelu_forward(&y, xs, xs.count)
                kb_gelu_backward(&dy, ones, xs, xs.count)
            }
            var worstY: Double = 0, worstDY: Double = 0
            for (i, x) in xs.enumerated() {
                let xd = Double(x), cdf = 0.5 * (1 + erf(xd / 2.0.squareRoot()))
                let want = xd * cdf, wantD = cdf + xd * exp(-0.5 * xd * xd) / (2 * Double.pi).squareRoot()
                worstY = max(worstY, abs(Double(y[i]) - want) / max(1, abs(want)))
                worstDY = max(worstDY, abs(Double(dy[i]) - wantD) / max(1, abs(wantD)))
            }
            print("GELU (portable: \(portable)): forward max err \(worstY), backward max err \(worstDY) (relative above 1)")
            #expect(worstY < 2e-6 && worstDY < 2e-6, "portable: \(portable): \(worstY), \(worstDY)")
        }
    }

    /// The dropout loop (AVX2 and portable) gives bit for bit `keeps`' mask, scaled, plus the
    /// residual when given: lengths that leave a tail after the 8-wide loop, offsets that are not
    /// multiples of 8, several rates (0 keeps everything).
    @Test func dropoutLoopsMatchTheMaskBitForBit() {
        var rng = SeededGenerator(seed: 31)
        let n = 1003
        let x = (0..<n).map { _ in rng.nextGaussian() }, r = (0..<n).map { _ in rng.nextGaussian() }
        for p: Float in [0, 0.1, 0.5, 0.9] {
            let site = DropoutSite(probability: p, seed: 9, step: 2, site: 5, positions: 64)
            let scale = 1 / (1 - p)
            for offset in [0, 3, 1 << 33 + 5] {
                let want = (0..<n).map { site.keeps(offset + $0) ? x[$0] * scale : 0 }
                let wantAdded = (0..<n).map { want[$0] + r[$0] }
                for portable in [false, true] {
                    var got = [Float](repeating: .nan, count: n), gotAdded = got
                    site.apply(out: &got, inp: x, count: n, offset: offset, portable: portable)
                    site.apply(out: &gotAdded, inp: x, count: n, offset: offset, residual: r, portable: portable)
                    #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "p \(p) offset \(offset) portable \(portable)")
                    #expect(gotAdded.map(\.bitPattern) == wantAdded.map(\.bitPattern), "+ residual: p \(p) offset \(offset) portable \(portable)")
                }
            }
        }
    }

    /// The fused attention block (AVX2 and portable) against a naive implementation in Double, with
    /// dropout on the probabilities, at BERT's head size (64: the 8-wide loops) and an odd one (12:
    /// their tails), uneven lengths (1 to 19, the 8-wide exponential and its tail), all queries and
    /// first-query-only.
    @Test func fusedAttentionMatchesNaiveAttention() {
        for HS in [64, 12] {
            let NH = 2, C = NH * HS, lengths = [19, 1, 8, 11], B = lengths.count, T = lengths.max()!
            var rows: [Int32] = [0]
            for L in lengths { rows.append(rows.last! + Int32(L)) }
            let N = Int(rows.last!)
            var rng = SeededGenerator(seed: UInt64(HS))
            let qkv = (0..<N * 3 * C).map { _ in rng.nextGaussian() }
            let site = DropoutSite(probability: 0.3, seed: 4, step: 1, site: 2, positions: 32)
            for firstOnly in [false, true] {
                let M = firstOnly ? B : N
                let dout = (0..<M * C).map { _ in rng.nextGaussian() }
                let (wantOut, wantP, wantD) = naiveAttention(qkv: qkv, dout: dout, rows: rows, NH: NH, HS: HS, site: site, firstOnly: firstOnly)
                for portable in [false, true] {
                    var out = [Float](repeating: .nan, count: M * C), probs = [Float](repeating: .nan, count: B * NH * T * T)
                    var dropped = probs, scratch = probs
                    Attention.forward(out: &out, probs: &probs, probsDropped: &dropped, dropout: site, qkv: qkv, rows: rows,
                                      B: B, T: T, NH: NH, HS: HS, firstQueryOnly: firstOnly, portable: portable)
                    var gotP: [Float] = []
                    for bh in 0..<B * NH {
                        let L = lengths[bh / NH]
                        for t in 0..<(firstOnly ? 1 : L) { for j in 0..<L { gotP.append(probs[(bh * T + t) * T + j]) } }
                    }
                    let label = "HS \(HS) firstOnly \(firstOnly) portable \(portable)"
                    for (got, want, name) in [(out, wantOut, "out"), (gotP, wantP, "probs")] {
                        let d = Discrepancy(got, want, atol: 1e-5, rtol: 1e-4)
                        #expect(d.withinTolerance, "\(name) \(label): \(d)")
                    }
                    var dqkv = [Float](repeating: 0.5, count: N * 3 * C)  // accumulates: start from 0.5
                    Attention.backward(dqkv: &dqkv, scratch: &scratch, dout: dout, qkv: qkv, probs: probs, probsDropped: dropped,
                                       dropout: site, rows: rows, B: B, T: T, NH: NH, HS: HS, firstQueryOnly: firstOnly, portable: portable)
                    let d = Discrepancy(dqkv.map { $0 - 0.5 }, wantD, atol: 1e-5, rtol: 1e-4)
                    print("fused attention \(label): dqkv \(d)")
                    #expect(d.withinTolerance, "dqkv \(label): \(d)")
                }
            }
        }
    }

    /// Attention written out in Double, one element at a time: out [M, C], the probabilities of
    /// the query rows (before dropout, block after block), dqkv [N, 3C].
    func naiveAttention(qkv: [Float], dout: [Float], rows: [Int32], NH: Int, HS: Int, site: DropoutSite,
                        firstOnly: Bool) -> ([Float], [Float], [Float]) {
        let C = NH * HS, C3 = 3 * C, B = rows.count - 1, S = site.positions
        let keep = 1 / (1 - Double(site.probability)), scale = 1 / Double(HS).squareRoot()
        var out = [Float](repeating: 0, count: (firstOnly ? B : Int(rows[B])) * C), probs: [Float] = []
        var dqkv = [Double](repeating: 0, count: Int(rows[B]) * C3)
        for b in 0..<B {
            let first = Int(rows[b]), L = Int(rows[b + 1]) - first, Lq = firstOnly ? 1 : L
            for h in 0..<NH {
                let bh = b * NH + h
                func x(_ part: Int, _ t: Int, _ c: Int) -> Double { Double(qkv[(first + t) * C3 + part * C + h * HS + c]) }
                for t in 0..<Lq {
                    let o = (firstOnly ? b : first + t) * C + h * HS
                    let s = (0..<L).map { j in (0..<HS).reduce(0.0) { $0 + x(0, t, $1) * x(1, j, $1) } * scale }
                    let e = s.map { Foundation.exp($0 - s.max()!) }, sum = e.reduce(0, +)
                    let p = e.map { $0 / sum }
                    probs += p.map(Float.init)
                    let a = (0..<L).map { site.keeps((bh * S + t) * S + $0) ? p[$0] * keep : 0 }
                    for c in 0..<HS { out[o + c] = Float((0..<L).reduce(0.0) { $0 + a[$1] * x(2, $1, c) }) }
                    // backward of this query row
                    let g = (0..<HS).map { Double(dout[o + $0]) }
                    let dA = (0..<L).map { j in (0..<HS).reduce(0.0) { $0 + g[$1] * x(2, j, $1) } }
                    let dP = (0..<L).map { site.keeps((bh * S + t) * S + $0) ? dA[$0] * keep : 0 }
                    let dot = (0..<L).reduce(0.0) { $0 + p[$1] * dP[$1] }
                    let dS = (0..<L).map { p[$0] * (dP[$0] - dot) * scale }
                    for j in 0..<L {
                        for c in 0..<HS {
                            dqkv[(first + j) * C3 + 2 * C + h * HS + c] += a[j] * g[c]          // dv
                            dqkv[(first + t) * C3 + h * HS + c] += dS[j] * x(1, j, c)         // dq
                            dqkv[(first + j) * C3 + C + h * HS + c] += dS[j] * x(0, t, c)     // dk
                        }
                    }
                }
            }
        }
        return (out, probs, dqkv.map(Float.init))
    }

    /// The bias and LayerNorm parameter gradients (AVX2 and portable C) are the column sums of the
    /// formula in row order, bit for bit: widths that reach the 32- and 16-column blocks, the
    /// 8-column loop and a tail, accumulated onto existing values.
    @Test func columnSumGradientsMatchTheFormulaBitForBit() {
        var rng = SeededGenerator(seed: 41)
        for (N, C) in [(37, 77), (5, 2304), (3, 7)] {
            let dy = (0..<N * C).map { _ in rng.nextGaussian() }, x = (0..<N * C).map { _ in rng.nextGaussian() }
            let mean = (0..<N).map { _ in rng.nextGaussian() }, rstd = (0..<N).map { _ in abs(rng.nextGaussian()) + 0.5 }
            let start = (0..<C).map { _ in rng.nextGaussian() }
            var wantB = start, wantW = start, wantLB = start
            for n in 0..<N {
                for c in 0..<C {
                    wantB[c] += dy[n * C + c]
                    wantW[c] += dy[n * C + c] * (x[n * C + c] - mean[n]) * rstd[n]
                    wantLB[c] += dy[n * C + c]
                }
            }
            for portable in [false, true] {
                var db = start, dw = start, lb = start
                Linear.biasBackward(dbias: &db, dout: dy, N: N, OC: C, portable: portable)
                var dx = [Float](repeating: 0, count: N * C)
                LayerNorm.backward(dinp: &dx, dweight: &dw, dbias: &lb, dout: dy, inp: x, weight: start, mean: mean, rstd: rstd,
                                   N: N, C: C, portable: portable)
                #expect(db.map(\.bitPattern) == wantB.map(\.bitPattern), "bias N \(N) C \(C) portable \(portable)")
                #expect(dw.map(\.bitPattern) == wantW.map(\.bitPattern), "LN weight N \(N) C \(C) portable \(portable)")
                #expect(lb.map(\.bitPattern) == wantLB.map(\.bitPattern), "LN bias N \(N) C \(C) portable \(portable)")
            }
        }
    }

    @Test func maskedAttentionForwardAndBackward() throws {
        let (B, T, NH, HS) = (2, 5, 3, 4)
        let C = NH * HS
        let valid = try i32("attention.valid_length").map(Int.init)
        let rows: [Int32] = [0, Int32(valid[0]), Int32(valid[0] + valid[1])]
        func pack(_ x: [Float], width: Int) -> [Float] {
            (0..<B).flatMap { b in x[(b * T * width)..<((b * T + valid[b]) * width)] }
        }
        let qkv = pack(try f("attention.qkv"), width: 3 * C), dout = pack(try f("attention.dout"), width: C)
        let N = valid.reduce(0, +)
        for portable in [false, true] {
        var out = [Float](repeating: 0, count: N * C), probs = [Float](repeating: .nan, count: B * NH * T * T)
        Attention.forward(out: &out, probs: &probs, probsDropped: nil, dropout: nil, qkv: qkv, rows: rows,
                          B: B, T: T, NH: NH, HS: HS, portable: portable)
        // Each sequence's L × L block of probabilities (the rest of the buffer is not written).
        let refProbs = try f("attention.probs")
        var got: [Float] = [], want: [Float] = []
        for bh in 0..<B * NH {
            let L = valid[bh / NH]
            for t in 0..<L { for j in 0..<L { got.append(probs[(bh * T + t) * T + j]); want.append(refProbs[(bh * T + t) * T + j]) } }
        }
        let d = Discrepancy(got, want, atol: 1e-5, rtol: 1e-4)
        print("attention.probs (real tokens): \(d)")
        #expect(d.withinTolerance, "\(d)")
        try check(out, "attention.out", packedFrom: { pack($0, width: C) })
        var dqkv = [Float](repeating: 0, count: N * 3 * C), scratch = probs
        Attention.backward(dqkv: &dqkv, scratch: &scratch, dout: dout, qkv: qkv, probs: probs, probsDropped: nil,
                           dropout: nil, rows: rows, B: B, T: T, NH: NH, HS: HS, portable: portable)
        try check(dqkv, "attention.dqkv", packedFrom: { pack($0, width: 3 * C) })
        }
    }

    func check(_ got: [Float], _ name: String, packedFrom pack: ([Float]) -> [Float]) throws {
        let d = Discrepancy(got, pack(try f(name)), atol: 1e-5, rtol: 1e-4)
        print("\(name) (real tokens): \(d)")
        #expect(d.withinTolerance, "\(name): \(d)")
    }

    @Test func embeddingAccumulatesRepeatedIds() throws {
        let ids = try i32("embedding.ids"), w = try f("embedding.w"), dout = try f("embedding.dout")
        var y = [Float](repeating: 0, count: ids.count * 4), dw = [Float](repeating: 0, count: w.count)
        Embedding.forward(out: &y, ids: ids, table: w, N: ids.count, C: 4, accumulate: false)
        Embedding.backward(dtable: &dw, dout: dout, ids: ids, N: ids.count, C: 4)
        try check(y, "embedding.y", atol: 0, rtol: 0)
        try check(dw, "embedding.dw")
    }

    @Test func crossEntropyLossAndGradient() throws {
        let logits = try f("crossentropy.logits"), labels = try i32("crossentropy.labels")
        var probs = [Float](repeating: 0, count: logits.count), dlogits = probs
        let loss = CrossEntropy.forward(probs: &probs, logits: logits, labels: labels, B: 5, K: 7)
        CrossEntropy.backward(dlogits: &dlogits, probs: probs, labels: labels, B: 5, K: 7)
        try check([loss], "crossentropy.loss")
        try check(dlogits, "crossentropy.dlogits")
    }

    /// Dropout has no PyTorch reference (its RNG differs); check its contract directly.
    @Test func dropoutIsInvertedAndReproducible() {
        let site = DropoutSite(probability: 0.25, seed: 7, step: 3, site: 1, positions: 64)
        let n = 100_000
        let x = [Float](repeating: 2, count: n)
        var y = [Float](repeating: 0, count: n)
        site.apply(out: &y, inp: x, count: n)
        let kept = y.filter { $0 != 0 }
        #expect(kept.allSatisfy { abs($0 - 2 / 0.75) < 1e-6 })
        let rate = Double(n - kept.count) / Double(n)
        #expect(abs(rate - 0.25) < 0.01, "drop rate \(rate)")
        // Same key, same mask; another step, another mask; backward uses the forward's mask.
        var again = [Float](repeating: 0, count: n)
        site.apply(out: &again, inp: x, count: n)
        #expect(again == y)
        let other = DropoutSite(probability: 0.25, seed: 7, step: 4, site: 1, positions: 64)
        #expect((0..<1000).contains { site.keeps($0) != other.keeps($0) })
        var dx = [Float](repeating: 0, count: n)
        site.backward(dinp: &dx, dout: x, count: n)
        #expect(dx == y)
    }

    /// Packed or padded, a sequence's token gets the same dropout decision.
    @Test func dropoutMasksDoNotDependOnPacking() {
        let site = DropoutSite(probability: 0.5, seed: 11, step: 0, site: 2, positions: 16)
        let C = 5, lengths = [4, 9, 2]
        var rows: [Int32] = [0]
        for L in lengths { rows.append(rows.last! + Int32(L)) }
        var packed = [Float](repeating: 1, count: Int(rows.last!) * C)
        site.applySequences(&packed, rows: rows, B: lengths.count, C: C)
        for (b, L) in lengths.enumerated() {
            for t in 0..<L {
                for c in 0..<C {
                    let expected: Float = site.keeps((b * 16 + t) * C + c) ? 2 : 0
                    #expect(packed[(Int(rows[b]) + t) * C + c] == expected)
                }
            }
        }
        #expect(packed.contains(0) && packed.contains(2))
    }
}
