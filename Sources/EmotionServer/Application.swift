import EmotionClassifier
import Executors
import FileSafety
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes
import ServiceLifecycle
import UnixSignals
import SentencePiece

/// The version `GET /info` reports.
public let emotionServerVersion = "0.1.0"

/// What a request did, filled in by its handler and read by the access log.
public final class RequestStats: @unchecked Sendable {
    private let lock = NSLock()
    private var _inputs = 0, _tokens = 0, _queue = 0.0, _compute = 0.0
    func set(inputs: Int, tokens: Int) { lock.withLock { (_inputs, _tokens) = (inputs, tokens) } }
    func set(queue: Double, compute: Double) { lock.withLock { (_queue, _compute) = (queue, compute) } }
    var values: (inputs: Int, tokens: Int, queue: Double, compute: Double) { lock.withLock { (_inputs, _tokens, _queue, _compute) } }
}

/// The request context of the service: Hummingbird's, plus the request's statistics.
public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let stats: RequestStats
    /// The request's connection (its input is closed when the body does not arrive in time).
    public let channel: any Channel
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        stats = RequestStats()
        channel = source.channel
    }
}

/// A built service: the Hummingbird application and the inference queue it feeds.
public struct EmotionService: Sendable {
    public let application: Application<RouterResponder<ServerContext>>
    public let queue: InferenceQueue

    /// Runs the server until one of `signals`: then the queue refuses new work (503), finishes what is
    /// queued, and the server closes its connections once their requests are answered; returns normally.
    ///
    /// Cancelling the task that runs it is a graceful shutdown too (it returns once drained). A plain
    /// cancellation would stop reading the connections the server has just accepted, and NIO stops the
    /// process when such a connection is dropped ("Deinited NIOAsyncWriter without calling finish()",
    /// apple/swift-nio#2813).
    ///
    /// The server's tasks (connections, handlers) run on threads of their own
    /// (`DedicatedThreads.service`, where the platform has task executors), not on Swift's cooperative
    /// pool: an app that embeds the service and blocks its cooperative threads does not stop it answering.
    public func run(gracefulShutdownSignals signals: [UnixSignal] = [.sigterm, .sigint], logger: Logger) async throws {
        // Graceful shutdown runs in reverse order: the queue drains first, then the HTTP server.
        let group = ServiceGroup(configuration: .init(services: [application, queue],
                                                      gracefulShutdownSignals: signals, logger: logger))
        // An unstructured task, so that the caller's cancellation does not reach the group.
        let options = queue.options
        let running = serviceTask {
            do {
                try await group.run()
            } catch let error as IOError {
                // NIO's own words name the system call ("bind(descriptor:ptr:bytes:): Address already in use) (errno: 98)").
                throw ServerError("cannot serve on \(options.host.contains(":") ? "[\(options.host)]" : options.host):\(options.port): \(String(cString: strerror(error.errnoCode)))")
            }
        }
        try await withTaskCancellationHandler {
            try await running.value
        } onCancel: {
            _ = serviceTask { await group.triggerGracefulShutdown() }
        }
    }
}

/// Builds the HTTP service over `model`: routes `/predict`, `/tokenize`, `/info`, `/health`,
/// `/metrics`, TEI's error answers, one access-log line per request on `logger`, and the dynamic
/// batcher (its worker thread starts now). `onServerRunning` gets the bound host and port.
public func buildApplication(model: EmotionModel, options: ServerOptions, logger: Logger,
                             onServerRunning: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in }) throws -> EmotionService {
    try buildApplication(served: .bert(model), options: options, logger: logger, onServerRunning: onServerRunning)
}

/// Builds the HTTP service over any model `loadSentenceClassifier` returns: a BERT model, or the
/// character n-gram linear model (whose `/tokenize` answers 422: it has no subword tokenizer).
public func buildApplication(classifier: any SentenceClassifier, options: ServerOptions, logger: Logger,
                             onServerRunning: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in }) throws -> EmotionService {
    try buildApplication(served: try ServedModel(classifier), options: options, logger: logger, onServerRunning: onServerRunning)
}

