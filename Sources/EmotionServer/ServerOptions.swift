import Foundation

/// Settings of `kobert-emotion serve`. `validated()` checks every bound before anything is allocated.
public struct ServerOptions: Sendable, Equatable {
    /// Address and port to listen on (port 0: any free port).
    public var host = "127.0.0.1"
    public var port = 8080
    /// Shown by `GET /info` as `model_id`: the model directory or Hub id the server was started with.
    public var modelID = "model"
    /// A batch holds at most this many tokens, counted as the engine pays for them: sentences x the
    /// longest sentence's length (the batch is padded to its longest sentence).
    public var maxBatchTokens = 4096
    /// A batch holds at most this many sentences (the runner is allocated for this many).
    public var maxBatchRequests = 64
    /// When the worker is idle and work arrives while requests come concurrently (the batch before
    /// held more than one request), it waits at most this long for more work to fill the batch. A
    /// lone client's requests are computed at once, and when work is already queued as a batch
    /// finishes, the next batch starts at once.
    public var maxWaitMilliseconds = 2
    /// Sentences waiting in the queue; a request that would overflow it is refused with 429.
    public var maxQueuedSentences = 2048
    /// Inputs in one request (TEI's `max_client_batch_size`).
    public var maxClientBatchSize = 64
    /// Unicode scalars in one input; longer inputs are refused before tokenizing.
    public var maxInputCharacters = 10_000
    /// Request bodies larger than this are refused with 413.
    public var maxBodyBytes = 1 << 20
    /// A request not answered within this many seconds is answered with 429 and its work dropped.
    public var requestTimeoutSeconds = 30.0
    /// A connection is closed when nothing has happened on it for this many seconds: no request since
    /// the last answer (keep-alive), an unfinished request head, or a request body whose next bytes do
    /// not arrive. A request whose answer is being computed is not idle. nil: never (not advised).
    public var idleTimeoutSeconds: Double? = 60
    /// A request body must arrive whole within this many seconds of its head (a slow client trickling
    /// bytes is answered 408 and its connection closed).
    public var readTimeoutSeconds = 30.0
    /// Threads of the inference worker's kernels (nil: every online core).
    public var threads: Int?

    public init() {}

    public static let batchRequestsLimit = 1024

    public func validated() throws -> ServerOptions {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw ServerError(message) } }
        try check((0...65535).contains(port), "--port \(port) must be in 0...65535")
        try check(!host.isEmpty, "--host must not be empty")
        try check((1...Self.batchRequestsLimit).contains(maxBatchRequests), "--max-batch-requests \(maxBatchRequests) must be in 1...\(Self.batchRequestsLimit)")
        try check((1...(1 << 24)).contains(maxBatchTokens), "--max-batch-tokens \(maxBatchTokens) must be in 1...\(1 << 24)")
        try check((0...10_000).contains(maxWaitMilliseconds), "--max-wait-ms \(maxWaitMilliseconds) must be in 0...10000")
        try check((1...(1 << 20)).contains(maxQueuedSentences), "--max-queue \(maxQueuedSentences) must be in 1...\(1 << 20)")
        try check((1...(1 << 16)).contains(maxClientBatchSize), "--max-client-batch-size \(maxClientBatchSize) must be in 1...65536")
        try check(maxClientBatchSize <= maxQueuedSentences,
                  "--max-client-batch-size \(maxClientBatchSize) is more than --max-queue \(maxQueuedSentences): such a request could never be queued")
        try check((1...(1 << 24)).contains(maxInputCharacters), "--max-input-chars \(maxInputCharacters) must be in 1...\(1 << 24)")
        try check((1...(1 << 30)).contains(maxBodyBytes), "--max-body-bytes \(maxBodyBytes) must be in 1...\(1 << 30)")
        try check(requestTimeoutSeconds.isFinite && requestTimeoutSeconds > 0 && requestTimeoutSeconds <= 86_400,
                  "--request-timeout \(requestTimeoutSeconds) must be in (0, 86400] seconds")
        if let idleTimeoutSeconds {
            try check(idleTimeoutSeconds.isFinite && idleTimeoutSeconds > 0 && idleTimeoutSeconds <= 86_400,
                      "--idle-timeout \(idleTimeoutSeconds) must be in (0, 86400] seconds")
        }
        try check(readTimeoutSeconds.isFinite && readTimeoutSeconds > 0 && readTimeoutSeconds <= 86_400,
                  "--read-timeout \(readTimeoutSeconds) must be in (0, 86400] seconds")
        if let threads { try check((1...1024).contains(threads), "--threads \(threads) must be in 1...1024") }
        return self
    }
}

/// A problem with the server's settings or start-up.
public struct ServerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
