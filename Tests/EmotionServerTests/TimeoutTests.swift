import EmotionClassifier
import EmotionServer
import Foundation
import Logging
import TestExecutors
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Connection and request timeouts, on a real port on the loopback with raw sockets: a slow or idle
/// client must not hold a connection, and a request that timed out in the queue is never computed.
extension LiveServerSuites {
    @Suite struct TimeoutTests {
        /// A connection that sends nothing is closed after the idle timeout.
        @Test func idleConnectionIsClosed() async throws {
            var options = defaultTestOptions()
            options.idleTimeoutSeconds = 0.3
            try await withLiveServer(options) { port, _ in
                let connection = try RawConnection(port: port)
                let (data, closed, seconds) = await connection.readUntilClosed(limit: 10)
                #expect(closed, "the idle connection was still open after 10 s")
                #expect(data.isEmpty)
                #expect(seconds < 5, "closed after \(seconds) s")
            }
        }

        /// A keep-alive connection is closed after the idle timeout once its request is answered; an
        /// unfinished request head is closed too.
        @Test func keepAliveAndUnfinishedHeadAreClosed() async throws {
            var options = defaultTestOptions()
            options.idleTimeoutSeconds = 0.3
            try await withLiveServer(options) { port, _ in
                let keepAlive = try RawConnection(port: port)
                keepAlive.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                let (answer, closed, seconds) = await keepAlive.readUntilClosed(limit: 10)
                #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
                #expect(closed && seconds < 5, "closed: \(closed), after \(seconds) s")

                let head = try RawConnection(port: port)
                head.send("POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
                let (_, headClosed, headSeconds) = await head.readUntilClosed(limit: 10)
                #expect(headClosed && headSeconds < 5, "closed: \(headClosed), after \(headSeconds) s")
            }
        }

        /// A body that trickles in (a byte every 50 ms, so never idle) is answered 408 after the read
        /// timeout and its connection closed.
        @Test func tricklingBodyIs408AndClosed() async throws {
            var options = defaultTestOptions()
            options.idleTimeoutSeconds = 30
            options.readTimeoutSeconds = 0.5
            try await withLiveServer(options) { port, _ in
                let connection = try RawConnection(port: port)
                connection.send("POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"inputs\": \"")
                let trickle = Thread { for _ in 0..<400 { if !connection.send("a") { return }; usleep(50_000) } }
                trickle.start()
                let (data, closed, seconds) = await connection.readUntilClosed(limit: 15)
                let text = String(decoding: data, as: UTF8.self)
                #expect(text.hasPrefix("HTTP/1.1 408"), "\(text)")
                #expect(text.contains("did not arrive within 0.5 s"), "\(text)")
                #expect(closed && seconds < 10, "closed: \(closed), after \(seconds) s")
            }
        }

        /// Requests that time out while waiting in the queue are dropped when the batch is formed, at
        /// every position (not only the head): all are answered 429 and no batch is computed; the
        /// next request is served alone.
        @Test func expiredRequestsAreNotComputed() async throws {
            var options = defaultTestOptions()
            options.maxWaitMilliseconds = 1500       // the idle worker waits for a fuller batch ...
            options.requestTimeoutSeconds = 0.2      // ... longer than the requests may wait
            try await withServer(options) { client, _ in
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for k in 0..<5 {
                        group.addTask {
                            Int(try await client.post("/predict", #"{"inputs": \#(jsonString(sampleSentences[k]))}"#).status.code)
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses == Array(repeating: 429, count: 5))
                // Let the worker's wait end and the batch be formed.
                try await Task.sleep(for: .milliseconds(2000))
                let before = try await client.get("/metrics").text
                #expect((metricValue(before, "kobert_batch_size_count") ?? 0) == 0, "timed-out sentences were computed:\n\(before)")
                #expect(metricValue(before, "kobert_queue_depth") == 0)
            }
            // With a long timeout the same server computes them (the test can see a batch).
            options.requestTimeoutSeconds = 30
            options.maxWaitMilliseconds = 1
            try await withServer(options) { client, _ in
                #expect(try await client.post("/predict", #"{"inputs": "좋아"}"#).status == .ok)
                let after = try await client.get("/metrics").text
                #expect(metricValue(after, "kobert_batch_size_count") == 1, "\(after)")
            }
        }

        /// A request that waits past its timeout is answered 429 on time while every thread of Dispatch's
        /// global queues is busy with the host process's work: the timeout timers run on a queue of the
        /// server's own (on a global queue, the 429 came only when the host's work ended).
        @Test func requestTimeoutIsAnsweredWhileDispatchsGlobalQueuesAreBusy() async throws {
            var options = defaultTestOptions()
            options.requestTimeoutSeconds = 0.3
            try await withServer(options) { client, service in
                service.queue.hold(true)                      // the request can only time out
                defer { service.queue.hold(false) }
                let release = DispatchSemaphore(value: 0)
                let busy = 256       // more than the threads Dispatch adds when its pool stays blocked
                for _ in 0..<busy {
                    DispatchQueue.global().async { _ = release.wait(timeout: .now() + 10) }
                }
                defer { for _ in 0..<busy { release.signal() } }
                let start = Date()
                let response = try await client.post("/predict", #"{"inputs": "좋아"}"#)
                let seconds = Date().timeIntervalSince(start)
                #expect(response.status == .tooManyRequests, "\(response.text)")
                // 0.3 s is due; the global queues stay busy for 10 s.
                #expect(seconds < 5, "the 429 came after \(seconds) s")
            }
        }
    }
}

/// Runs the service on 127.0.0.1 on a free port (`withEmbeddedService`), calls `body` with the port
/// and the service on threads of its own (TestExecutors), then stops it.
func withLiveServer(_ options: ServerOptions, _ body: @escaping @Sendable (Int, EmotionService) async throws -> Void) async throws {
    try await withEmbeddedService(options) { port, _, service in
        try await onServerThreads { try await body(port, service) }
    }
}

/// A blocking TCP connection to 127.0.0.1 (raw, so the test controls every byte and its timing).
final class RawConnection: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw ServerError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(fd); throw ServerError("connect to 127.0.0.1:\(port) failed") }
    }

    deinit { close(fd) }

    /// Sends `text`; false once the peer has closed (no SIGPIPE).
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        #if canImport(Glibc)
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
        #else
        return bytes.withUnsafeBytes { Darwin.send(fd, $0.baseAddress, $0.count, 0) } == bytes.count
        #endif
    }

    /// Reads until the peer closes or `limit` seconds pass: what was read, whether it closed, when.
    /// The blocking reads run on a thread of their own, never on the test's cooperative threads
    /// (which the server's handlers need).
    func readUntilClosed(limit: Double) async -> (Data, closed: Bool, seconds: Double) {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: self.blockingRead(limit: limit)) }
        }
    }

    func blockingRead(limit: Double) -> (Data, closed: Bool, seconds: Double) {
        let start = Date()
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = limit - Date().timeIntervalSince(start)
            if left <= 0 { return (data, false, Date().timeIntervalSince(start)) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(left * 1000))
            if ready <= 0 { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return (data, true, Date().timeIntervalSince(start)) }
            data.append(contentsOf: buffer[0..<n])
        }
    }
}
