import BERT
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

/// Loads the model in `directory` whatever its kind: a config.json whose `"classifier"` is
/// `"linear"` is a `LinearClassifier`; any other (a Hugging Face BERT config has no such key) is an
/// `EmotionModel` (loaded with `storage`, see `EmotionModel.load`).
public func loadSentenceClassifier(directory: URL, storage: WeightStorage = .copy) throws -> any SentenceClassifier {
    let configURL = directory.appendingPathComponent("config.json")
    let data = try LinearClassifier.readFile(configURL, limit: LinearClassifier.maxConfigBytes)
    let object: Any
    do { object = try JSONSerialization.jsonObject(with: data) } catch {
        throw EmotionModelError("\(configURL.path): not JSON (\(error.localizedDescription))")
    }
    guard let config = object as? [String: Any] else { throw EmotionModelError("\(configURL.path): not a JSON object") }
    switch config["classifier"] as? String {
    case "linear": return try LinearClassifier.load(directory: directory)
    case nil, "bert": return try EmotionModel.load(directory: directory, config: data, storage: storage)
    case let other?: throw EmotionModelError("\(configURL.path): unknown classifier \"\(other)\"")
    }
}