func buildApplication(served model: ServedModel, options: ServerOptions, logger: Logger,
                      onServerRunning: @escaping @Sendable (_ host: String, _ port: Int) async -> Void) throws -> EmotionService {
    let options = try options.validated()
    let metrics = ServerMetrics(options: options)
    let queue = try InferenceQueue(model: model, options: options, metrics: metrics)
    // Parsing, tokenizing and encoding answers may use all service threads but one, so that /health,
    // /info and /metrics are answered at once however heavy the requests are.
    let api = API(model: model, options: options, queue: queue, metrics: metrics,
                  heavyWork: Permits(max(1, serviceThreadCount - 1)))

    let router = Router(context: ServerContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: AccessLog(logger: logger, metrics: metrics))
    router.post("/predict") { request, context in try await api.predict(request, context: context) }
    router.post("/tokenize") { request, context in try await api.tokenize(request, context: context) }
    router.get("/info") { _, _ in try api.info() }
    router.get("/health") { _, _ in try api.health() }
    router.get("/metrics") { _, _ in api.metricsText() }

    // The idle timeout closes a connection that is quiet between requests, that sends an unfinished
    // request head, or whose body stops arriving; the read timeout (in `API.body`) bounds a body that
    // trickles in.
    let idle = options.idleTimeoutSeconds.map { TimeAmount.nanoseconds(Int64($0 * 1e9)) }
    let app = Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: [CloseAfterResponse()], idleTimeout: idle)),
        configuration: .init(address: .hostname(options.host, port: options.port), serverName: "kobert-emotion"),
        onServerRunning: { channel in
            await onServerRunning(channel.localAddress?.ipAddress ?? options.host, channel.localAddress?.port ?? options.port)
        },
        logger: logger)
    return EmotionService(application: app, queue: queue)
}

/// Renders an error as TEI does.
func errorResponse(_ error: APIError) -> Response {
    var response = jsonResponse(ErrorBody(error: error.message, errorType: error.type.rawValue), status: error.status)
    // The rest of a body that did not arrive in time is not read: the connection closes after the answer.
    if error.status == .requestTimeout { response.headers[.connection] = "close" }
    return response
}

