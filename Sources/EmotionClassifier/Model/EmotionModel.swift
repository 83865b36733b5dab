import FileSafety
import BERT
import Kernels
import Foundation
import SentencePiece

/// A sentence-emotion classifier ready to use: the BERT classifier, its tokenizer and its labels.
///
/// On disk it is a Hugging Face `BertForSequenceClassification` directory that Python
/// `transformers` loads as it is: `config.json` (the architecture, with `id2label`, `label2id`, and
/// this application's keys `tokenizer_pipeline` and `max_len`), `model.safetensors` and `spiece.model`.
public final class EmotionModel: @unchecked Sendable {
    public let classifier: BertClassifier
    public let tokenizer: KoBERTTokenizer
    public let labels: LabelSet
    /// Sentences are truncated to this many tokens, [CLS] and [SEP] included.
    public let maxLength: Int
    /// The SentencePiece model file's bytes, saved beside the weights.
    public let sentencePieceData: Data

    public init(classifier: BertClassifier, sentencePieceData: Data, pipeline: TokenPipeline, maxLength: Int,
                labels: LabelSet) throws {
        guard labels.names.count == classifier.numLabels else {
            throw EmotionModelError("\(labels.names.count) labels for a classifier of \(classifier.numLabels)")
        }
        guard (2...classifier.config.maxPositionEmbeddings).contains(maxLength) else {
            throw EmotionModelError("max length \(maxLength) is outside 2...\(classifier.config.maxPositionEmbeddings) (the model's positions)")
        }
        let spm = try SentencePieceModel(data: sentencePieceData)
        guard spm.count <= classifier.config.vocabSize else {
            throw EmotionModelError("the tokenizer has \(spm.count) pieces but the model's vocabulary only \(classifier.config.vocabSize)")
        }
        self.classifier = classifier
        self.sentencePieceData = sentencePieceData
        self.tokenizer = try KoBERTTokenizer(model: spm, pipeline: pipeline)
        self.labels = labels
        self.maxLength = maxLength
    }

    /// The application's keys of a model directory's config.json, beside the architecture.
    struct ApplicationConfig: Decodable {
        var id2label: [String: String]?
        var tokenizerPipeline: String?
        var maxLength: Int?
        /// `"linear"` for the character n-gram model's directory (see `loadSentenceClassifier`).
        var classifier: String?
        enum CodingKeys: String, CodingKey { case id2label, tokenizerPipeline = "tokenizer_pipeline", maxLength = "max_len", classifier }

        /// Throws unless the directory holds a BERT model.
        func requireBERT(_ directory: URL, for purpose: String) throws {
            guard let classifier, classifier != "bert" else { return }
            throw EmotionModelError("\(directory.path) holds a \(classifier.prefix(20)) model (character n-grams), not a BERT model: \(purpose)")
        }

        static func load(_ url: URL) throws -> ApplicationConfig {
            try decode(try BertConfig.readFile(url), file: url)
        }

        static func decode(_ data: Data, file url: URL) throws -> ApplicationConfig {
            do { return try JSONDecoder().decode(ApplicationConfig.self, from: data) } catch {
                throw EmotionModelError("\(url.path): cannot read id2label, tokenizer_pipeline, max_len: \(error.localizedDescription)")
            }
        }

        /// Label names in id order; the keys must be exactly 0..<n.
        func labelNames(file: URL) throws -> [String]? {
            guard let id2label, !id2label.isEmpty else { return nil }
            let names = (0..<id2label.count).compactMap { id2label[String($0)] }
            guard names.count == id2label.count else {
                throw EmotionModelError("\(file.path): id2label keys must be the integers 0..<\(id2label.count)")
            }
            return names
        }

        func pipeline(file: URL) throws -> TokenPipeline? {
            guard let name = tokenizerPipeline else { return nil }
            guard let p = TokenPipeline(rawValue: name) else {
                throw EmotionModelError("\(file.path): unknown tokenizer_pipeline \"\(name)\" (known: \(TokenPipeline.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return p
        }
    }

    /// Loads a fine-tuned model directory written by `save(directory:)` or by transformers (with a
    /// `spiece.model`). Strict: the classifier head and every tensor must be there and match the
    /// config, and nothing else may be (see `BertClassifier.LoadPurpose.use`).
    ///
    /// `storage: .mapped` uses the weights file's pages in place where it can (see `WeightStorage`):
    /// fastest for a command that loads a model, uses it and exits.
    public static func load(directory: URL, pipeline: TokenPipeline? = nil, maxLength: Int? = nil,
                            storage: WeightStorage = .copy) throws -> EmotionModel {
        let configURL = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw EmotionModelError("\(directory.path) is not a model directory: it has no config.json")
        }
        return try load(directory: directory, config: try BertConfig.readFile(configURL), pipeline: pipeline,
                        maxLength: maxLength, storage: storage)
    }

