#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C.
///
/// `op(A)` is M x K, `op(B)` is K x N and C is M x N, all row-major with leading dimensions
/// `lda`, `ldb`, `ldc` (the row strides of the matrices as stored, before any transpose).
///
/// Single-threaded on OpenBLAS (see `sgemmSplit`, which the engine's large products go through);
/// attention calls this for its many small per-head products, already spread over the cores.
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

/// Holds OpenBLAS to one thread for the whole process (a no-op with Accelerate). The engine splits
/// its large products across the threads of its `ComputeContext` itself (`sgemmSplit`), so BLAS's
/// own threads would only compete with them. `BertRunner.init` calls this: an app that links the
/// engine and also calls OpenBLAS itself gets single-threaded OpenBLAS from then on (it may call
/// `openblas_set_num_threads` again, at the cost of the engine's speed).
public func holdBLASToOneThread() {
    _ = blasSingleThreaded
}

private let blasSingleThreaded: Void = {
    #if !canImport(Accelerate)
    openblas_set_num_threads(1)
    #endif
}()

/// `sgemm` for the model's large products, with the rows of C split across the threads of
/// `ComputeContext.current`
/// (each part one BLAS call; `prologue` runs first on each part's rows, e.g. to write a bias).
///
/// On OpenBLAS the library itself is held to one thread: its worker threads spin for a while
/// after every call, and on a machine with as many cores as workers they took CPU from the
/// element-wise kernels that run between the products (about a tenth of a training step). One
/// pool of threads for everything avoids that, at the same GEMM rate. Accelerate threads its own
/// calls, so there the product is one call.
public func sgemmSplit(
    transA: Bool, transB: Bool,
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    prologue: ((Range<Int>) -> Void)? = nil
) {
    #if canImport(Accelerate)
    prologue?(0..<m)
    sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    #else
    // Parts of at least 32 rows and about 2^21 multiply-adds: smaller products stay in one call.
    let minRows = max(32, (1 << 21) / max(1, n * k))
    parallelFor(m, minChunk: minRows) { rows in
        prologue?(rows)
        let r0 = rows.lowerBound
        sgemm(transA: transA, transB: transB, m: rows.count, n: n, k: k,
              a: a + (transA ? r0 : r0 * lda), lda: lda, b: b, ldb: ldb, beta: beta, c: c + r0 * ldc, ldc: ldc)
    }
    #endif
}

