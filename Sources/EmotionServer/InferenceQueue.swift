import BERT
import EmotionClassifier
import Foundation
import Kernels
import Metrics
import ServiceLifecycle
import SentencePiece

/// One sentence's result: the logits and the probabilities, in label-id order.
public struct SentenceScores: Sendable, Equatable {
    public var logits: [Float]
    public var probabilities: [Float]
}

/// What a request got from the queue, with its timings.
public struct InferenceOutcome: Sendable {
    public var scores: [SentenceScores]
    /// From entering the queue to the start of the first batch holding one of its sentences.
    public var queueSeconds: Double
    /// Summed duration of the batches that held its sentences.
    public var computeSeconds: Double
}

/// The dynamic batcher: a bounded queue of sentences and one worker thread that owns the model's
/// runner (allocated once for `maxBatchRequests` sentences) and its compute threads.
///
/// The worker takes sentences in arrival order and packs a batch until the next sentence would pass
/// `maxBatchRequests` sentences or `maxBatchTokens` padded tokens (sentences x the longest length);
/// a batch always holds at least one sentence. When it is idle and work arrives it waits up to
/// `maxWait` for the batch to fill; when work is already queued as a batch finishes it starts at once.
///
/// As a `Service` it drains on graceful shutdown: new work is refused with 503, queued work is
/// finished, then the worker thread ends and `run()` returns.
public final class InferenceQueue: Service, @unchecked Sendable {
    public let model: ServedModel
    public let options: ServerOptions

    private final class Ticket: @unchecked Sendable {
        var scores: [SentenceScores?]
        var remaining: Int
        var continuation: CheckedContinuation<Result<InferenceOutcome, APIError>, Never>?
        let enqueued = DispatchTime.now()
        /// Past it, the request is answered 429 and its sentences are no longer computed.
        let deadline: UInt64
        var started: DispatchTime?
        var computeNanos: UInt64 = 0
        init(count: Int, timeout: Double) {
            scores = Array(repeating: nil, count: count)
            remaining = count
            let (sum, overflow) = enqueued.uptimeNanoseconds.addingReportingOverflow(UInt64(timeout * 1e9))
            deadline = overflow ? .max : sum
        }
        var isFinished: Bool { continuation == nil }
    }
    private struct Item { let ticket: Ticket; let index: Int; let sentence: QueuedInput }

    private enum State { case running, draining, stopped }

    private let condition = NSCondition()
    /// Answers requests whose timeout passed. A queue of the server's own, not a global queue: work
    /// the host process runs on Dispatch's global queues must not delay a 429.
    private let timers = DispatchQueue(label: "kobert-emotion request timeouts")
    private var items: [Item] = []
    private var head = 0                      // items[head...] are waiting
    private var state = State.running
    private var stoppedWaiters: [CheckedContinuation<Void, Never>] = []
    /// Sentences ever accepted, and whether the worker holds off taking batches (both for tests that
    /// must know what is queued when they act, however slowly their requests arrive).
    private var acceptedCount = 0
    private var held = false
    /// The BERT model's runner (nil for the linear model).
    private let runner: BertRunner?
    private let metrics: ServerMetrics

    init(model: ServedModel, options: ServerOptions, metrics: ServerMetrics) throws {
        self.model = model
        self.options = options
        self.metrics = metrics
        switch model {
        case .bert(let bert):
            runner = try bert.makeRunner(batchSize: options.maxBatchRequests, context: ComputeContext(threads: options.threads))
        case .linear:
            runner = nil
        }
        let thread = Thread { [self] in work() }
        thread.name = "kobert-emotion inference"
        thread.stackSize = 16 << 20
        thread.start()
    }

    /// Sentences waiting (not yet in a batch).
    public var depth: Int { condition.withLock { items.count - head } }

    /// Sentences accepted into the queue since the start.
    package var accepted: Int { condition.withLock { acceptedCount } }

    /// While held, the worker takes no batch (a drain still finishes the queue). For tests.
    package func hold(_ on: Bool) {
        condition.withLock { held = on }
        condition.broadcast()
    }

