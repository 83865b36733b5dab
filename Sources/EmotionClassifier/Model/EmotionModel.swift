import FileSafety
import BERT
import Foundation
import SentencePiece

/// A sentence-emotion classifier ready to use: the BERT classifier, its tokenizer and its labels.
///
/// On disk it is a Hugging Face `BertForSequenceClassification` directory that Python
/// `transformers` loads as it is: `config.json` (with `id2label`, `label2id`, and the extra keys
/// `tokenizer_pipeline` and `max_len`), `model.safetensors` and `spiece.model`.
public final class EmotionModel: @unchecked Sendable {
    public let classifier: BertClassifier
    public let tokenizer: KoBERTTokenizer
    public let labels: LabelSet
    /// Sentences are truncated to this many tokens, [CLS] and [SEP] included.
    public let maxLength: Int
    /// The SentencePiece model file's bytes, saved beside the weights.
    public let sentencePieceData: Data

    public init(classifier: BertClassifier, sentencePieceData: Data, pipeline: TokenPipeline, maxLength: Int) throws {
        self.classifier = classifier
        self.sentencePieceData = sentencePieceData
        let spm = try SentencePieceModel(data: sentencePieceData)
        guard spm.count <= classifier.config.vocabSize else {
            throw EmotionModelError("the tokenizer has \(spm.count) pieces but the model's vocabulary only \(classifier.config.vocabSize)")
        }
        self.tokenizer = try KoBERTTokenizer(model: spm, pipeline: pipeline)
        self.labels = try LabelSet.forNames(classifier.config.labels)
        self.maxLength = maxLength
        classifier.config.tokenizerPipeline = pipeline.rawValue
        classifier.config.maxLength = maxLength
    }

    /// Loads a model directory written by `save(directory:)` or by transformers (with a `spiece.model`).
    public static func load(directory: URL, pipeline: TokenPipeline? = nil, maxLength: Int? = nil) throws -> EmotionModel {
        let spmURL = directory.appendingPathComponent("spiece.model")
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("config.json").path) else {
            throw EmotionModelError("\(directory.path) is not a model directory: it has no config.json")
        }
        let (classifier, _) = try BertClassifier.load(directory: directory)
        let data: Data
        do { data = try Data(contentsOf: spmURL) } catch {
            throw EmotionModelError("\(spmURL.path): cannot read the SentencePiece model (\(error.localizedDescription))")
        }
        let configured = classifier.config.tokenizerPipeline.flatMap(TokenPipeline.init(rawValue:))
        return try EmotionModel(classifier: classifier, sentencePieceData: data,
                                pipeline: pipeline ?? configured ?? .gluonnlp,
                                maxLength: maxLength ?? classifier.config.maxLength ?? 64)
    }

    /// Writes config.json, model.safetensors and spiece.model into `directory`, each atomically.
    public func save(directory: URL) throws {
        try classifier.save(directory: directory)
        try AtomicFile.write(sentencePieceData, to: directory.appendingPathComponent("spiece.model"))
    }

    /// Token ids for `texts`, padded per batch to its longest sentence (padding is masked, so the
    /// result is the same as padding to `maxLength`).
    public func batch(_ texts: some Collection<String>) -> TokenBatch {
        TokenBatch.cutToLongest(tokenizer.encode(Array(texts), maxLength: maxLength))
    }

    /// Classifies `texts` in batches of `batchSize`.
    public func predict(_ texts: [String], batchSize: Int = 64) throws -> [Prediction] {
        let runner = try BertRunner(model: classifier, maxBatch: max(1, min(batchSize, texts.count)), maxLength: maxLength, training: false)
        return try predict(texts, runner: runner)
    }

    /// Classifies `texts` with an existing runner (reuse one across calls to avoid re-allocating buffers).
    public func predict(_ texts: [String], runner: BertRunner) throws -> [Prediction] {
        var out: [Prediction] = []
        out.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            let chunk = texts[start..<min(texts.count, start + runner.maxBatch)]
            try runner.forward(batch(chunk))
            for (text, probs) in zip(chunk, runner.probabilities()) {
                let id = probs.indices.max { probs[$0] < probs[$1] } ?? 0
                out.append(Prediction(text: text, id: id, label: labels.names[id], probabilities: probs))
            }
            start += chunk.count
        }
        return out
    }

    /// The seed's sentence for a prediction: `>> 입력하신 내용에서 행복이 느껴집니다.`
    public func message(for prediction: Prediction) -> String {
        labels.message(for: prediction.id)
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
