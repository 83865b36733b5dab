import Foundation

/// A task executor with threads of its own: work run under
/// `withTaskExecutorPreference(threads)`, and every child task it creates (Hummingbird's
/// per-connection tasks are child tasks), runs on these threads instead of Swift's cooperative pool.
///
/// The cooperative pool has one thread per core. A host process that blocks those threads — a
/// synchronous wait, a long computation in a task, a test running the tool and waiting for it —
/// would otherwise leave a server in the same process no thread to answer on. The HTTP service
/// (`EmotionService.run`) runs on `DedicatedThreads.service`; tests run their in-process servers on
/// threads of the same kind.
///
/// Jobs run in arrival order on whichever thread is free. The threads live as long as the process
/// (an executor is made once, as a static, and never torn down: a job may still arrive late).
@available(macOS 15.0, iOS 18.0, *)
public final class DedicatedThreads: TaskExecutor, @unchecked Sendable {
    /// The HTTP service's threads (`serviceThreadCount`).
    public static let service = DedicatedThreads(count: serviceThreadCount, name: "kobert-emotion service")

    /// How many threads this executor has.
    public let count: Int

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var next = 0

    /// Starts `count` threads named `name-0`, `name-1`, …
    public init(count: Int, name: String) {
        precondition(count > 0, "DedicatedThreads needs at least one thread")
        self.count = count
        for k in 0..<count {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "\(name)-\(k)"
            thread.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while next == jobs.count { condition.wait() }
            let job = jobs[next]
            next += 1
            if next == jobs.count { jobs.removeAll(keepingCapacity: true); next = 0 }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// The HTTP service's threads: one per core (at least 2, at most 8) for the handlers that parse,
/// tokenize and answer, and one more that such work never takes, for the light routes (/health). The
/// model itself runs on the inference queue's thread.
public let serviceThreadCount = min(8, max(2, ProcessInfo.processInfo.activeProcessorCount)) + 1

/// Runs `body` (and the child tasks it creates) on `DedicatedThreads.service` where the platform has
/// task executors (Linux; macOS 15, iOS 18); on the cooperative pool elsewhere.
public func onServiceThreads<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
    if #available(macOS 15.0, iOS 18.0, *) {
        return try await withTaskExecutorPreference(DedicatedThreads.service, operation: body)
    }
    return try await body()
}

/// An unstructured task running `body` on `DedicatedThreads.service` where the platform has task
/// executors (Linux; macOS 15, iOS 18); on the cooperative pool elsewhere.
public func serviceTask<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Task<T, any Error> {
    if #available(macOS 15.0, iOS 18.0, *) {
        return Task(executorPreference: DedicatedThreads.service, operation: body)
    }
    return Task(operation: body)
}
