import Foundation
import Testing
@testable import Kernels

/// The one GEMM seam against a plain Double-precision loop, on every backend this build has
/// (OpenBLAS and oneDNN on Linux, Accelerate on macOS): every transpose, leading dimensions wider
/// than the matrices, alpha, beta 0 / 1 / other, empty sizes, and the split and single-call ways
/// of the large products.
struct GEMMTests {
    /// C = alpha op(A) op(B) + beta C in Double, row-major with leading dimensions.
    static func reference(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                          a: [Float], lda: Int, b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int) -> [Float] {
        var out = c
        // Raw pointers: the tests run unoptimized, and the largest product here has 5 M terms.
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { out in
                    let (sa, ta) = transA ? (1, lda) : (lda, 1)  // strides of op(A) along i and p
                    let (tb, sb) = transB ? (1, ldb) : (ldb, 1)  // strides of op(B) along p and j
                    for i in 0..<m {
                        for j in 0..<n {
                            var s = 0.0
                            var ia = i * sa, ib = j * sb
                            for _ in 0..<k {
                                s += Double(a[ia]) * Double(b[ib])
                                ia += ta
                                ib += tb
                            }
                            let old = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])  // beta 0 ignores C (even NaN)
                            out[i * ldc + j] = Float(Double(alpha) * s + old)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Random matrix of `rows` × `ld` with the columns past `cols` set to NaN: a kernel that
    /// reads outside the matrix (ignores the leading dimension) gives NaN.
    static func matrix(_ rows: Int, _ cols: Int, ld: Int, _ rng: inout SeededGenerator) -> [Float] {
        var x = [Float](repeating: .nan, count: max(1, rows * ld))
        for r in 0..<rows { for c in 0..<cols { x[r * ld + c] = rng.nextGaussian() } }
        return x
    }

    /// Checks one product: the columns of C past n (padding) must keep their sentinel.
    static func checkProduct(_ backend: GEMMBackend, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                             alpha: Float, beta: Float, pad: Int, via call: (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int,
                                                                            UnsafeMutablePointer<Float>, Int) -> Void) {
        var rng = SeededGenerator(seed: UInt64(m * 1_000_003 + n * 1009 + k * 7 + (transA ? 1 : 0) + (transB ? 2 : 0)))
        let (ar, ac) = transA ? (k, m) : (m, k), (br, bc) = transB ? (n, k) : (k, n)
        let lda = ac + pad, ldb = bc + pad, ldc = n + pad
        let a = matrix(ar, ac, ld: lda, &rng), b = matrix(br, bc, ld: ldb, &rng)
        var c = [Float](repeating: -7, count: max(1, m * ldc))
        for r in 0..<m { for j in 0..<n { c[r * ldc + j] = beta == 0 ? .nan : rng.nextGaussian() } }
        let want = reference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                             a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        c.withUnsafeMutableBufferPointer { cp in call(a, lda, b, ldb, cp.baseAddress!, ldc) }
        let what = "\(backend) \(transA ? "T" : "N")\(transB ? "T" : "N") m \(m) n \(n) k \(k) alpha \(alpha) beta \(beta) pad \(pad)"
        var inside: [Float] = [], wantInside: [Float] = []
        for r in 0..<m {
            for j in 0..<n { inside.append(c[r * ldc + j]); wantInside.append(want[r * ldc + j]) }
            for j in n..<ldc { #expect(c[r * ldc + j] == -7, "\(what): padding column \(j) of row \(r) written") }
        }
        let d = Discrepancy(inside, wantInside, atol: 1e-4, rtol: 1e-4)
        #expect(d.withinTolerance, "\(what): \(d)")
    }

    @Test(arguments: GEMMBackend.available)
    func sgemmMatchesTheDefinition(backend: GEMMBackend) {
        for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
            for (m, n, k) in [(1, 1, 1), (7, 5, 3), (13, 37, 64), (33, 17, 129), (64, 96, 40)] {
                for (alpha, beta) in [(Float(1), Float(0)), (1, 1), (0.5, 0), (-2, 0.25)] {
                    for pad in [0, 3] {
                        Self.checkProduct(backend, transA: transA, transB: transB, m: m, n: n, k: k,
                                          alpha: alpha, beta: beta, pad: pad) { a, lda, b, ldb, c, ldc in
                            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                  b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, backend: backend)
                        }
                    }
                }
            }
        }
    }

    /// m = 0 or n = 0 touch nothing; k = 0 leaves beta · C (zero for beta 0, even over NaN).
    @Test(arguments: GEMMBackend.available)
    func emptyProducts(backend: GEMMBackend) {
        for (m, n, k) in [(0, 5, 3), (4, 0, 3), (4, 5, 0), (0, 0, 0)] {
            for beta in [Float(0), 1, 2] {
                Self.checkProduct(backend, transA: false, transB: true, m: m, n: n, k: k, alpha: 1, beta: beta, pad: 1) {
                    a, lda, b, ldb, c, ldc in
                    sgemm(transA: false, transB: true, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                          beta: beta, c: c, ldc: ldc, backend: backend)
                }
            }
        }
    }

    /// The large-product path, split over 2 threads (by rows, or by columns when there are too
    /// few rows) and as one library call, with the prologue run over every row.
    @Test(arguments: GEMMBackend.available)
    func splitAndSingleCallProducts(backend: GEMMBackend) {
        for threading in GEMMThreading.allCases {
            for (transA, transB) in [(false, true), (false, false), (true, false)] {
                // Split by rows; one call (too small to split); split by columns (too few rows).
                for (m, n, k) in [(1100, 64, 64), (70, 48, 1030), (13, 200, 2000)] {
                    for beta in [Float(0), 1] {
                        ComputeContext(threads: 2, gemm: backend).run {
                            Self.checkProduct(backend, transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1,
                                              beta: beta, pad: 2) { a, lda, b, ldb, c, ldc in
                                var covered = [Bool](repeating: false, count: m)
                                let lock = NSLock()
                                sgemmSplit(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                                           beta: beta, c: c, ldc: ldc, backend: backend, threading: threading) { rows in
                                    lock.lock(); for r in rows { covered[r] = true }; lock.unlock()
                                }
                                #expect(covered.allSatisfy { $0 }, "\(backend) \(threading): the prologue missed rows")
                            }
                        }
                    }
                }
            }
        }
    }

    /// The backend of the context reaches the products made on Dispatch's threads (attention's),
    /// and a product there runs on one OpenMP thread: with two, the engine's pool and oneDNN's
    /// would oversubscribe the cores.
    @Test func contextReachesWorkerThreadsAndOneDNNStaysOnOneThreadThere() {
        for backend in GEMMBackend.available {
            // Dispatch may run every part on the calling thread when its workers are busy (other
            // tests): try again until some part ran elsewhere.
            var workerSeen = false
            for _ in 0..<50 where !workerSeen {
                ComputeContext(threads: 8, gemm: backend).run {
                    let lock = NSLock()
                    let caller = pthread_self()
                    var seen: [GEMMBackend] = [], ompThreads: [Int] = [], offCaller = 0
                    parallelFor(8, minChunk: 1) { _ in
                        usleep(2000)  // so that Dispatch's workers take some parts
                        var c = [Float](repeating: 0, count: 4)
                        let a: [Float] = [1, 2, 3, 4]
                        sgemm(transA: false, transB: false, m: 2, n: 2, k: 2, a: a, lda: 2, b: a, ldb: 2, beta: 0, c: &c, ldc: 2)
                        lock.lock()
                        seen.append(ComputeContext.current.gemm)
                        if pthread_equal(pthread_self(), caller) == 0 { offCaller += 1 }
                        #if canImport(CDNNL)
                        ompThreads.append(oneDNNThreadsOnThisThread())
                        #endif
                        lock.unlock()
                    }
                    workerSeen = offCaller > 0
                    #expect(seen == Array(repeating: backend, count: 8))
                    if backend == .onednn { #expect(ompThreads.allSatisfy { $0 == 1 }, "OpenMP threads per part: \(ompThreads)") }
                }
            }
            if !workerSeen { print("\(backend): Dispatch ran every part on the calling thread in 50 tries; workers not checked") }
        }
    }

    /// An unset or empty KOBERT_GEMM means the default; a name this build lacks is an error naming it.
    @Test func backendNamesAreParsedStrictly() throws {
        for backend in GEMMBackend.available {
            #expect(try GEMMBackend(parsing: backend.rawValue.uppercased(), source: "test") == backend)
        }
        #expect(throws: GEMMBackendError.self) { try GEMMBackend(parsing: "mkl", source: "test") }
        for missing in GEMMBackend.allCases where !GEMMBackend.available.contains(missing) {
            #expect(throws: GEMMBackendError.self) { try GEMMBackend(parsing: missing.rawValue, source: "test") }
        }
        #expect(ComputeContext().gemm == GEMMBackend.platformDefault)
        #expect(ComputeContext(threads: 3, gemm: GEMMBackend.available.last).run { ComputeContext().gemm } == GEMMBackend.available.last)
        #if canImport(CDNNL)
        #expect(GEMMBackend.onednn.summary.contains("isa "), "\(GEMMBackend.onednn.summary)")
        #endif
    }
}

/// The kernel tests whose products go through the GEMM seam (linear layers, attention, the few-rows
/// kernel against the library), against PyTorch's numbers, under each backend in turn.
@Test(arguments: GEMMBackend.available)
func gemmKernelTestsUnderEachBackend(backend: GEMMBackend) throws {
    let tests = try KernelTests()
    try ComputeContext(threads: 2, gemm: backend).run {
        try tests.linearForwardAndBackward()
        try tests.linearFewRowsMatchesBLASAtModelShapes()
        try tests.maskedAttentionForwardAndBackward()
    }
}
