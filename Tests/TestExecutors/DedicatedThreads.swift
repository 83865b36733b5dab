import Foundation

/// A task executor with threads of its own, for the servers tests run in-process (the fake Hub,
/// the emotion service) and the clients that measure them.
///
/// Swift's cooperative pool has one thread per core (two here), and a synchronous test — a training
/// run, a `waitUntilExit` on the tool — holds one of them for as long as it runs. Two such tests
/// at once left an in-process server no thread to answer on: the tool under test timed out against
/// the fake Hub (`HTTPClientError.deadlineExceeded`) although nothing was wrong with either. Work run
/// under `withTaskExecutorPreference(DedicatedThreads.servers)` — and every child task it creates,
/// as Hummingbird's per-connection tasks are — runs on these threads instead, whatever else the
/// test process is doing.
public final class DedicatedThreads: TaskExecutor, @unchecked Sendable {
    /// Shared by every in-process server of the test process.
    public static let servers = DedicatedThreads(count: 4, name: "test-servers")

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var next = 0

    public init(count: Int, name: String) {
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

/// Runs `body` on `DedicatedThreads.servers` (and the child tasks it creates).
public func onServerThreads<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
    try await withTaskExecutorPreference(DedicatedThreads.servers, operation: body)
}
