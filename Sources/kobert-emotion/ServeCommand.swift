import ArgumentParser
import EmotionClassifier
import EmotionServer
import Foundation
import Logging

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the model over HTTP (Hugging Face Text Embeddings Inference's API): POST /predict, POST /tokenize, GET /info, /health, /metrics.",
        discussion: """
            Concurrent requests are batched dynamically by one inference worker. SIGTERM or SIGINT stops
            taking requests, finishes the queued ones and exits 0. One access-log line per request goes to
            standard output. The server keeps no state between requests: run replicas behind a load balancer.
            """)

    @OptionGroup var modelArgument: ModelArgument

    @Option(name: .long, help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(name: .long, help: "Port to listen on (0: any free port; the line `listening on http://HOST:PORT` says which).")
    var port = 8080

    @Option(name: .long, help: "Most tokens in one batch, counted padded (sentences x the longest sentence).")
    var maxBatchTokens = ServerOptions().maxBatchTokens

    @Option(name: .long, help: "Most sentences in one batch.")
    var maxBatchRequests = ServerOptions().maxBatchRequests

    @Option(name: .long, help: "Milliseconds an idle worker waits for a batch to fill while requests come concurrently (never for a lone client's requests, never when work is already queued).")
    var maxWaitMs = ServerOptions().maxWaitMilliseconds

    @Option(name: .long, help: "Most sentences waiting in the queue; beyond it requests are refused with 429.")
    var maxQueue = ServerOptions().maxQueuedSentences

    @Option(name: .long, help: "Most inputs in one request.")
    var maxClientBatchSize = ServerOptions().maxClientBatchSize

    @Option(name: .long, help: "Most characters (Unicode scalars) in one input.")
    var maxInputChars = ServerOptions().maxInputCharacters

    @Option(name: .long, help: "Request body limit in bytes (larger: 413).")
    var maxBodyBytes = ServerOptions().maxBodyBytes

    @Option(name: .long, help: "Seconds a request may wait for its answer (then 429).")
    var requestTimeout = ServerOptions().requestTimeoutSeconds

    @Option(name: .long, help: "Seconds a connection may stay idle (between requests, in an unfinished request head, or waiting for the next bytes of a body) before it is closed; 0: never.")
    var idleTimeout = ServerOptions().idleTimeoutSeconds ?? 0

    @Option(name: .long, help: "Seconds a request body may take to arrive whole (then 408 and the connection is closed).")
    var readTimeout = ServerOptions().readTimeoutSeconds

    @Option(name: .long, help: "Threads of the inference worker (default: every online core).")
    var threads: Int?

    func options(modelID: String) throws -> ServerOptions {
        var o = ServerOptions()
        o.host = host
        o.port = port
        o.modelID = modelID
        o.maxBatchTokens = maxBatchTokens
        o.maxBatchRequests = maxBatchRequests
        o.maxWaitMilliseconds = maxWaitMs
        o.maxQueuedSentences = maxQueue
        o.maxClientBatchSize = maxClientBatchSize
        o.maxInputCharacters = maxInputChars
        o.maxBodyBytes = maxBodyBytes
        o.requestTimeoutSeconds = requestTimeout
        o.idleTimeoutSeconds = idleTimeout == 0 ? nil : idleTimeout
        o.readTimeoutSeconds = readTimeout
        o.threads = threads
        do { return try o.validated() } catch { throw ValidationError("\(error)") }
    }

    /// The worker's runner takes its matrix-product library from the context (KOBERT_GEMM).
    func run() throws {
        try ComputeArguments.context(threads: threads).run { try runInContext() }
    }

    func runInContext() throws {
        let directory = try modelArgument.directory()
        let options = try options(modelID: modelArgument.model ?? directory.path)
        // A BERT model or the character n-gram linear model (`train --classifier linear`).
        let model = try loadSentenceClassifier(directory: directory)
        LoggingSystem.bootstrap { StreamLogHandler.standardOutput(label: $0) }
        var logger = Logger(label: "kobert-emotion.serve")
        logger.logLevel = .info
        let service = try buildApplication(classifier: model, options: options, logger: logger) { host, port in
            // An IPv6 address goes in brackets in a URL.
            print("listening on http://\(host.contains(":") ? "[\(host)]" : host):\(port)")
        }
        // The commands are synchronous; the server runs in a task while this thread waits for it.
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        Task {
            do { try await service.run(logger: logger) } catch { failure.set(error) }
            done.signal()
        }
        done.wait()
        if let error = failure.get() { throw error }
        print("stopped: queue drained")
    }
}

private final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func set(_ e: any Error) { lock.withLock { error = e } }
    func get() -> (any Error)? { lock.withLock { error } }
}
