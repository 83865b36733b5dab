import Foundation

/// A trained sentence classifier: the fine-tuned BERT (`EmotionModel`, kind `"bert"`) or the
/// character n-gram baseline (`LinearClassifier`, kind `"linear"`).
public protocol SentenceClassifier: AnyObject, Sendable {
    /// The classes, in the order of `Prediction.probabilities`.
    var labels: LabelSet { get }
    /// What kind of model this is, as written in its `config.json` (`"bert"`, `"linear"`).
    var kind: String { get }
    /// Classifies `texts`, `batchSize` sentences at a time; one prediction per text, in order.
    func predict(_ texts: [String], batchSize: Int) throws -> [Prediction]
    /// Writes the model into `directory` (created if needed), each file atomically.
    func save(directory: URL) throws
}

extension EmotionModel: SentenceClassifier {
    public var kind: String { "bert" }
}
