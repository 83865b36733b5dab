import Foundation

/// An error reading a SentencePiece model file.
public enum SentencePieceError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The bytes are not a well-formed `ModelProto` protobuf: `field` names the message being read
    /// and `offset` the file offset where decoding stopped.
    case malformed(field: String, offset: Int, reason: String)
    /// The model is well-formed protobuf but not a usable SentencePiece model.
    case invalidModel(String)
    /// The model uses a feature this reader does not implement.
    case unsupported(String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read SentencePiece model \(path): \(reason)"
        case let .malformed(field, offset, reason):
            return "malformed SentencePiece model: \(field) at byte \(offset): \(reason)"
        case let .invalidModel(reason):
            return "invalid SentencePiece model: \(reason)"
        case let .unsupported(reason):
            return "unsupported SentencePiece model: \(reason)"
        }
    }
}
