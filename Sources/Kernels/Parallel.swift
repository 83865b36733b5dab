import Dispatch

/// Runs `body` over `0..<count` split into contiguous chunks on all cores.
///
/// Work smaller than `minChunk` items stays on the calling thread, so tiny shapes (tests, batch 1)
/// pay no dispatch cost. `body` receives a half-open range and must only write to memory that
/// belongs to that range.
@inline(__always)
public func parallelFor(_ count: Int, minChunk: Int = 4096, _ body: (Range<Int>) -> Void) {
    let workers = min(Concurrency.workers, max(1, count / max(1, minChunk)))
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

/// How many threads the element-wise kernels use (defaults to the number of active cores).
public enum Concurrency {
    nonisolated(unsafe) public static var workers: Int = ProcessInfoCores.active
}

enum ProcessInfoCores {
    static var active: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