func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
    guard let data = try? encoder.encode(value) else {
        return Response(status: .internalServerError, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: #"{"error":"the answer could not be encoded","error_type":"Backend"}"#)))
    }
    return Response(status: status, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// One line per request (method, path, status, inputs, tokens, queue ms, compute ms, latency ms), and
/// the request counters; every error, thrown or not, becomes TEI's JSON error answer here.
struct AccessLog: RouterMiddleware {
    typealias Context = ServerContext
    let logger: Logger
    let metrics: ServerMetrics

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now()
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = errorResponse(error)
        } catch let error as HTTPError {
            let type: ErrorType = error.status == .notFound || error.status == .methodNotAllowed ? .validation : .backend
            let message = error.status == .notFound ? "no route \(request.method) \(untrustedText(request.uri.path, limit: 256))" : (error.body ?? "\(error.status)")
            response = errorResponse(APIError(type, message, status: error.status))
        } catch {
            response = errorResponse(APIError(.backend, "\(error)"))
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let stats = context.stats.values
        metrics.request(path: context.endpointPath ?? request.uri.path, status: response.status.code, seconds: seconds)
        // The client's path, cut to length (a 70 KB path is a valid request) and escaped.
        let path = untrustedText(request.uri.path, limit: 256)
        logger.info("\(request.method) \(path) \(response.status.code)", metadata: [
            "method": "\(request.method)", "path": "\(path)", "status": "\(response.status.code)",
            "inputs": "\(stats.inputs)", "tokens": "\(stats.tokens)",
            "queue_ms": "\(String(format: "%.2f", stats.queue * 1000))",
            "compute_ms": "\(String(format: "%.2f", stats.compute * 1000))",
            "latency_ms": "\(String(format: "%.2f", seconds * 1000))",
        ])
        return response
    }
}

/// The routes' logic.
struct API: Sendable {
    let model: ServedModel
    let options: ServerOptions
    let queue: InferenceQueue
    let metrics: ServerMetrics
    /// Held while a request's body is decoded and its inputs tokenized, and while a /tokenize answer
    /// is built (not while the body arrives or the batch is computed).
    let heavyWork: Permits

    /// The request body, whole within the read timeout: past it, the connection's input is closed (so
    /// the rest of the body is not read), the answer is 408 and the connection then closes.
    func body(_ request: Request, context: ServerContext) async throws -> Data {
        var request = request
        let expired = Flag()
        let channel = context.channel
        let timeout = options.readTimeoutSeconds
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout * 1e9))) {
            expired.set()
            channel.close(mode: .input, promise: nil)
        }
        defer { timer.cancel() }
        let readTimeout = APIError(.validation, "the request body did not arrive within \(timeout) s (--read-timeout)", status: .requestTimeout)
        do {
            let buffer = try await request.collectBody(upTo: options.maxBodyBytes)
            if expired.isSet { throw readTimeout }
            return Data(buffer.readableBytesView)
        } catch let error as APIError {
            throw error
        } catch _ where expired.isSet {
            throw readTimeout
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.validation, "the request body is larger than \(options.maxBodyBytes) bytes", status: .contentTooLarge)
        } catch is NIOTooManyBytesError {
            throw APIError(.validation, "the request body is larger than \(options.maxBodyBytes) bytes", status: .contentTooLarge)
        } catch {
            throw APIError.malformedJSON("the body could not be read (\(error))")
        }
    }

    /// Checks the inputs' count and each one's size before any tokenizing.
    func checkInputs(_ texts: [String]) throws {
        guard !texts.isEmpty else { throw APIError(.empty, "`inputs` cannot be empty") }
        guard texts.count <= options.maxClientBatchSize else {
            throw APIError(.validation, "batch size \(texts.count) > maximum allowed batch size \(options.maxClientBatchSize)")
        }
        for (i, text) in texts.enumerated() {
            if text.isEmpty { throw APIError(.empty, "input \(i) is empty") }
            let scalars = text.unicodeScalars.count
            if scalars > options.maxInputCharacters {
                throw APIError(.tokenizer, "input \(i) has \(scalars) characters; the tokenizer takes at most \(options.maxInputCharacters)")
            }
        }
    }

    func predict(_ request: Request, context: ServerContext) async throws -> Response {
        let data = try await self.body(request, context: context)
        let (body, encoded) = try await heavyWork.run { try prepare(data, context: context) }
        let outcome: InferenceOutcome
        switch await queue.submit(encoded) {
        case .failure(let error): throw error
        case .success(let o): outcome = o
        }
        context.stats.set(queue: outcome.queueSeconds, compute: outcome.computeSeconds)
        metrics.queueTime.recordNanoseconds(Int64(outcome.queueSeconds * 1e9))
        metrics.inferenceTime.recordNanoseconds(Int64(outcome.computeSeconds * 1e9))
        let raw = body.rawScores ?? false
        let names = model.labels.names
        let answers: [[LabelScore]] = outcome.scores.map { s in
            let values = raw ? s.logits : s.probabilities
            // Sorted by score, highest first; ties keep label-id order.
            return values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
                .map { LabelScore(label: names[$0], score: values[$0]) }
        }
        return body.inputs.isBatch ? jsonResponse(answers) : jsonResponse(answers[0])
    }

    /// A /predict body decoded, checked and its inputs encoded for the queue.
    private func prepare(_ data: Data, context: ServerContext) throws -> (PredictBody, [QueuedInput]) {
        let body = try decodeBody(PredictBody.self, from: data)
        if let direction = body.truncationDirection, direction.lowercased() != "right" {
            throw APIError(.validation, "truncation_direction \"\(direction)\" is not supported; sentences are truncated on the right, as in training")
        }
        let texts = body.inputs.texts
        context.stats.set(inputs: texts.count, tokens: 0)
        try checkInputs(texts)
        let truncate = body.truncate ?? false
        var encoded: [QueuedInput] = []
        encoded.reserveCapacity(texts.count)
        switch model {
        case .bert(let model):
            let maxLength = model.maxLength
            for (i, text) in texts.enumerated() {
                // One token more than allowed tells whether the sentence is too long without tokenizing twice.
                var e = model.tokenizer.encode(text, maxLength: maxLength + 1)
                if e.validLength > maxLength {
                    guard truncate else {
                        let length = model.tokenizer.tokenize(text).count
                        throw APIError(.validation, "input \(i) is \(length) tokens long ([CLS] and [SEP] included), more than the model's maximum input length \(maxLength); send \"truncate\": true to truncate it")
                    }
                    e = model.tokenizer.encode(text, maxLength: maxLength)
                }
                encoded.append(.encoded(e))
            }
        case .linear:
            // Character n-grams: no token limit (the character limit was checked above); `truncate` has
            // nothing to cut.
            for text in texts { encoded.append(.text(text, length: text.unicodeScalars.count)) }
        }
        context.stats.set(inputs: texts.count, tokens: encoded.reduce(0) { $0 + $1.length })
        return (body, encoded)
    }

    func tokenize(_ request: Request, context: ServerContext) async throws -> Response {
        guard case .bert(let model) = model else {
            throw APIError(.tokenizer, "this model (\(model.kind): character n-grams) has no subword tokenizer; /tokenize is available only for BERT models")
        }
        let data = try await self.body(request, context: context)
        return try await heavyWork.run { try tokenizeAnswer(data, model: model, context: context) }
    }

    /// The /tokenize answer to `data`.
    private func tokenizeAnswer(_ data: Data, model: EmotionModel, context: ServerContext) throws -> Response {
        let body = try decodeBody(TokenizeBody.self, from: data)
        let texts = body.inputs.texts
        context.stats.set(inputs: texts.count, tokens: 0)
        try checkInputs(texts)
        let special = body.addSpecialTokens ?? true
        var tokens: [[SimpleToken]] = []
        for (i, text) in texts.enumerated() {
            var pieces = model.tokenizer.tokenize(text)
            // Normalization can expand a character (NFKC: U+FDFA is 18 characters), so the character
            // limit alone does not bound the answer: the pieces are bounded too.
            guard pieces.count <= options.maxInputCharacters + 2 else {
                throw APIError(.tokenizer, "input \(i) gives \(pieces.count) tokens once normalized; at most \(options.maxInputCharacters) (--max-input-chars) are answered")
            }
            if !special { pieces = Array(pieces.dropFirst().dropLast()) }
            tokens.append(pieces.enumerated().map { k, p in
                SimpleToken(id: p.id, text: p.piece, special: special && (k == 0 || k == pieces.count - 1))
            })
        }
        context.stats.set(inputs: texts.count, tokens: tokens.reduce(0) { $0 + $1.count })
        return jsonResponse(tokens)
    }

    func info() throws -> Response {
        let names = model.labels.names
        let maxInputLength: Int, pipeline: String
        switch model {
        case .bert(let bert): (maxInputLength, pipeline) = (bert.maxLength, bert.tokenizer.pipeline.rawValue)
        case .linear: (maxInputLength, pipeline) = (options.maxInputCharacters, "char-ngrams")
        }
        return jsonResponse(InfoBody(
            modelID: options.modelID,
            modelType: .init(classifier: .init(
                id2label: Dictionary(uniqueKeysWithValues: names.enumerated().map { (String($0), $1) }),
                label2id: Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a }))),
            modelKind: model.kind, labels: names, maxInputLength: maxInputLength, tokenizerPipeline: pipeline,
            maxBatchTokens: options.maxBatchTokens, maxBatchRequests: options.maxBatchRequests,
            maxClientBatchSize: options.maxClientBatchSize, maxConcurrentRequests: options.maxQueuedSentences,
            maxWaitMs: options.maxWaitMilliseconds, autoTruncate: false, version: emotionServerVersion))
    }

    func health() throws -> Response {
        guard queue.isAccepting else { throw APIError(.unhealthy, "the server is shutting down") }
        return jsonResponse(["status": "ok"])
    }

    func metricsText() -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: metrics.prometheusText())))
    }
}

