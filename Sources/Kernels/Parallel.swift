import Dispatch

/// Runs `body` over `0..<count` split into contiguous chunks on the threads of the current
/// `ComputeContext`.
///
/// Work smaller than `minChunk` items stays on the calling thread, so tiny shapes (tests, batch 1)
/// pay no dispatch cost. `body` receives a half-open range and must only write to memory that
/// belongs to that range.
@inline(__always)
public func parallelFor(_ count: Int, minChunk: Int = 4096, _ body: (Range<Int>) -> Void) {
    let workers = min(ComputeContext.current.threads, max(1, count / max(1, minChunk)))
    if workers <= 1 {
        body(0..<count)
        return
    }
    let chunk = (count + workers - 1) / workers
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        let lo = w * chunk
        let hi = min(count, lo + chunk)
        if lo < hi { body(lo..<hi) }
    }
}

/// The threads the engine's kernels use. A runner is given one and runs its passes inside it
/// (`run`); nothing process-wide changes. The default uses every online core.
public struct ComputeContext: Sendable, Equatable {
    /// Threads for the element-wise kernels and the split matrix products (at least 1).
    public var threads: Int

    public init(threads: Int? = nil) {
        self.threads = max(1, threads ?? Self.onlineCores)
    }

    /// The number of online cores.
    public static var onlineCores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// The context the kernels on this thread (or task) use: the innermost `run`, else the default.
    @TaskLocal public static var current = ComputeContext()

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
