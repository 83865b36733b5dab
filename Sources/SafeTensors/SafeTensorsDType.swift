/// Element types of the safetensors format that this library reads.
///
/// The raw values are the spellings used in the file header (`"dtype": "F32"`).
/// All multi-byte types are stored little-endian.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL

    /// Size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .F64, .I64: 8
        case .F32, .I32: 4
        case .F16, .BF16, .I16: 2
        case .I8, .U8, .BOOL: 1
        }
    }

    /// Whether `SafeTensorsFile.floats` can read this type (floating point, converted to `Float`).
    public var isFloatingPoint: Bool {
        switch self {
        case .F64, .F32, .F16, .BF16: true
        case .I64, .I32, .I16, .I8, .U8, .BOOL: false
        }
    }
}

/// An error reading or writing a safetensors file.
///
/// `file` is the path (or the name given to `SafeTensorsFile.init(data:name:)`); `message` says what is
/// wrong and, where one is involved, names the tensor.
public struct SafeTensorsError: Error, CustomStringConvertible, Sendable {
    /// The file (or in-memory name) the error is about.
    public let file: String
    /// What went wrong, naming the tensor where one is involved.
    public let message: String

    /// Creates an error about `file`.
    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}

/// Shape arithmetic shared by the reader and the writer.
enum Shape {
    /// Number of elements of `shape` (1 for a scalar `[]`), or nil if a dimension is negative or the
    /// product overflows `Int`.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    /// Number of bytes of `shape` elements of `dtype`, or nil on a negative dimension or overflow.
    static func byteCount(_ shape: [Int], _ dtype: SafeTensorsDType) -> Int? {
        guard let count = elementCount(shape) else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        return overflow ? nil : bytes
    }

    /// `[2, 3]` as written in messages.
    static func text(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }
}