/// A counting semaphore for tasks: `run` waits (suspended, holding no thread) for a permit.
final class Permits: @unchecked Sendable {
    private let lock = NSLock()
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { free = count }

    func run<T>(_ body: () throws -> T) async throws -> T {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let granted = lock.withLock { () -> Bool in
                if free > 0 { free -= 1; return true }
                waiters.append(c)
                return false
            }
            if granted { c.resume() }
        }
        defer {
            let next = lock.withLock { () -> CheckedContinuation<Void, Never>? in
                if waiters.isEmpty { free += 1; return nil }
                return waiters.removeFirst()
            }
            next?.resume()
        }
        return try body()
    }
}

/// A flag set once, read from any thread.
package final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    package init() {}
    package func set() { lock.withLock { value = true } }
    package var isSet: Bool { lock.withLock { value } }
}

/// Closes the connection once a response that says `Connection: close` has been written whole (the
/// 408 of a body that did not arrive in time), so a slow client cannot keep it.
final class CloseAfterResponse: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    private var closing = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if head.headerFields[.connection]?.lowercased() == "close" { closing = true }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard closing else { context.write(data, promise: promise); return }
            closing = false
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(data, promise: written)
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
            if let promise { written.futureResult.cascade(to: promise) }
        }
    }
}
