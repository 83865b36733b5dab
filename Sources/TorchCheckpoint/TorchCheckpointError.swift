import FileSafety

/// Where in a checkpoint an error was found: a part of the file (the zip record such as
/// `pytorch_model/data.pkl`, or `legacy file` for a non-zip checkpoint), a byte offset within that part,
/// and the pickle opcode being run if any.
public struct TorchCheckpointLocation: Sendable, Equatable, CustomStringConvertible {
    public let part: String
    public let offset: Int
    public let opcode: String?

    public init(part: String, offset: Int, opcode: String? = nil) {
        self.part = part
        self.offset = offset
        self.opcode = opcode
    }

    public var description: String {
        "byte \(offset) of \(untrustedText(part))" + (opcode.map { " (opcode \($0))" } ?? "")
    }
}

/// An error reading a PyTorch checkpoint. Every case names the file; the description also names the
/// tensor, global, opcode or record at fault and, where there is one, the byte offset. Text from the
/// file (names, keys, paths) is shown through `untrustedText`: control characters escaped, cut to length.
public enum TorchCheckpointError: Error, Sendable, CustomStringConvertible {
    /// The file could not be read at all.
    case unreadable(file: String, reason: String)
    /// The bytes are not a well-formed checkpoint (truncated, corrupt, inconsistent sizes).
    case malformed(file: String, at: TorchCheckpointLocation?, reason: String)
    /// The pickle names a global outside the allowed list (nothing is looked up or run).
    case forbiddenGlobal(file: String, at: TorchCheckpointLocation, global: String)
    /// The pickle asks for an operation a state dict does not need (an opcode, a call, a BUILD).
    case forbidden(file: String, at: TorchCheckpointLocation, reason: String)
    /// A size limit of the reader was exceeded (stack, memo, nesting, entries).
    case limitExceeded(file: String, at: TorchCheckpointLocation?, reason: String)
    /// A well-formed checkpoint this reader does not support (big-endian, compressed records, ...).
    case unsupported(file: String, reason: String)
    /// A request about one tensor failed (missing, wrong type, wrong shape or destination size).
    case tensor(file: String, tensor: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            "\(file): cannot read: \(reason)"
        case .malformed(let file, let at, let reason):
            "\(file): \(at.map { "\($0): " } ?? "")malformed checkpoint: \(reason)"
        case .forbiddenGlobal(let file, let at, let global):
            "\(file): \(at): refused global '\(untrustedText(global))': only the globals a state dict needs are allowed (nothing in the file is executed)"
        case .forbidden(let file, let at, let reason):
            "\(file): \(at): refused: \(reason)"
        case .limitExceeded(let file, let at, let reason):
            "\(file): \(at.map { "\($0): " } ?? "")limit exceeded: \(reason)"
        case .unsupported(let file, let reason):
            "\(file): unsupported checkpoint: \(reason)"
        case .tensor(let file, let tensor, let reason):
            "\(file): tensor '\(untrustedText(tensor))': \(reason)"
        }
    }
}
