import FileSafety
import BERT
import Foundation
import Kernels
import SafeTensors
import SentencePiece

extension EmotionModel {
    /// The tokenizer of a model directory without loading its weights: `spiece.model`, the pipeline
    /// named in `config.json` (or `pipeline`, or gluonnlp) and the model's `max_len` (or 64).
    public static func loadTokenizer(directory: URL, pipeline: TokenPipeline? = nil) throws -> (tokenizer: KoBERTTokenizer, maxLength: Int) {
        let configURL = directory.appendingPathComponent("config.json")
        let app = try ApplicationConfig.load(configURL)
        try app.requireBERT(directory, for: "it has no tokenizer (tokenize and the server's /tokenize need a BERT model)")
        let configured = try app.pipeline(file: configURL)
        let spm = try SentencePieceModel(contentsOf: directory.appendingPathComponent("spiece.model"))
        return (try KoBERTTokenizer(model: spm, pipeline: pipeline ?? configured ?? .gluonnlp), app.maxLength ?? 64)
    }

}

extension SentenceClassifier {
    /// Scores the model on a dataset: its test split (all test rows and the unseen ones), or every
    /// row with `allRows`. Returns a report with the numbers (no training history).
    /// - Parameters:
    ///   - model: how the report names the model (e.g. its directory).
    ///   - baseline: a baseline to re-score on the same rows (the `baseline/` folder of a BERT model).
    public func evaluate(_ data: DataOptions, allRows: Bool = false, model: String = "(evaluated)",
                         baseline: LinearClassifier? = nil) throws -> (report: TrainingReport, split: DatasetSplit) {
        let start = Date()
        let dataset = try data.load()
        let split: DatasetSplit
        if allRows {
            split = DatasetSplit(allTest: dataset.examples)
        } else {
            split = try DatasetSplit(examples: dataset.examples, mode: data.split, testFraction: data.testFraction, seed: data.splitSeed)
        }
        let evaluation = try evaluate(split)
        var report = TrainingReport(config: .init(data: data.summary(of: dataset), split: allRows ? nil : .init(split),
                                                  model: model), evaluation: evaluation)
        report.baseline = try baseline.map { try BaselineResult.rescore($0, on: split) }
        report.timing.evaluationSeconds = Date().timeIntervalSince(start)
        report.timing.totalSeconds = report.timing.evaluationSeconds
        return (report, split)
    }

    /// Accuracy, macro-F1, per-class scores and confusion matrix on the split's test examples, over
    /// all of them and over those whose sentence never occurs in training.
    public func evaluate(_ split: DatasetSplit, batchSize: Int = 64) throws -> Evaluation {
        let predicted = try predict(split.test.map(\.text), batchSize: batchSize).map(\.id)
        return try Evaluation(split: split, predicted: predicted, labels: labels)
    }

    /// The seed's sentence for a prediction: `>> 입력하신 내용에서 행복이 느껴집니다.`
    public func message(for prediction: Prediction) -> String {
        labels.message(for: prediction.id)
    }
}

/// The by-hand full-size check: a model's logits against PyTorch's on the same batch.
public enum ParityCheck {
    public struct Result: Sendable {
        public let discrepancy: Discrepancy
        public let seconds: Double
        public let batch: (Int, Int)
        public var passed: Bool { discrepancy.withinTolerance }
        public var summary: String {
            "\(passed ? "PASS" : "FAIL"): logits of a \(batch.0) x \(batch.1) batch vs PyTorch: \(discrepancy); forward took \(String(format: "%.3f", seconds)) s"
        }
    }

    public static func run(modelDirectory: URL, reference: URL, rtol: Float) throws -> Result {
        let (model, _) = try BertClassifier.load(directory: modelDirectory, purpose: .use)
        let ref = try SafeTensorsFile(contentsOf: reference)
        guard let shape = ref.info("input_ids")?.shape, shape.count == 2 else {
            throw EmotionModelError("\(reference.path): no 2-D input_ids")
        }
        let (B, T) = (shape[0], shape[1])
        let mask = try ref.ints("attention_mask")
        let lengths = (0..<B).map { b in Int32(mask[(b * T)..<((b + 1) * T)].prefix { $0 == 1 }.count) }
        let batch = TokenBatch(batchSize: B, length: T, tokenIds: try ref.ints("input_ids").map { Int32($0) },
                               segmentIds: try ref.ints("token_type_ids").map { Int32($0) }, validLength: lengths)
        let runner = try BertRunner(model: model, maxBatch: B, maxLength: T, training: false)
        let start = Date()
        let logits = try withExtendedLifetime(runner) { Array(try runner.forward(batch)) }   // the logits live in the runner
        let seconds = Date().timeIntervalSince(start)
        return Result(discrepancy: Discrepancy(logits, try ref.floats("logits"), atol: 1e-6, rtol: rtol), seconds: seconds, batch: (B, T))
    }
}

extension DatasetSplit {
    /// Every example as test data and none for training: for scoring a model on data it never saw
    /// (every test example then counts as unseen).
    init(allTest examples: [Example]) {
        mode = .random
        seed = 0
        testFraction = 1
        trainIndices = []
        testIndices = Array(examples.indices)
        train = []
        test = examples
        testSeenInTraining = [Bool](repeating: false, count: examples.count)
    }
}
