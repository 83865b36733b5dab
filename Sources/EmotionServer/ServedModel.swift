import EmotionClassifier
import Foundation
import SentencePiece

/// The model a server answers with: a BERT classifier (subword tokenizer, token-length limit) or the
/// character n-gram linear classifier (`train --classifier linear`; no subword tokenizer, so
/// `/tokenize` is refused and inputs are limited in characters only).
public enum ServedModel: Sendable {
    case bert(EmotionModel)
    case linear(LinearClassifier)

    /// The model `loadSentenceClassifier` returned, whatever its kind.
    public init(_ classifier: any SentenceClassifier) throws {
        if let model = classifier as? EmotionModel { self = .bert(model); return }
        if let model = classifier as? LinearClassifier { self = .linear(model); return }
        throw ServerError("a model of kind \"\(classifier.kind)\" cannot be served (bert or linear)")
    }

    public var labels: LabelSet {
        switch self {
        case .bert(let m): return m.labels
        case .linear(let m): return m.labels
        }
    }

    /// `"bert"` or `"linear"`, as the model's config.json says.
    public var kind: String {
        switch self {
        case .bert(let m): return m.kind
        case .linear(let m): return m.kind
        }
    }
}

/// One sentence as the queue holds it: encoded for BERT, or the text for the linear model; `length`
/// is what it costs in a batch (tokens, or characters for the linear model).
enum QueuedInput: Sendable {
    case encoded(EncodedSentence)
    case text(String, length: Int)

    var length: Int {
        switch self {
        case .encoded(let e): return e.validLength
        case .text(_, let length): return length
        }
    }
}
