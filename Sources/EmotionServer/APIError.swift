import Foundation
import HTTPTypes

/// Text Embeddings Inference's error types, spelled as TEI serializes them.
public enum ErrorType: String, Sendable, CaseIterable, Codable {
    case unhealthy = "Unhealthy"
    case backend = "Backend"
    case overloaded = "Overloaded"
    case validation = "Validation"
    case tokenizer = "Tokenizer"
    case empty = "Empty"

    /// The HTTP status of an error of this type, as the brief of issue #14 fixes it from TEI's
    /// `impl From<&ErrorType> for StatusCode`. (TEI itself answers validation errors with 422 since
    /// its PR #818; the 413 here is the mapping this project's API promises.)
    public var status: HTTPResponse.Status {
        switch self {
        case .unhealthy: return .serviceUnavailable          // 503
        case .backend: return .init(code: 424)               // Failed Dependency
        case .overloaded: return .tooManyRequests            // 429
        case .validation: return .contentTooLarge            // 413
        case .tokenizer: return .unprocessableContent        // 422
        case .empty: return .badRequest                      // 400
        }
    }
}

/// An error answer: `{"error": message, "error_type": type}` with the type's status, or an explicit
/// one for the two HTTP-level errors (malformed JSON 400, body over the limit 413).
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var type: ErrorType
    public var message: String
    public var status: HTTPResponse.Status

    public init(_ type: ErrorType, _ message: String, status: HTTPResponse.Status? = nil) {
        self.type = type
        self.message = message
        self.status = status ?? type.status
    }

    public var description: String { "\(status.code) \(type.rawValue): \(message)" }

    static func malformedJSON(_ detail: String) -> APIError {
        APIError(.validation, "malformed JSON body: \(detail)", status: .badRequest)
    }
}
