import EmotionClassifier
import EmotionServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import TestExecutors
import Testing

/// A tiny model trained once for all the server's tests (from-scratch BERT, built-in sample, 1 epoch).
enum TinyModel {
    static let maxLength = 24

    private static let loaded: Result<(EmotionModel, URL), any Error> = Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("EmotionServerTests-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var shape = ScratchShape()
        (shape.hiddenSize, shape.layers, shape.heads, shape.intermediateSize) = (16, 1, 2, 24)
        var o = TrainingOptions()
        o.epochs = 1
        o.batchSize = 32
        o.maxLength = maxLength
        o.learningRate = 3e-3
        let job = try TrainingJob(data: DataOptions(), model: .scratch(shape), options: o, output: dir)
        job.baseline = nil   // the server serves BERT; the baseline is not needed here
        _ = try job.run(resume: false)
        return (try EmotionModel.load(directory: dir), dir)
    }

    static func model() throws -> EmotionModel { try loaded.get().0 }
    static func directory() throws -> URL { try loaded.get().1 }
}

/// The character n-gram linear model (`train --classifier linear`), trained once on the built-in sample.
enum TinyLinearModel {
    private static let loaded: Result<(any SentenceClassifier, URL), any Error> = Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("EmotionServerTests-linear-\(UUID().uuidString)")
        _ = try LinearClassifier.trainJob(data: DataOptions(), output: dir)
        return (try loadSentenceClassifier(directory: dir), dir)
    }

    static func model() throws -> LinearClassifier {
        guard let m = try loaded.get().0 as? LinearClassifier else { throw ServerError("not loaded as a linear model") }
        return m
    }
    static func directory() throws -> URL { try loaded.get().1 }
}

/// Sentences of different lengths (one longer than the tiny model's 24 tokens).
let sampleSentences = [
    "오늘 정말 행복해!", "그게 사실이야? 믿을 수가 없어.", "너무 무서워서 잠을 못 잤어",
    "ㅋㅋㅋ 진짜 웃겨", "왜 나한테 이런 일이 생기는지 모르겠어, 정말 화가 난다", "그냥 그래",
]
let longSentence = String(repeating: "아주 긴 문장 ", count: 30)

/// Collects log lines in memory.
final class LogSink: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [(message: String, metadata: Logger.Metadata)] = []
    func append(_ m: String, _ md: Logger.Metadata) { lock.withLock { _lines.append((m, md)) } }
    var lines: [(message: String, metadata: Logger.Metadata)] { lock.withLock { _lines } }

    struct Handler: LogHandler {
        let sink: LogSink
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] } set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            sink.append(message.description, self.metadata.merging(metadata ?? [:]) { $1 })
        }
    }
    var logger: Logger { Logger(label: "test") { _ in Handler(sink: self) } }
}

func defaultTestOptions() -> ServerOptions {
    var o = ServerOptions()
    o.threads = 1
    o.maxWaitMilliseconds = 1
    return o
}

/// Runs `body` against a freshly built service in HummingbirdTesting's router mode (no port),
/// on threads of its own (TestExecutors), then drains the queue so its worker thread ends.
func withServer(_ options: ServerOptions = defaultTestOptions(), log: LogSink = LogSink(), classifier: (any SentenceClassifier)? = nil,
                _ body: @escaping @Sendable (any TestClientProtocol, EmotionService) async throws -> Void) async throws {
    let service = try buildApplication(classifier: try classifier ?? TinyModel.model(), options: options, logger: log.logger)
    do {
        try await onServerThreads {
            try await service.application.test(.router) { client in try await body(client, service) }
        }
    } catch {
        await service.queue.drain()
        throw error
    }
    await service.queue.drain()
}

extension TestClientProtocol {
    func post(_ path: String, _ json: String) async throws -> TestResponse {
        try await execute(uri: path, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: json))
    }
    func get(_ path: String) async throws -> TestResponse {
        try await execute(uri: path, method: .get)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(buffer: body), options: [.fragmentsAllowed]) }
    /// `[{"label", "score"}]` of a single prediction.
    var single: [(label: String, score: Double)]? {
        (json as? [[String: Any]])?.compactMap { d in
            guard let l = d["label"] as? String, let s = d["score"] as? NSNumber else { return nil }
            return (l, s.doubleValue)
        }
    }
    var batch: [[(label: String, score: Double)]]? {
        (json as? [[[String: Any]]])?.map { list in
            list.compactMap { d in
                guard let l = d["label"] as? String, let s = d["score"] as? NSNumber else { return nil }
                return (l, s.doubleValue)
            }
        }
    }
    var errorType: String? { (json as? [String: Any])?["error_type"] as? String }
    var errorMessage: String { ((json as? [String: Any])?["error"] as? String) ?? "" }
}

/// A JSON string literal for `text`.
func jsonString(_ text: String) -> String {
    String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
}

/// `{"inputs": [["a"], ["b"], ...]}`
func batchBody(_ texts: [String], extra: String = "") -> String {
    #"{"inputs": ["# + texts.map { "[\(jsonString($0))]" }.joined(separator: ",") + "]" + extra + "}"
}

/// The probabilities by label name of one prediction answer.
/// One `/predict` answer against the library's prediction of the same sentence: every label, sorted by
/// score, the same top label and every probability within 1e-6.
func expectAnswer(_ answer: [(label: String, score: Double)], equals p: Prediction, labels: [String]) throws {
    #expect(answer.count == labels.count)
    #expect(answer.map(\.score) == answer.map(\.score).sorted(by: >), "not sorted by score")
    #expect(answer[0].label.unicodeScalars.elementsEqual(p.label.unicodeScalars))
    let scores = byLabel(answer)
    for (name, prob) in zip(labels, p.probabilities) {
        #expect(abs(try #require(scores[name]) - Double(prob)) <= 1e-6, "\(name)")
    }
}

func byLabel(_ answer: [(label: String, score: Double)]) -> [String: Double] {
    Dictionary(answer.map { ($0.label, $0.score) }, uniquingKeysWith: { a, _ in a })
}

/// Reads `name{labels} value` from Prometheus text (labels written exactly as emitted, or none).
func metricValue(_ text: String, _ name: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
        return Double(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces))
    }
    return nil
}
