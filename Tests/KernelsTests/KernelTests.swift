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
    /// PyTorch: shapes that reach its 3 x 4 blocks, 8-wide loop and every tail. Each output is written
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

    /// The few-rows kernel agrees with BLAS at the model's shapes (C = 768, 3072) for 1 ... 32 rows
    /// and with both cores splitting the outputs.
    @Test func linearFewRowsMatchesBLASAtModelShapes() throws {
        var rng = SeededGenerator(seed: 11)
        for (C, OC) in [(768, 2304), (3072, 768), (768, 7)] {
            let w = (0..<OC * C).map { _ in rng.nextGaussian() * 0.05 }, b = (0..<OC).map { _ in rng.nextGaussian() }
            for N in [1, 2, 3, 4, 13, 32] {
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
        var y = [Float](repeating: 0, count: N * C), mean = [Float](repeating: 0, count: N), rstd = mean
        LayerNorm.forward(out: &y, mean: &mean, rstd: &rstd, inp: x, weight: w, bias: b, N: N, C: C, eps: 1e-12)
        try check(y, "layernorm.y")
        var dx = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0, count: C), db = dw
        LayerNorm.backward(dinp: &dx, dweight: &dw, dbias: &db, dout: dout, inp: x, weight: w, mean: mean, rstd: rstd, N: N, C: C)
        try check(dx, "layernorm.dx")
        try check(dw, "layernorm.dw")
        try check(db, "layernorm.db")
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
        var out = [Float](repeating: 0, count: N * C), probs = [Float](repeating: .nan, count: B * NH * T * T)
        Attention.forward(out: &out, probs: &probs, probsDropped: nil, dropout: nil, qkv: qkv, rows: rows,
                          B: B, T: T, NH: NH, HS: HS)
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
                           dropout: nil, rows: rows, B: B, T: T, NH: NH, HS: HS)
        try check(dqkv, "attention.dqkv", packedFrom: { pack($0, width: 3 * C) })
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
