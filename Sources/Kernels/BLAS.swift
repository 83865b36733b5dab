#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C.
///
/// `op(A)` is M x K, `op(B)` is K x N and C is M x N, all row-major with leading dimensions
/// `lda`, `ldb`, `ldc` (the row strides of the matrices as stored, before any transpose).
@inline(__always)
public func sgemm(
    transA: Bool, transB: Bool,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || n == 0 { return }
    cblas_sgemm(
        CblasRowMajor,
        transA ? CblasTrans : CblasNoTrans,
        transB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k),
        alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Sets the number of threads BLAS uses (OpenBLAS only; Accelerate manages its own).
public func setBLASThreads(_ n: Int) {
    #if !canImport(Accelerate)
    openblas_set_num_threads(Int32(n))
    #endif
}

/// The number of threads BLAS uses (1 where it cannot be read).
public func blasThreads() -> Int {
    #if canImport(Accelerate)
    return 1
    #else
    return Int(openblas_get_num_threads())
    #endif
}
