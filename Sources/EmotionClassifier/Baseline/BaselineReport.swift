import Foundation

/// The character n-gram baseline beside a BERT model: trained on the same training rows, scored on
/// the same test rows, so a report can say whether BERT is worth its cost on this data.
public struct BaselineResult: Sendable, Equatable, Codable {
    /// The model kind (`"linear"`) and its settings.
    public var kind: String
    public var options: LinearOptions
    /// Features (character n-grams kept by `min_df`).
    public var features: Int
    /// Scores on the test rows (all, and those unseen in training).
    public var evaluation: Evaluation
    /// Seconds to fit (vectorizer + optimizer) and to score the test rows.
    public var fitSeconds: Double
    public var evaluationSeconds: Double

    /// The folder inside a BERT model directory that holds its baseline (a model directory of its own).
    public static let folderName = "baseline"

    /// Trains the baseline on `split.train` and scores it on `split.test`.
    public static func fit(split: DatasetSplit, labels: LabelSet, options: LinearOptions = LinearOptions()) throws -> (LinearClassifier, BaselineResult) {
        let start = Date()
        let model = try LinearClassifier.train(split.train, labels: labels, options: options)
        let fitted = Date()
        let result = try score(model, on: split)
        return (model, BaselineResult(kind: model.kind, options: options, features: model.featureCount, evaluation: result,
                                      fitSeconds: fitted.timeIntervalSince(start),
                                      evaluationSeconds: Date().timeIntervalSince(fitted)))
    }

    /// A saved baseline re-scored on `split.test` (for `evaluate`).
    public static func rescore(_ model: LinearClassifier, on split: DatasetSplit) throws -> BaselineResult {
        let start = Date()
        let evaluation = try score(model, on: split)
        return BaselineResult(kind: model.kind, options: model.options, features: model.featureCount, evaluation: evaluation,
                              fitSeconds: 0, evaluationSeconds: Date().timeIntervalSince(start))
    }

    static func score(_ model: LinearClassifier, on split: DatasetSplit) throws -> Evaluation {
        try Evaluation(split: split, predicted: try model.predict(split.test.map(\.text)).map(\.id), labels: model.labels)
    }

    /// "BERT beats the character n-gram baseline by +2.1 points" (test accuracy on all test rows),
    /// or "does not beat it".
    public func comparison(with bert: Evaluation) -> String {
        let points = 100 * (bert.all.accuracy - evaluation.all.accuracy)
        let text = String(format: "%+.1f", points)
        return points > 0
            ? "BERT beats the character n-gram baseline by \(text) points of test accuracy"
            : "BERT does not beat the character n-gram baseline (\(text) points of test accuracy)"
    }
}

extension LinearClassifier {
    /// `train --classifier linear`: the baseline as a model of its own. Loads and splits the data as
    /// BERT training does, fits on the training rows, scores the test rows, and writes the model
    /// directory (config.json, vocabulary.json, model.safetensors) with `report.json` and `report.html`.
    public static func trainJob(data: DataOptions, options: LinearOptions = LinearOptions(), output: URL) throws -> (LinearClassifier, TrainingReport) {
        let start = Date()
        let (dataset, split) = try data.loadSplit()
        guard !split.train.isEmpty else { throw TrainingError.emptyData("\(dataset.source): no training examples after the split") }
        let loaded = Date()
        let (model, result) = try BaselineResult.fit(split: split, labels: dataset.labels, options: options)
        try model.save(directory: output)
        var report = TrainingReport(
            config: .init(data: data.summary(of: dataset), split: .init(split),
                          model: "character n-gram linear classifier (\(result.features) features)"),
            evaluation: result.evaluation)
        report.timing = .init(loadSeconds: loaded.timeIntervalSince(start), trainSeconds: result.fitSeconds,
                              evaluationSeconds: result.evaluationSeconds, totalSeconds: Date().timeIntervalSince(start))
        try report.write(to: output)
        return (model, report)
    }
}
