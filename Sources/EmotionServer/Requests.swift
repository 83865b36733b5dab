import Foundation

/// `POST /predict` body, TEI's `PredictRequest`.
struct PredictBody: Decodable {
    var inputs: PredictInputs
    var truncate: Bool?
    var truncationDirection: String?
    var rawScores: Bool?
    enum CodingKeys: String, CodingKey {
        case inputs, truncate, truncationDirection = "truncation_direction", rawScores = "raw_scores"
    }
}

/// TEI's untagged `PredictInput`: one sentence, or a batch of one-sentence lists. A plain list of
/// strings is, in TEI, a sentence pair; this model classifies single sentences, so it is refused with
/// the batch shape spelled out.
enum PredictInputs: Decodable {
    case single(String)
    case batch([String])

    static let batchShapeHint = #"a batch is a list of one-sentence lists: {"inputs": [["문장1"], ["문장2"]]}"#

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try decodeIfShaped(container, String.self) { self = .single(text); return }
        if let lists = try decodeIfShaped(container, [[String]].self) {
            for (i, list) in lists.enumerated() where list.count != 1 {
                throw APIError(list.isEmpty ? .empty : .validation,
                               list.isEmpty ? "input \(i) is an empty list; \(Self.batchShapeHint)"
                                            : "input \(i) is a list of \(list.count) texts (a sentence pair in TEI); this model classifies single sentences: \(Self.batchShapeHint)")
            }
            self = .batch(lists.map { $0[0] }); return
        }
        if let plain = try decodeIfShaped(container, [String].self) {
            // As TEI: a list of two strings is a sentence pair; any other count is a batch.
            guard plain.count == 2 else { self = .batch(plain); return }
            throw APIError(.validation, "`inputs` is a list of 2 strings (a sentence pair in TEI); this model classifies single sentences: \(Self.batchShapeHint)")
        }
        throw APIError(.validation, #"`inputs` must be a string ({"inputs": "문장"}) or "# + Self.batchShapeHint)
    }

    var texts: [String] {
        switch self {
        case .single(let t): return [t]
        case .batch(let ts): return ts
        }
    }
    var isBatch: Bool { if case .batch = self { return true } else { return false } }
}

/// `POST /tokenize` body, TEI's `TokenizeRequest` (a string or a list of strings).
struct TokenizeBody: Decodable {
    var inputs: TokenizeInputs
    var addSpecialTokens: Bool?
    enum CodingKeys: String, CodingKey { case inputs, addSpecialTokens = "add_special_tokens" }
}

enum TokenizeInputs: Decodable {
    case single(String)
    case batch([String])
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try decodeIfShaped(container, String.self) { self = .single(text); return }
        if let list = try decodeIfShaped(container, [String].self) { self = .batch(list); return }
        throw APIError(.validation, #"`inputs` must be a string or a list of strings"#)
    }
    var texts: [String] {
        switch self {
        case .single(let t): return [t]
        case .batch(let ts): return ts
        }
    }
}

/// The value decoded as `T`, or nil when it has another shape. A value of this shape whose text is
/// broken (invalid UTF-8, a lone surrogate) is malformed JSON (400), not a value of another shape.
func decodeIfShaped<T: Decodable>(_ container: any SingleValueDecodingContainer, _ type: T.Type) throws -> T? {
    do {
        return try container.decode(T.self)
    } catch DecodingError.typeMismatch, DecodingError.valueNotFound {
        return nil
    } catch DecodingError.dataCorrupted(let context) {
        throw APIError.malformedJSON(context.underlyingError.map { "\($0)" } ?? context.debugDescription)
    }
}

/// Decodes a request body: API errors from the shapes above pass through, a body that is not JSON is
/// 400, JSON of the wrong shape (missing or mistyped field) is a validation error.
func decodeBody<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch let error as APIError {
        throw error
    } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
        throw APIError.malformedJSON(context.underlyingError.map { "\($0)" } ?? context.debugDescription)
    } catch DecodingError.keyNotFound(let key, _) {
        throw APIError(.validation, "missing field `\(key.stringValue)`")
    } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        throw APIError(.validation, "field `\(path.isEmpty ? "body" : path)`: \(context.debugDescription)")
    } catch DecodingError.dataCorrupted(let context) {
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        throw APIError(.validation, "field `\(path)`: \(context.debugDescription)")
    } catch {
        throw APIError.malformedJSON("\(error)")
    }
}

// Answers.

struct LabelScore: Encodable, Equatable {
    var label: String
    var score: Float
}

struct SimpleToken: Encodable {
    var id: Int
    var text: String
    var special: Bool
    var start: Int?
    var stop: Int?
    enum CodingKeys: String, CodingKey { case id, text, special, start, stop }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(text, forKey: .text)
        try c.encode(special, forKey: .special)
        try c.encode(start, forKey: .start)   // null: the tokenizer gives no offsets
        try c.encode(stop, forKey: .stop)
    }
}

struct ErrorBody: Encodable {
    var error: String
    var errorType: String
    enum CodingKeys: String, CodingKey { case error, errorType = "error_type" }
}

struct InfoBody: Encodable {
    struct Classifier: Encodable { var id2label: [String: String]; var label2id: [String: Int] }
    struct ModelType: Encodable { var classifier: Classifier }
    var modelID: String
    var modelType: ModelType
    var modelKind: String
    var labels: [String]
    var maxInputLength: Int
    var tokenizerPipeline: String
    var maxBatchTokens: Int
    var maxBatchRequests: Int
    var maxClientBatchSize: Int
    var maxConcurrentRequests: Int
    var maxWaitMs: Int
    var autoTruncate: Bool
    var version: String
    enum CodingKeys: String, CodingKey {
        case modelID = "model_id", modelType = "model_type", modelKind = "model_kind", labels, maxInputLength = "max_input_length"
        case tokenizerPipeline = "tokenizer_pipeline", maxBatchTokens = "max_batch_tokens"
        case maxBatchRequests = "max_batch_requests", maxClientBatchSize = "max_client_batch_size"
        case maxConcurrentRequests = "max_concurrent_requests", maxWaitMs = "max_wait_ms"
        case autoTruncate = "auto_truncate", version
    }
}
