import Foundation
#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Where one tensor lives in a safetensors file, with its type and shape.
public struct TensorInfo: Sendable {
    /// The tensor's name (its key in the header), e.g. `bert.encoder.layer.0.attention.self.query.weight`.
    public let name: String
    /// Element type as stored in the file.
    public let dtype: SafeTensorsDType
    /// Dimensions, outermost first; `[]` for a scalar.
    public let shape: [Int]
    /// Byte range within the data section (the bytes after the header).
    public let byteRange: Range<Int>

    /// Number of elements: the product of `shape` (1 for a scalar, 0 for an empty tensor).
    public var count: Int { shape.reduce(1, *) }
}

/// A safetensors file opened for reading.
///
/// The whole header is validated when the file is opened: sizes, JSON syntax, dtypes, shapes, offsets
/// within the data section and matching the shape, no overlapping tensors, no duplicate names or unknown
/// keys. A truncated or inconsistent file is a thrown `SafeTensorsError` that names the file and tensor;
/// tensor data is only read afterwards, through the validated ranges.
///
/// ```swift
/// let file = try SafeTensorsFile(contentsOf: url)
/// let weight = try file.floats("classifier.weight")
/// ```
public final class SafeTensorsFile: Sendable {
    /// The file path or the name given to `init(data:name:)`, as used in error messages.
    public let name: String
    /// The string pairs under the header key `__metadata__` (empty if there are none).
    public let metadata: [String: String]
    /// All tensor names, sorted.
    public let names: [String]

    private let tensors: [String: TensorInfo]
    /// The whole file; with `init(contentsOf:)` it is memory-mapped, not read into memory.
    private let data: Data
    /// Offset of the data section from the first byte of the file (of `data`): a tensor's bytes start at
    /// `dataSectionOffset + info.byteRange.lowerBound`.
    public let dataSectionOffset: Int

    /// Memory-maps the file at `url` and validates its header.
    ///
    /// The file must not be truncated by another process while this object is alive: with memory mapping
    /// that would fault on access, which no check here can prevent.
    public convenience init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SafeTensorsError(file: url.path, message: "cannot read file: \(readFailure(url))")
        }
        try self.init(data: data, name: url.path)
    }

    /// Validates the safetensors bytes in `data`; `name` identifies them in error messages.
    public init(data: Data, name: String = "<memory>") throws {
        func fail(_ message: String) -> SafeTensorsError { SafeTensorsError(file: name, message: message) }

        guard data.count >= 8 else {
            throw fail("file is \(data.count) bytes, too short for the 8-byte header length")
        }
        let declaredLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard declaredLength <= UInt64(SafeTensorsHeader.maxHeaderLength) else {
            // The number is not printed: for a file that is not safetensors (or a link to a secret),
            // it would be the file's first 8 bytes.
            throw fail("not a safetensors file: its first 8 bytes do not give a header length of at most \(SafeTensorsHeader.maxHeaderLength) bytes")
        }
        let headerLength = Int(declaredLength)
        guard headerLength <= data.count - 8 else {
            throw fail("the header length in its first 8 bytes runs past the end of the \(data.count)-byte file (truncated, or not a safetensors file?)")
        }
        let json = data.withUnsafeBytes { Array($0[8..<8 + headerLength]) }
        let header = try SafeTensorsHeader(json: json, dataSize: data.count - 8 - headerLength, fail: fail)

        self.name = name
        self.metadata = header.metadata
        self.tensors = header.tensors
        self.names = header.tensors.keys.sorted()
        self.data = data
        self.dataSectionOffset = 8 + headerLength
    }

    /// The type, shape and location of tensor `name`, or nil if there is no such tensor.
    public func info(_ name: String) -> TensorInfo? { tensors[name] }

    /// The elements of a floating-point tensor (F32, F16, BF16 or F64), converted to `Float`.
    ///
    /// F64 values are rounded to the nearest `Float`. Throws if the tensor is missing or not floating point.
    public func floats(_ name: String) throws -> [Float] {
        let info = try floatTensor(name)
        return [Float](unsafeUninitializedCapacity: info.count) { buffer, initializedCount in
            withBytes(of: info) { ElementDecoding.decodeFloats($0, as: info.dtype, into: buffer) }
            initializedCount = info.count
        }
    }

    /// Converts a floating-point tensor into `destination`, which must hold exactly its element count.
    ///
    /// - Parameter expectedShape: if given, the tensor's shape must equal it exactly (catches, for
    ///   example, a transposed weight with the right element count).
    /// Throws, naming the tensor and both shapes, on a mismatch.
    public func copyFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>,
                           expectedShape: [Int]? = nil) throws {
        let info = try floatTensor(name)
        if let expectedShape, expectedShape != info.shape {
            throw error("tensor '\(name)': expected shape \(Shape.text(expectedShape)), file has shape \(Shape.text(info.shape))")
        }
        guard destination.count == info.count else {
            throw error("tensor '\(name)': destination holds \(destination.count) elements, file has shape \(Shape.text(info.shape)) (\(info.count) elements)")
        }
        withBytes(of: info) { ElementDecoding.decodeFloats($0, as: info.dtype, into: destination) }
    }

    /// The elements of an integer or boolean tensor (I64, I32, I16, I8, U8, BOOL) as `Int`; BOOL gives 0 or 1.
    ///
    /// Throws if the tensor is missing or not an integer type.
    public func ints(_ name: String) throws -> [Int] {
        let info = try tensor(name)
        guard !info.dtype.isFloatingPoint else {
            throw error("tensor '\(name)' has dtype \(info.dtype.rawValue), not an integer type")
        }
        return [Int](unsafeUninitializedCapacity: info.count) { buffer, initializedCount in
            withBytes(of: info) { ElementDecoding.decodeInts($0, as: info.dtype, into: buffer) }
            initializedCount = info.count
        }
    }

    private func error(_ message: String) -> SafeTensorsError { SafeTensorsError(file: name, message: message) }

    private func tensor(_ name: String) throws -> TensorInfo {
        guard let info = tensors[name] else { throw error("no tensor named '\(name)'") }
        return info
    }

    private func floatTensor(_ name: String) throws -> TensorInfo {
        let info = try tensor(name)
        guard info.dtype.isFloatingPoint else {
            throw error("tensor '\(name)' has dtype \(info.dtype.rawValue), not a floating-point type")
        }
        return info
    }

    /// Calls `body` with the tensor's bytes; the range was validated against the data section at init.
    private func withBytes<Result>(of info: TensorInfo, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        data.withUnsafeBytes { file in
            let start = dataSectionOffset + info.byteRange.lowerBound
            return body(UnsafeRawBufferPointer(rebasing: file[start..<start + info.byteRange.count]))
        }
    }
}

/// Why `url` cannot be read, in plain words ("no such file or directory", "is a directory").
func readFailure(_ url: URL) -> String {
    var st = stat()
    guard stat(url.path, &st) == 0 else { return String(cString: strerror(errno)).lowercased() }
    if (st.st_mode & S_IFMT) == S_IFDIR { return "is a directory" }
    let fd = open(url.path, O_RDONLY)
    guard fd >= 0 else { return String(cString: strerror(errno)).lowercased() }
    close(fd)
    return "not a regular file that can be mapped"
}
