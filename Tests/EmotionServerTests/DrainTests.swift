import EmotionClassifier
import EmotionServer
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Graceful drain: queued work is finished, new work refused, the process exits 0 on SIGTERM/SIGINT.
@Suite struct DrainTests {
    /// In-process: requests queued when the drain starts are all answered (200); the server then
    /// answers 503 and the drain returns.
    @Test func drainFinishesQueuedRequests() async throws {
        try await withServer(defaultTestOptions()) { client, service in
            // The worker takes no batch until the drain, so all 8 are queued when it starts, however
            // long other suites keep the test process's threads from sending them.
            service.queue.hold(true)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for k in 0..<8 {
                    group.addTask {
                        Int(try await client.post("/predict", #"{"inputs": \#(jsonString(sampleSentences[k % sampleSentences.count]))}"#).status.code)
                    }
                }
                let deadline = Date(timeIntervalSinceNow: 600)
                while service.queue.accepted < 8 && Date() < deadline { try await Task.sleep(for: .milliseconds(1)) }
                #expect(service.queue.depth == 8, "the 8 requests were not queued when the drain started")
                await service.queue.drain()
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 8))
            #expect(try await client.post("/predict", #"{"inputs": "좋아"}"#).status == .serviceUnavailable)
        }
    }

    /// The real command: `kobert-emotion serve --port 0`, requests in flight, SIGTERM (and SIGINT):
    /// every request is answered 200 and the process exits 0.
    @Test(arguments: [SIGTERM, SIGINT])
    func signalDrainsAndExitsZero(signal: Int32) async throws {
        let (process, lines, base) = try startServe(model: try TinyModel.directory(), "--max-wait-ms", "10000")
        defer { if process.isRunning { process.terminate() } }

        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for k in 0..<6 {
                group.addTask { try await post(base + "/predict", #"{"inputs": \#(jsonString(sampleSentences[k]))}"#) }
            }
            // Signal once all 6 have reached the server: normally all wait in the queue (the idle
            // worker waits up to 10 s for a fuller batch); when this process is slow to send them,
            // some may be answered already. At least one must still be waiting.
            let deadline = Date(timeIntervalSinceNow: 600)
            var (depth, answered) = (0.0, 0.0)
            while depth + answered < 6 && Date() < deadline {
                let metrics = try await get(base + "/metrics")
                (depth, answered) = (metricValue(metrics, "kobert_queue_depth") ?? 0, predictAnswered(metrics))
                if depth + answered < 6 { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(depth + answered == 6 && depth > 0, "the requests were not queued when the signal was sent")
            kill(process.processIdentifier, signal)
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 6))
        let deadline = Date(timeIntervalSinceNow: 20)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning)
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        #expect(lines.all().contains { $0.hasPrefix("stopped") })
    }
}

/// Starts `kobert-emotion serve --model DIR --port 0 --threads 1` plus `extra` and waits until it
/// listens: the process, its standard output's lines, and its base URL. The caller stops it.
func startServe(model dir: URL, _ extra: String...) throws -> (Process, LineReader, String) {
    let process = Process()
    process.executableURL = serveBinary
    process.arguments = ["serve", "--model", dir.path, "--port", "0", "--threads", "1"] + extra
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let lines = LineReader(out.fileHandleForReading)
    guard let listening = lines.waitFor(prefix: "listening on ", seconds: 30) else {
        process.terminate()
        throw ServeStartError(output: lines.all())
    }
    return (process, lines, String(listening.dropFirst("listening on ".count)))
}

struct ServeStartError: Error, CustomStringConvertible {
    let output: [String]
    var description: String { "the server did not start: \(output)" }
}

/// The `/predict` requests answered 200 so far, from the Prometheus text.
func predictAnswered(_ metrics: String) -> Double {
    metrics.split(separator: "\n")
        .filter { $0.hasPrefix("kobert_requests_total{") && $0.contains(#"route="/predict""#) && $0.contains(#"status="200""#) }
        .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
}

/// The built `kobert-emotion` next to this test bundle.
let serveBinary: URL = {
    var dir = Bundle.main.bundleURL
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("kobert-emotion").path), dir.path != "/" {
        dir.deleteLastPathComponent()
    }
    return dir.appendingPathComponent("kobert-emotion")
}()

/// POSTs JSON on the loopback and returns the status.
func post(_ url: String, _ json: String) async throws -> Int {
    var request = URLRequest(url: try #require(URL(string: url)), timeoutInterval: 60)
    request.httpMethod = "POST"
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    request.httpBody = Data(json.utf8)
    let config = URLSessionConfiguration.ephemeral
    let session = URLSession(configuration: config)
    let (_, response) = try await session.data(for: request)
    return (response as? HTTPURLResponse)?.statusCode ?? -1
}

/// GETs a text answer on the loopback.
func get(_ url: String) async throws -> String {
    let request = URLRequest(url: try #require(URL(string: url)), timeoutInterval: 60)
    let (data, _) = try await URLSession(configuration: .ephemeral).data(for: request)
    return String(decoding: data, as: UTF8.self)
}

/// Collects a pipe's lines on a background thread.
final class LineReader: @unchecked Sendable {
    private let lock = NSCondition()
    private var lines: [String] = []
    private var closed = false

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let nl = pending.firstIndex(of: 10) {
                    let line = String(decoding: pending[pending.startIndex..<nl], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...nl)
                    lock.withLock { lines.append(line); lock.broadcast() }
                }
            }
            lock.withLock { closed = true; lock.broadcast() }
        }
    }

    func waitFor(prefix: String, seconds: Double) -> String? {
        let deadline = Date(timeIntervalSinceNow: seconds)
        lock.lock()
        defer { lock.unlock() }
        while true {
            if let line = lines.first(where: { $0.hasPrefix(prefix) }) { return line }
            if closed || !lock.wait(until: deadline) { return nil }
        }
    }

    func all() -> [String] {
        let deadline = Date(timeIntervalSinceNow: 5)
        lock.lock()
        defer { lock.unlock() }
        while !closed && lock.wait(until: deadline) {}
        return lines
    }
}
