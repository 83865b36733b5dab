import Executors
import Foundation

// Swift's cooperative pool has one thread per core (two here), and a synchronous test — a training
// run, a `waitUntilExit` on the tool — holds one of them for as long as it runs. Two such tests at
// once left an in-process server no thread to answer on: the tool under test timed out against the
// fake Hub (`HTTPClientError.deadlineExceeded`) although nothing was wrong with either. The servers
// tests run in-process (the fake Hub; the emotion service, which `EmotionService.run` already puts on
// threads of its own) and the clients that measure them run on `DedicatedThreads.servers` instead.

@available(macOS 15.0, iOS 18.0, *)
extension DedicatedThreads {
    /// Shared by every in-process server of the test process.
    public static let servers = DedicatedThreads(count: 4, name: "test-servers")
}

/// Runs `body` on `DedicatedThreads.servers` (and the child tasks it creates).
public func onServerThreads<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
    if #available(macOS 15.0, iOS 18.0, *) {
        return try await withTaskExecutorPreference(DedicatedThreads.servers, operation: body)
    }
    return try await body()
}

/// An unstructured task running `body` on `DedicatedThreads.servers`.
public func serverTask<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Task<T, any Error> {
    if #available(macOS 15.0, iOS 18.0, *) {
        return Task(executorPreference: DedicatedThreads.servers, operation: body)
    }
    return Task(operation: body)
}
