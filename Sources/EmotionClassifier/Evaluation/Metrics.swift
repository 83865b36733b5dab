/// Why metrics could not be computed.
public enum MetricsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `truth` and `predicted` differ in length.
    case lengthMismatch(truth: Int, predicted: Int)
    /// A class id outside `0..<classCount` at `position`.
    case classOutOfRange(id: Int, position: Int, classCount: Int)

    public var description: String {
        switch self {
        case let .lengthMismatch(truth, predicted):
            "\(truth) true labels but \(predicted) predictions"
        case let .classOutOfRange(id, position, classCount):
            "class id \(id) at position \(position) is outside 0..<\(classCount)"
        }
    }
}

/// Precision, recall, F1 and support of one class.
public struct ClassMetrics: Sendable, Equatable, Codable {
    /// The class name.
    public var label: String
    /// Correct predictions of this class / all predictions of this class.
    public var precision: Double
    /// Correct predictions of this class / rows of this class.
    public var recall: Double
    /// Harmonic mean of precision and recall.
    public var f1: Double
    /// Number of rows whose true class is this one.
    public var support: Int
    /// Number of rows predicted as this class.
    public var predicted: Int
}

/// Classification quality over a set of rows. A ratio with a zero denominator is 0
/// (scikit-learn's `zero_division=0`).
public struct ClassificationMetrics: Sendable, Equatable, Codable {
    /// Number of rows evaluated.
    public var count: Int
    /// Share of rows predicted correctly.
    public var accuracy: Double
    /// Unweighted mean F1 over the classes that occur in the true labels or the predictions
    /// (scikit-learn's `f1_score(average="macro")` without a `labels` argument).
    public var macroF1: Double
    /// One entry per class of the label set, in id order.
    public var perClass: [ClassMetrics]
    /// `confusion[t][p]`: rows of true class `t` predicted as `p` (rows = true, columns = predicted).
    public var confusion: [[Int]]

    /// Computes the metrics.
    /// - Parameters:
    ///   - truth: true class ids.
    ///   - predicted: predicted class ids, parallel to `truth`.
    ///   - labels: names for the classes; ids must lie in `0..<labels.count`.
    public init(truth: [Int], predicted: [Int], labels: [String]) throws(MetricsError) {
        guard truth.count == predicted.count else {
            throw .lengthMismatch(truth: truth.count, predicted: predicted.count)
        }
        let classCount = labels.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classCount), count: classCount)
        for (position, (t, p)) in zip(truth, predicted).enumerated() {
            for id in [t, p] where !(0..<classCount).contains(id) {
                throw .classOutOfRange(id: id, position: position, classCount: classCount)
            }
            confusion[t][p] += 1
        }

        func ratio(_ numerator: Int, _ denominator: Int) -> Double {
            denominator == 0 ? 0 : Double(numerator) / Double(denominator)
        }
        var perClass: [ClassMetrics] = []
        for id in 0..<classCount {
            let correct = confusion[id][id]
            let support = confusion[id].reduce(0, +)
            let predictedCount = confusion.reduce(0) { $0 + $1[id] }
            let precision = ratio(correct, predictedCount)
            let recall = ratio(correct, support)
            let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
            perClass.append(ClassMetrics(label: labels[id], precision: precision, recall: recall, f1: f1,
                                         support: support, predicted: predictedCount))
        }
        let present = perClass.filter { $0.support > 0 || $0.predicted > 0 }

        self.count = truth.count
        self.accuracy = ratio((0..<classCount).reduce(0) { $0 + confusion[$1][$1] }, truth.count)
        self.macroF1 = present.isEmpty ? 0 : present.map(\.f1).reduce(0, +) / Double(present.count)
        self.perClass = perClass
        self.confusion = confusion
    }
}

/// Metrics over all test rows and over the rows whose sentence does not occur in training.
public struct Evaluation: Sendable, Equatable, Codable {
    /// Metrics over all test rows.
    public var all: ClassificationMetrics
    /// Metrics over the test rows whose sentence does not occur in training.
    public var unseen: ClassificationMetrics

    /// Evaluates predictions for `split.test` (parallel to it), with class names from `labels`.
    public init(split: DatasetSplit, predicted: [Int], labels: LabelSet) throws(MetricsError) {
        let truth = split.test.map(\.label)
        all = try ClassificationMetrics(truth: truth, predicted: predicted, labels: labels.names)
        let unseenRows = split.testSeenInTraining.indices.filter { !split.testSeenInTraining[$0] }
        unseen = try ClassificationMetrics(truth: unseenRows.map { truth[$0] }, predicted: unseenRows.map { predicted[$0] },
                                           labels: labels.names)
    }
}
