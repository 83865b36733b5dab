import EmotionClassifier
import EmotionServer
import Foundation
import Logging
import Testing

/// The suites that run services on real ports: they share the process's service threads
/// (`DedicatedThreads.service`), so they run one at a time — a heavy-request test beside a timing test
/// made the timing test wait for a thread.
@Suite(.serialized) enum LiveServerSuites {}

/// The service as an app embeds it: `EmotionService.run` in a task of the app's (no executor chosen
/// by the test), stopped by cancelling that task.
extension LiveServerSuites {
    @Suite struct EmbeddedServiceTests {
        /// Every cooperative thread is blocked and a request is sent from a blocked thread: it is
        /// answered, as the service's tasks run on threads of their own.
        @Test func theServiceAnswersWhileEveryCooperativeThreadIsBlocked() async throws {
            try await withEmbeddedService { port in
                let outcome = try withEveryCooperativeThreadBlocked {
                    let connection = try RawConnection(port: port)
                    connection.send(predictRequest(#"{"inputs": "오늘 정말 좋아"}"#))
                    return connection.blockingRead(limit: 10)
                }
                #expect(outcome.poolWasBlocked, "the cooperative pool could not be blocked: the test proves nothing")
                let text = String(decoding: outcome.value.0, as: UTF8.self)
                #expect(text.hasPrefix("HTTP/1.1 200"), "no answer while the cooperative threads were blocked (\(outcome.value.seconds) s): \(text)")
            }
        }

        /// Cancelling the task that runs the service while connections are arriving — some with whole
        /// requests, some with half a body — is a graceful shutdown: the process is not stopped (a plain
        /// cancellation traps in NIO: "Deinited NIOAsyncWriter without calling finish()"), `run` returns,
        /// every connection is closed, and a request that is answered gets 200, or 503 once the queue
        /// refuses new work.
        @Test(arguments: [0, 2, 5, 10]) func cancellingTheServiceTaskShutsItDownGracefully(afterMilliseconds wait: Int) async throws {
            var options = defaultTestOptions()
            options.readTimeoutSeconds = 1   // the half bodies end in 408 within a second
            try await withEmbeddedService(options) { port, server, _ in
                let body = #"{"inputs": "너무 무서워서 잠을 못 잤어"}"#
                var whole: [RawConnection] = [], partial: [RawConnection] = []
                for k in 0..<12 {
                    let connection = try RawConnection(port: port)
                    if k % 3 == 2 {
                        connection.send(String(predictRequest(body).dropLast(20)))
                        partial.append(connection)
                    } else {
                        connection.send(predictRequest(body))
                        whole.append(connection)
                    }
                }
                try await Task.sleep(for: .milliseconds(wait))
                server.cancel()
                let stopped = await server.result
                if case .failure(let error) = stopped { Issue.record("run threw after a cancellation: \(error)") }
                for connection in whole {
                    let (data, closed, _) = await connection.readUntilClosed(limit: 10)
                    let text = String(decoding: data, as: UTF8.self)
                    // Empty: a connection the server had not yet read a request from when it stopped.
                    #expect(text.isEmpty || text.hasPrefix("HTTP/1.1 200") || text.hasPrefix("HTTP/1.1 503"), "\(text)")
                    #expect(closed)
                }
                for connection in partial {
                    let (_, closed, _) = await connection.readUntilClosed(limit: 10)
                    #expect(closed)
                }
            }
        }
    }
}

/// A port already in use is an error naming the address and the reason, not NIO's system call.
extension LiveServerSuites {
    @Suite struct ListenErrorTests {
        @Test func aPortInUseIsNamed() async throws {
            try await withEmbeddedService { port in
                var options = defaultTestOptions()
                options.host = "127.0.0.1"
                options.port = port
                let second = try buildApplication(model: try TinyModel.model(), options: options, logger: LogSink().logger)
                do {
                    try await second.run(gracefulShutdownSignals: [], logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
                    Issue.record("a second server on port \(port) did not fail")
                } catch {
                    #expect("\(error)" == "cannot serve on 127.0.0.1:\(port): Address already in use", "\(error)")
                }
                await second.queue.drain()
            }
        }
    }
}

/// Heavy requests (tokenizing long inputs) cannot take every service thread: `/health` is answered
/// at once while eight of them are being worked on (it waited 4.5–7 s behind them before).
extension LiveServerSuites {
    @Suite struct HeavyRequestTests {
        @Test func healthIsAnsweredWhileHeavyRequestsAreWorkedOn() async throws {
            var options = defaultTestOptions()
            options.maxClientBatchSize = 64
            options.maxBodyBytes = 1 << 20
            let sentence = String(repeating: "오늘 정말 행복한 하루였어 ", count: 600)   // 9,600 characters
            let body = #"{"inputs": ["# + Array(repeating: jsonString(sentence), count: 30).joined(separator: ",") + "]}"
            try await withEmbeddedService(options) { port, _, _ in
                var heavy: [RawConnection] = []
                for _ in 0..<8 {
                    let connection = try RawConnection(port: port)
                    connection.send("POST /tokenize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body)
                    heavy.append(connection)
                }
                try await Task.sleep(for: .milliseconds(300))
                let health = try RawConnection(port: port)
                health.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                let (answer, _, seconds) = await health.readUntilClosed(limit: 30)
                #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
                // Without a free thread it waited for the heavy requests: seconds, not milliseconds.
                #expect(seconds < 1.5, "/health took \(seconds) s behind the heavy requests")
                for connection in heavy {
                    let (data, _, _) = await connection.readUntilClosed(limit: 120)
                    #expect(String(decoding: data.prefix(12), as: UTF8.self) == "HTTP/1.1 200")
                }
            }
        }
    }
}

/// A request to `/predict` with `body`, asking the server to close the connection after it.
func predictRequest(_ body: String) -> String {
    "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
}

/// Runs the service on a free port of 127.0.0.1 in a plain task, as an app would, and calls `body`
/// with the port, that task and the service; cancels the task afterwards (if `body` has not) and
/// drains the queue.
func withEmbeddedService(_ options: ServerOptions = defaultTestOptions(),
                         _ body: (Int, Task<Void, any Error>, EmotionService) async throws -> Void) async throws {
    var options = options
    options.host = "127.0.0.1"
    options.port = 0
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let service = try buildApplication(model: try TinyModel.model(), options: options, logger: LogSink().logger) { _, port in
        continuation.yield(port)
    }
    let server = Task {
        try await service.run(gracefulShutdownSignals: [], logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }
    var iterator = ports.makeAsyncIterator()
    let port = await iterator.next()
    var failure: (any Error)?
    if let port {
        do { try await body(port, server, service) } catch { failure = error }
    } else {
        failure = ServerError("the server did not start")
    }
    server.cancel()
    _ = await server.result
    await service.queue.drain()
    if let failure { throw failure }
}

func withEmbeddedService(_ body: (Int) async throws -> Void) async throws {
    try await withEmbeddedService(defaultTestOptions()) { port, _, _ in try await body(port) }
}

/// Runs `body` on the calling thread while every other thread of Swift's cooperative pool is blocked:
/// blockers are started until a probe task stays unrun for 300 ms, so it works whatever the pool's
/// width. `poolWasBlocked` says whether the probe was still unrun when `body` returned.
func withEveryCooperativeThreadBlocked<T>(_ body: () throws -> T) rethrows -> (value: T, poolWasBlocked: Bool) {
    let release = DispatchSemaphore(value: 0)
    let probeRan = Flag()
    var blockers = 0
    var probe: Task<Void, Never>?
    while blockers < 256 {
        let started = DispatchSemaphore(value: 0)
        Task.detached { started.signal(); release.wait() }
        blockers += 1
        // A blocker that does not start within 300 ms found the pool full.
        if started.wait(timeout: .now() + 0.3) == .timedOut {
            probe = Task.detached { probeRan.set() }
            break
        }
    }
    defer {
        for _ in 0..<blockers { release.signal() }
        _ = probe
    }
    let value = try body()
    return (value, probe != nil && !probeRan.isSet)
}