    /// Classifies `sentences` (for BERT already encoded, each at most the model's max length) in the
    /// batches the worker forms. Never throws: refusals and failures are API errors.
    func submit(_ sentences: [QueuedInput]) async -> Result<InferenceOutcome, APIError> {
        if sentences.isEmpty { return .success(InferenceOutcome(scores: [], queueSeconds: 0, computeSeconds: 0)) }
        let timeout = options.requestTimeoutSeconds
        let ticket = Ticket(count: sentences.count, timeout: timeout)
        return await withCheckedContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            guard state == .running else {
                continuation.resume(returning: .failure(APIError(.unhealthy, "the server is shutting down")))
                return
            }
            let waiting = items.count - head
            guard waiting + sentences.count <= options.maxQueuedSentences else {
                continuation.resume(returning: .failure(APIError(.overloaded,
                    "the queue is full (\(waiting) of \(options.maxQueuedSentences) sentences waiting, this request has \(sentences.count)); retry later")))
                return
            }
            ticket.continuation = continuation
            for (i, s) in sentences.enumerated() { items.append(Item(ticket: ticket, index: i, sentence: s)) }
            acceptedCount += sentences.count
            metrics.queueDepth.record(items.count - head)
            condition.signal()
            // Weakly: an answered request's scores must not live until its timeout (up to a day).
            timers.asyncAfter(deadline: .now() + timeout) { [weak self, weak ticket] in
                guard let self, let ticket else { return }
                self.condition.withLock { self.finish(ticket, .failure(self.timeoutError)) }
            }
        }
    }

    /// Must hold the lock.
    private func finish(_ ticket: Ticket, _ result: Result<InferenceOutcome, APIError>) {
        guard let c = ticket.continuation else { return }
        ticket.continuation = nil
        c.resume(returning: result)
    }

    private var timeoutError: APIError {
        APIError(.overloaded, "the request was not answered within \(options.requestTimeoutSeconds) s; retry later")
    }

    /// Takes the next batch from the waiting items, in arrival order, until the next sentence would
    /// pass `maxBatchRequests` or `maxBatchTokens`. Sentences of requests already answered, or whose
    /// deadline has passed (answered 429 here), are dropped wherever they are in the queue, never
    /// computed. The batch is empty only when every waiting sentence was dropped. Must hold the lock.
    private func takeBatch() -> [Item] {
        let now = DispatchTime.now().uptimeNanoseconds
        var batch: [Item] = []
        var longest = 0
        var k = head
        while k < items.count {
            let item = items[k]
            if item.ticket.isFinished { k += 1; continue }
            if item.ticket.deadline <= now {
                finish(item.ticket, .failure(timeoutError))
                k += 1
                continue
            }
            let length = max(longest, item.sentence.length)
            if !batch.isEmpty && (batch.count + 1 > options.maxBatchRequests || (batch.count + 1) * length > options.maxBatchTokens) { break }
            batch.append(item)
            longest = length
            k += 1
        }
        head = k
        return batch
    }

    /// How many waiting items (from `head`) the next batch would take. Must hold the lock.
    private func packCount() -> Int {
        var count = 0, longest = 0
        for k in head..<items.count {
            let length = max(longest, items[k].sentence.length)
            if count > 0 && (count + 1 > options.maxBatchRequests || (count + 1) * length > options.maxBatchTokens) { break }
            count += 1
            longest = length
        }
        return count
    }

    private func work() {
        let maxWait = Double(options.maxWaitMilliseconds) / 1000
        // An idle worker waits for a fuller batch only while requests come concurrently: when the
        // batch before held more than one request (with one client at a time, waiting would only
        // add the wait to every request), and at the start (requests that arrive before the thread
        // first runs, which a busy machine may start late, wait as requests to an idle worker do).
        var lastBatchRequests = Int.max
        while true {
            condition.lock()
            // Drop sentences of requests that are already answered (timed out).
            while head < items.count && items[head].ticket.isFinished { head += 1 }
            var waitedIdle = lastBatchRequests == Int.max
            while (head == items.count || held) && state == .running {
                waitedIdle = true
                condition.wait()
                while head < items.count && items[head].ticket.isFinished { head += 1 }
            }
            if head == items.count {
                // Draining and nothing left.
                state = .stopped
                let waiters = stoppedWaiters
                stoppedWaiters = []
                condition.unlock()
                waiters.forEach { $0.resume() }
                return
            }
            if waitedIdle && maxWait > 0 && lastBatchRequests > 1 {
                let deadline = Date(timeIntervalSinceNow: maxWait)
                while state == .running && packCount() == items.count - head && items.count - head < options.maxBatchRequests {
                    if !condition.wait(until: deadline) { break }
                }
            }
            let batch = takeBatch()
            if head > 4096 && head * 2 > items.count { items.removeFirst(head); head = 0 }
            if batch.isEmpty {
                // Every waiting sentence had timed out.
                metrics.queueDepth.record(items.count - head)
                condition.unlock()
                continue
            }
            let start = DispatchTime.now()
            lastBatchRequests = Set(batch.map { ObjectIdentifier($0.ticket) }).count
            for item in batch where item.ticket.started == nil { item.ticket.started = start }
            metrics.queueDepth.record(items.count - head)
            condition.unlock()

            let outcome = run(batch)
            let nanos = DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds

            condition.lock()
            for (k, item) in batch.enumerated() {
                let ticket = item.ticket
                guard !ticket.isFinished else { continue }
                switch outcome {
                case .failure(let error):
                    finish(ticket, .failure(error))
                case .success(let scores):
                    if !scores[k].probabilities.allSatisfy(\.isFinite) || !scores[k].logits.allSatisfy(\.isFinite) {
                        finish(ticket, .failure(APIError(.backend, "input \(item.index): the model's output is not finite; the weights are broken")))
                        continue
                    }
                    if ticket.scores[item.index] == nil {
                        ticket.scores[item.index] = scores[k]
                        ticket.remaining -= 1
                    }
                    if batch[..<k].allSatisfy({ $0.ticket !== ticket }) { ticket.computeNanos += nanos }
                    if ticket.remaining == 0 {
                        let queued = (ticket.started ?? start).uptimeNanoseconds - ticket.enqueued.uptimeNanoseconds
                        finish(ticket, .success(InferenceOutcome(scores: ticket.scores.map { $0! },
                                                                 queueSeconds: Double(queued) / 1e9,
                                                                 computeSeconds: Double(ticket.computeNanos) / 1e9)))
                    }
                }
            }
            condition.unlock()
        }
    }

    private func run(_ batch: [Item]) -> Result<[SentenceScores], APIError> {
        switch model {
        case .bert(let bert):
            guard let runner else { return .failure(APIError(.backend, "the BERT runner is missing")) }
            let encoded = batch.compactMap { item -> EncodedSentence? in
                if case .encoded(let e) = item.sentence { return e } else { return nil }
            }
            guard encoded.count == batch.count else { return .failure(APIError(.backend, "a text reached the BERT worker unencoded")) }
            let tokens = TokenBatch.cutToLongest(encoded)
            metrics.batchSize.record(batch.count)
            metrics.batchTokens.record(tokens.batchSize * tokens.length)
            do {
                let logits = try runner.forward(tokens)
                let probabilities = runner.probabilities()
                let K = bert.classifier.numLabels
                return .success((0..<batch.count).map { b in
                    SentenceScores(logits: Array(logits[(b * K)..<((b + 1) * K)]), probabilities: probabilities[b])
                })
            } catch {
                return .failure(APIError(.backend, "inference failed: \(error)"))
            }
        case .linear(let linear):
            var texts: [String] = []
            texts.reserveCapacity(batch.count)
            var longest = 0
            for item in batch {
                guard case .text(let text, let length) = item.sentence else {
                    return .failure(APIError(.backend, "an encoded sentence reached the linear worker"))
                }
                texts.append(text)
                longest = max(longest, length)
            }
            metrics.batchSize.record(batch.count)
            metrics.batchTokens.record(batch.count * longest)
            return .success(linear.scores(texts).map { SentenceScores(logits: $0.logits, probabilities: $0.probabilities) })
        }
    }

    /// Stops taking work, finishes what is queued, and returns when the worker thread has ended.
    public func drain() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            condition.lock()
            if state == .stopped {
                condition.unlock()
                c.resume()
                return
            }
            if state == .running { state = .draining }
            stoppedWaiters.append(c)
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Whether new work is still taken.
    public var isAccepting: Bool { condition.withLock { state == .running } }

    /// Runs until graceful shutdown (SIGTERM/SIGINT in `serve`), then drains.
    public func run() async throws {
        try? await gracefulShutdown()
        await drain()
    }
}
