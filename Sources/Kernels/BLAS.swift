#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
#if canImport(CDNNL)
import CDNNL
#endif
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// The library that computes the engine's matrix products: OpenBLAS or oneDNN on Linux, Accelerate
/// on Apple platforms. A field of `ComputeContext` (`gemm`), never process-wide.
public enum GEMMBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case openblas
    case onednn
    case accelerate

    /// The backends this build links, the default first.
    public static var available: [GEMMBackend] {
        #if canImport(Accelerate)
        return [.accelerate]
        #elseif canImport(CDNNL)
        return [.onednn, .openblas]
        #else
        return [.openblas]
        #endif
    }

    /// The backend a context gets unless told otherwise: oneDNN where it is linked, else the only
    /// one there is. Measured on 2 AVX2 cores (kobert-bench `--case sgemm-shapes`, GF per CPU
    /// second, the machine shared): on every large product of training, forward and backward,
    /// oneDNN is at least as fast as OpenBLAS (no class of shapes where OpenBLAS wins beyond the
    /// noise, so no dispatch by shape), and on one sentence's products 1.2–1.6× OpenBLAS and
    /// about 1.1× the engine's few-rows AVX2 kernel.
    public static var platformDefault: GEMMBackend { available[0] }

    /// `KOBERT_GEMM` (openblas | onednn | accelerate) from the environment: `nil` when unset or
    /// empty; an error naming the variable when it names no backend this build has.
    public static func fromEnvironment() throws -> GEMMBackend? {
        guard let raw = getenv("KOBERT_GEMM") else { return nil }
        let value = String(cString: raw)
        if value.isEmpty { return nil }
        return try GEMMBackend(parsing: value, source: "KOBERT_GEMM")
    }

    /// Parses a backend name (case-insensitive), checking this build has it; `source` names where
    /// the text came from in the error.
    public init(parsing text: String, source: String) throws {
        guard let backend = GEMMBackend(rawValue: text.lowercased()) else {
            throw GEMMBackendError(message: "\(source): unknown matrix-product backend \"\(text)\" (expected \(GEMMBackend.available.map(\.rawValue).joined(separator: " or ")))")
        }
        guard GEMMBackend.available.contains(backend) else {
            throw GEMMBackendError(message: "\(source): backend \(backend.rawValue) is not available in this build (available: \(GEMMBackend.available.map(\.rawValue).joined(separator: ", ")))")
        }
        self = backend
    }

    public var description: String { rawValue }

    /// Library, version and the instruction set it runs on, for logs and `--version`, e.g.
    /// "oneDNN 2.6.3 (isa avx2)" or "OpenBLAS 0.3.21 (core Haswell)".
    public var summary: String {
        switch self {
        case .accelerate:
            return "Accelerate"
        case .openblas:
            #if canImport(Accelerate)
            return "OpenBLAS (not in this build)"
            #else
            let config = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
            let version = config.split(separator: " ").prefix(2).joined(separator: " ")
            let core = openblas_get_corename().map { String(cString: $0) } ?? "?"
            return "\(version) (core \(core))"
            #endif
        case .onednn:
            #if canImport(CDNNL)
            let v = dnnl_version().pointee
            return "oneDNN \(v.major).\(v.minor).\(v.patch) (isa \(oneDNNEffectiveISA))"
            #else
            return "oneDNN (not in this build)"
            #endif
        }
    }
}

/// A `KOBERT_GEMM` / `--gemm` value that names no backend of this build.
public struct GEMMBackendError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

#if canImport(CDNNL)
/// The instruction set oneDNN dispatches to on this CPU (`dnnl_get_effective_cpu_isa`).
public var oneDNNEffectiveISA: String {
    switch dnnl_get_effective_cpu_isa() {
    case dnnl_cpu_isa_sse41: return "sse41"
    case dnnl_cpu_isa_avx: return "avx"
    case dnnl_cpu_isa_avx2: return "avx2"
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni"
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic"
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops"
    case dnnl_cpu_isa_avx512_core: return "avx512_core"
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni"
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16"
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx"
    case let other: return "0x\(String(other.rawValue, radix: 16))"
    }
}

/// OpenMP's per-thread thread count (Debian's oneDNN runs on libgomp, loaded with libdnnl). For a
/// thread OpenMP did not create, such as the engine's Dispatch workers, the setting is that
/// thread's own, so it is set where a product is computed, from the compute context. Looked up in
/// the process rather than linked, so building needs no OpenMP development files.
private typealias OMPGet = @convention(c) () -> Int32
private typealias OMPSet = @convention(c) (Int32) -> Void
private let ompGetMaxThreads: OMPGet? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omp_get_max_threads")
    .map { unsafeBitCast($0, to: OMPGet.self) }
private let ompSetNumThreads: OMPSet? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omp_set_num_threads")
    .map { unsafeBitCast($0, to: OMPSet.self) }

/// Makes oneDNN's next calls on this thread use `threads` OpenMP threads (no-op when it already does).
@inline(__always)
private func holdOpenMP(to threads: Int) {
    guard let get = ompGetMaxThreads, let set = ompSetNumThreads else { return }
    if Int(get()) != threads { set(Int32(threads)) }
}

/// The OpenMP thread count oneDNN's calls on this thread use (0 without OpenMP); for tests.
package func oneDNNThreadsOnThisThread() -> Int { Int(ompGetMaxThreads?() ?? 0) }
#endif

/// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C.
///
/// `op(A)` is M x K, `op(B)` is K x N and C is M x N, all row-major with leading dimensions
/// `lda`, `ldb`, `ldc` (the row strides of the matrices as stored, before any transpose).
/// With K = 0 the product is empty: C = beta * C (C's old contents ignored when beta is 0).
///
/// Single-threaded (see `sgemmSplit`, which the engine's large products go through); attention
/// calls this for its many small per-head products, already spread over the cores. `backend`
/// defaults to the current compute context's.
@inline(__always)
public func sgemm(
    transA: Bool, transB: Bool,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    backend: GEMMBackend? = nil
) {
    gemmCall(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
             beta: beta, c: c, ldc: ldc, backend: backend ?? ComputeContext.current.gemm, threads: 1)
}

/// One library call on `threads` threads of the library's own pool (OpenBLAS is held to one
/// thread for the process, so `threads` only matters for oneDNN).
@inline(__always)
private func gemmCall(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
    backend: GEMMBackend, threads: Int
) {
    if m == 0 || n == 0 { return }
    if k == 0 {  // nothing to multiply: the libraries differ on (and some reject) empty products
        for i in 0..<m {
            let row = c + i * ldc
            if beta == 0 { row.update(repeating: 0, count: n) } else if beta != 1 { for j in 0..<n { row[j] *= beta } }
        }
        return
    }
    #if canImport(CDNNL)
    if backend == .onednn {
        holdOpenMP(to: threads)
        let status = dnnl_sgemm(transA ? 0x54 : 0x4E, transB ? 0x54 : 0x4E,  // "T" / "N"
                                dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), alpha,
                                a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc))
        if status == dnnl_success { return }
        // oneDNN refused (e.g. no memory for its scratch): OpenBLAS computes the same product.
    }
    #endif
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

/// How a large product uses the context's threads: rows split over the engine's Dispatch pool,
/// each part one single-threaded library call, or one call threaded by the library itself
/// (oneDNN's OpenMP with the context's thread count). Either way no more threads than the
/// context's compute at once.
package enum GEMMThreading: String, Sendable, CaseIterable {
    case split
    case single
}

/// The threading `sgemmSplit` uses for `backend` unless told otherwise. oneDNN as one OpenMP-threaded
/// call did less work per CPU second than split on every measured shape (its idle OpenMP threads
/// spin), and far less on one sentence's products (2–14 against 36–59 GF per CPU second), so it
/// is split too: then no OpenMP thread ever runs beside the engine's pool.
package func defaultThreading(for backend: GEMMBackend) -> GEMMThreading {
    switch backend {
    case .openblas: return .split
    case .onednn: return .split
    case .accelerate: return .single
    }
}

/// `sgemm` for the model's large products on the threads of `ComputeContext.current` (its
/// `threads` and `gemm`); `prologue` runs first on each part's rows, e.g. to write a bias.
///
/// On OpenBLAS the rows of C are split across the engine's threads, each part one call, and the
/// library itself is held to one thread: its worker threads spin for a while after every call,
/// and on a machine with as many cores as workers they took CPU from the element-wise kernels
/// that run between the products (about a tenth of a training step). oneDNN is split the same way
/// (each part one OpenMP thread). Products with too few rows to split (one sentence) are split by
/// columns. Accelerate threads its own calls, so there the product is one call.
public func sgemmSplit(
    transA: Bool, transB: Bool,
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    prologue: ((Range<Int>) -> Void)? = nil
) {
    let context = ComputeContext.current
    sgemmSplit(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
               c: c, ldc: ldc, backend: context.gemm, threading: defaultThreading(for: context.gemm),
               prologue: prologue)
}

/// `sgemmSplit` with the backend and threading given (benchmarks and tests compare them).
package func sgemmSplit(
    transA: Bool, transB: Bool,
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    backend: GEMMBackend, threading: GEMMThreading,
    prologue: ((Range<Int>) -> Void)? = nil
) {
    if threading == .single || backend == .accelerate {
        prologue?(0..<m)
        gemmCall(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
                 beta: beta, c: c, ldc: ldc, backend: backend,
                 threads: ComputeContext.current.threads)
        return
    }
    // Parts of at least 32 rows and about 2^21 multiply-adds: smaller products stay in one call.
    let minRows = max(32, (1 << 21) / max(1, n * k))
    let threads = ComputeContext.current.threads
    if threads > 1 && m < 2 * minRows && m * n * k >= 1 << 22 {
        // Too few rows to split (one sentence's products): split the columns of C instead, in
        // parts of at least 64 columns and about 2^21 multiply-adds.
        prologue?(0..<m)
        parallelFor(n, minChunk: max(64, (1 << 21) / max(1, m * k))) { cols in
            let j0 = cols.lowerBound
            gemmCall(transA: transA, transB: transB, m: m, n: cols.count, k: k, alpha: 1,
                     a: a, lda: lda, b: b + (transB ? j0 * ldb : j0), ldb: ldb, beta: beta, c: c + j0, ldc: ldc,
                     backend: backend, threads: 1)
        }
        return
    }
    parallelFor(m, minChunk: minRows) { rows in
        prologue?(rows)
        let r0 = rows.lowerBound
        gemmCall(transA: transA, transB: transB, m: rows.count, n: n, k: k, alpha: 1,
                 a: a + (transA ? r0 : r0 * lda), lda: lda, b: b, ldb: ldb, beta: beta, c: c + r0 * ldc, ldc: ldc,
                 backend: backend, threads: 1)
    }
}
