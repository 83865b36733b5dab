import Dispatch

/// Runs `body` over `0..<count` split into contiguous chunks on the threads of the current
/// `ComputeContext`.
///
/// Work smaller than `minChunk` items stays on the calling thread, so tiny shapes (tests, batch 1)
/// pay no dispatch cost. `body` receives a half-open range and must only write to memory that
/// belongs to that range.
@inline(__always)
public func parallelFor(_ count: Int, minChunk: Int = 4096, _ body: (Range<Int>) -> Void) {
    let context = ComputeContext.current
    let workers = min(context.threads, max(1, count / max(1, minChunk)))
    if workers <= 1 {
        body(0..<count)
        return
    }
    let chunk = (count + workers - 1) / workers
    // Task-local values do not follow work onto Dispatch's threads: each part runs in the caller's
    // context, so the products inside it (attention's) use the caller's backend.
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        let lo = w * chunk
        let hi = min(count, lo + chunk)
        if lo < hi { context.run { body(lo..<hi) } }
    }
}

/// The threads and the matrix-product library the engine's kernels use. A runner is given one and
/// runs its passes inside it (`run`); nothing process-wide changes. What is not given is the
/// current context's (`current`: inside a `run`, that context; outside any, every online core and
/// the platform's default backend, `GEMMBackend.platformDefault`), so a command that runs its work
/// inside one context reaches every runner it makes.
///
/// The thread count is the one limit for every pool the engine uses: the Dispatch workers of
/// `parallelFor` and the split products, and oneDNN's OpenMP threads, which are set from it on
/// the thread that calls the library (OpenBLAS is held to one thread, `holdBLASToOneThread`).
public struct ComputeContext: Sendable, Equatable {
    /// Threads for the element-wise kernels and the split matrix products (at least 1).
    public var threads: Int
    /// The library that computes the matrix products.
    public var gemm: GEMMBackend

    /// - Parameter gemm: a backend this build lacks (see `GEMMBackend.available`) counts as not
    ///   given; parse user input with `GEMMBackend(parsing:source:)`, which rejects it.
    public init(threads: Int? = nil, gemm: GEMMBackend? = nil) {
        let outer = ComputeContext.current
        self.threads = max(1, threads ?? outer.threads)
        self.gemm = gemm.flatMap { GEMMBackend.available.contains($0) ? $0 : nil } ?? outer.gemm
    }

    private init(defaultFor _: Void) {
        threads = Self.onlineCores
        gemm = GEMMBackend.platformDefault
    }

    /// The number of online cores.
    public static var onlineCores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// The context the kernels on this thread (or task) use: the innermost `run`, else the default.
    @TaskLocal public static var current = ComputeContext(defaultFor: ())

    /// Runs `body` with this context as `current`.
    public func run<R>(_ body: () throws -> R) rethrows -> R {
        try ComputeContext.$current.withValue(self, operation: body)
    }
}

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