    /// `load(directory:…)` with the bytes of its config.json already read.
    static func load(directory: URL, config: Data, pipeline: TokenPipeline? = nil, maxLength: Int? = nil,
                     storage: WeightStorage) throws -> EmotionModel {
        let configURL = directory.appendingPathComponent("config.json")
        let app = try ApplicationConfig.decode(config, file: configURL)
        try app.requireBERT(directory, for: "load it with loadSentenceClassifier(directory:)")
        let names = try app.labelNames(file: configURL)
        let configured = try app.pipeline(file: configURL)
        let (classifier, _) = try BertClassifier.load(directory: directory, config: try BertConfig.decode(config, file: configURL),
                                                      purpose: .use, storage: storage)
        let spmURL = directory.appendingPathComponent("spiece.model")
        let data: Data
        do { data = try Data(contentsOf: spmURL) } catch {
            throw EmotionModelError("\(spmURL.path): cannot read the SentencePiece model (\(error.localizedDescription))")
        }
        return try EmotionModel(classifier: classifier, sentencePieceData: data,
                                pipeline: pipeline ?? configured ?? .gluonnlp,
                                maxLength: maxLength ?? app.maxLength ?? 64,
                                labels: try LabelSet.forNames(names ?? (0..<classifier.numLabels).map { "LABEL_\($0)" }))
    }

    /// Writes config.json, model.safetensors and spiece.model into `directory`, each atomically.
    public func save(directory: URL) throws {
        try save(directory: directory, classifierDropout: nil)
    }

    /// `save(directory:)`, recording `classifierDropout` (the rate a training run used) as
    /// `classifier_dropout` in config.json.
    public func save(directory: URL, classifierDropout: Double?) throws {
        var extra: [String: any Sendable] = ["tokenizer_pipeline": tokenizer.pipeline.rawValue, "max_len": maxLength]
        if let classifierDropout { extra["classifier_dropout"] = classifierDropout }
        try classifier.save(directory: directory, labels: labels.names, extra: extra)
        try AtomicFile.write(sentencePieceData, to: directory.appendingPathComponent("spiece.model"))
    }

    /// Token ids for `texts`, padded per batch to its longest sentence (padding is masked, so the
    /// result is the same as padding to `maxLength`).
    public func batch(_ texts: some Collection<String>) -> TokenBatch {
        TokenBatch.cutToLongest(tokenizer.encode(Array(texts), maxLength: maxLength))
    }

    /// Classifies `texts` in batches of `batchSize`.
    public func predict(_ texts: [String], batchSize: Int = 64) throws -> [Prediction] {
        let runner = try makeRunner(batchSize: max(1, min(batchSize, texts.count)))
        return try predict(texts, runner: runner)
    }

    /// A runner for batches of up to `batchSize` sentences, to reuse across `predict` calls.
    public func makeRunner(batchSize: Int, context: ComputeContext = ComputeContext()) throws -> BertRunner {
        guard (1...TrainingOptions.batchSizeLimit).contains(batchSize) else {
            throw EmotionModelError("batch size \(batchSize) must be in 1...\(TrainingOptions.batchSizeLimit)")
        }
        return try BertRunner(model: classifier, maxBatch: batchSize, maxLength: maxLength, training: false, context: context)
    }

    /// Classifies `texts` with an existing runner (reuse one across calls to avoid re-allocating
    /// buffers). A sentence whose probabilities are not finite is an error naming it.
    public func predict(_ texts: [String], runner: BertRunner) throws -> [Prediction] {
        var out: [Prediction] = []
        out.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            let chunk = texts[start..<min(texts.count, start + runner.maxBatch)]
            try runner.forward(batch(chunk))
            for (i, (text, probs)) in zip(chunk, runner.probabilities()).enumerated() {
                guard probs.allSatisfy(\.isFinite) else {
                    throw EmotionModelError("sentence \(start + i + 1) (\"\(text.prefix(40))\"): the model's output is not finite (\(probs)); the weights are broken")
                }
                let id = probs.withUnsafeBufferPointer { argmax($0.baseAddress!, count: $0.count) }
                out.append(Prediction(text: text, id: id, label: labels.names[id], probabilities: probs))
            }
            start += chunk.count
        }
        return out
    }

}

/// One sentence's classification.
public struct Prediction: Sendable, Equatable {
    public var text: String
    /// The most probable label's id and name.
    public var id: Int
    public var label: String
    /// Probability of every label, in label-id order.
    public var probabilities: [Float]
}

extension Prediction {
    /// One line of JSON, as `predict --json` prints it: `text`, `label`, `id`, and `probabilities`
    /// keyed by label **in label-id order** (so they zip with `id2label`), each a float's full
    /// precision.
    public func jsonLine(labels: [String]) -> String {
        func string(_ s: String) -> String {
            (try? JSONSerialization.data(withJSONObject: s, options: [.fragmentsAllowed, .withoutEscapingSlashes]))
                .map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
        }
        let probs = zip(labels, probabilities).map { "\(string($0.0)):\(Double($0.1))" }.joined(separator: ",")
        return "{\"text\":\(string(text)),\"label\":\(string(label)),\"id\":\(id),\"probabilities\":{\(probs)}}"
    }
}

/// A problem with a model directory or its use; the message names the file.
public struct EmotionModelError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension TokenBatch {
    /// Stacks encoded sentences into a batch as long as its longest sentence.
    public static func cutToLongest(_ sentences: [EncodedSentence]) -> TokenBatch {
        let T = max(1, sentences.map(\.validLength).max() ?? 1)
        var ids: [Int32] = [], segments: [Int32] = [], lengths: [Int32] = []
        ids.reserveCapacity(sentences.count * T)
        segments.reserveCapacity(sentences.count * T)
        for s in sentences {
            ids += s.tokenIds.prefix(T)
            segments += s.segmentIds.prefix(T)
            lengths.append(Int32(s.validLength))
        }
        return TokenBatch(batchSize: sentences.count, length: T, tokenIds: ids, segmentIds: segments, validLength: lengths)
    }
}
