import Testing
@testable import Kernels

@Test func sgemmMultipliesSmallMatrices() {
    // [1 2; 3 4] x [5 6; 7 8] = [19 22; 43 50]
    let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
    var c = [Float](repeating: 0, count: 4)
    c.withUnsafeMutableBufferPointer { cp in
        sgemm(transA: false, transB: false, m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, beta: 0, c: cp.baseAddress!, ldc: 2)
    }
    #expect(c == [19, 22, 43, 50])
}
