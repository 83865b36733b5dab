import FileSafety
import Foundation

/// Builds a safetensors file from F32 and I64 tensors.
///
/// The output is deterministic: tensors are laid out contiguously in order of name (or in the order they
/// were added, see `Order`), the header JSON lists `__metadata__` first and then the tensors in the same
/// order, and it is padded with spaces so that the data section starts at a multiple of 8 bytes (or of
/// `dataAlignment`). Data is little-endian.
///
/// ```swift
/// var writer = SafeTensorsWriter()          // metadata ["format": "pt"], as transformers expects
/// try writer.add("classifier.bias", shape: [7], floats: bias)
/// try writer.write(to: url)
/// ```
public struct SafeTensorsWriter: @unchecked Sendable {
    /// Written under the header key `__metadata__` (omitted when empty).
    public var metadata: [String: String]

    /// A tensor's elements, kept as given (no copy): an array, or memory the caller keeps alive.
    private enum Elements {
        case floats([Float])
        case floatPointer(UnsafeBufferPointer<Float>)
        case int64s([Int])

        var byteCount: Int {
            switch self {
            case .floats(let a): a.count * 4
            case .floatPointer(let p): p.count * 4
            case .int64s(let a): a.count * 8
            }
        }
    }

    private struct Entry {
        let dtype: SafeTensorsDType
        let shape: [Int]
        let elements: Elements
    }

    /// The order of the tensors in the file.
    public enum Order: Sendable {
        /// By name, as Hugging Face's `safetensors` writes them.
        case byName
        /// In the order of the `add` calls: a reader whose own layout has that order (the BERT engine's
        /// parameter buffer) can then use the data section in place.
        case asAdded
    }

    private var entries: [String: Entry] = [:]
    private var added: [String] = []
    private let order: Order
    private let dataAlignment: Int

    /// Creates an empty writer. Hugging Face `transformers` refuses to load a checkpoint whose metadata
    /// lacks `"format": "pt"`, hence the default. `dataAlignment` (a power of two, at least 8; the header
    /// is padded with spaces, which every reader accepts) places the data section at a multiple of it.
    public init(metadata: [String: String] = ["format": "pt"], order: Order = .byName, dataAlignment: Int = 8) {
        precondition(dataAlignment >= 8 && dataAlignment & (dataAlignment - 1) == 0, "dataAlignment must be a power of two >= 8")
        self.metadata = metadata
        self.order = order
        self.dataAlignment = dataAlignment
    }

    /// Adds an F32 tensor. `shape` is `[]` for a scalar; its product must equal `floats.count`.
    /// Throws on a duplicate or reserved name, a negative dimension, or a count mismatch.
    ///
    /// The elements are not copied: `floats` must stay valid and unchanged until `write(to:)` or
    /// `serialized()` has returned (so that a checkpoint of a large model costs no memory of its size).
    public mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) throws {
        try add(name, shape: shape, dtype: .F32, count: floats.count, elements: .floatPointer(floats))
    }

    /// Adds an F32 tensor; see `add(_:shape:floats:)` with a buffer. The array is kept (not copied).
    public mutating func add(_ name: String, shape: [Int], floats: [Float]) throws {
        try add(name, shape: shape, dtype: .F32, count: floats.count, elements: .floats(floats))
    }

    /// Adds an I64 tensor (e.g. `position_ids`). `shape` is `[]` for a scalar; its product must equal
    /// `int64s.count`. Throws like `add(_:shape:floats:)`.
    public mutating func add(_ name: String, shape: [Int], int64s: [Int]) throws {
        try add(name, shape: shape, dtype: .I64, count: int64s.count, elements: .int64s(int64s))
    }

    /// Checks name and shape, then records the elements.
    private mutating func add(_ name: String, shape: [Int], dtype: SafeTensorsDType, count: Int,
                              elements: Elements) throws {
        func fail(_ message: String) -> SafeTensorsError {
            SafeTensorsError(file: "SafeTensorsWriter", message: "tensor '\(name)': \(message)")
        }
        guard name != SafeTensorsHeader.metadataKey else { throw fail("the name is reserved for metadata") }
        guard entries[name] == nil else { throw fail("duplicate tensor name") }
        guard let expected = Shape.elementCount(shape) else {
            throw fail("shape \(Shape.text(shape)) has a negative dimension or too many elements")
        }
        guard expected == count else {
            throw fail("shape \(Shape.text(shape)) needs \(expected) elements but \(count) were given")
        }
        entries[name] = Entry(dtype: dtype, shape: shape, elements: elements)
        added.append(name)
    }

    /// The complete file: length prefix, header and data.
    public func serialized() -> Data {
        let (prefix, ordered) = layout()
        var data = prefix
        data.reserveCapacity(prefix.count + ordered.reduce(0) { $0 + $1.elements.byteCount })
        for entry in ordered { Self.emit(entry.elements) { data.append(contentsOf: $0) } }
        return data
    }

    /// Writes the file atomically (see `AtomicFile`): the header, then each tensor straight from its
    /// memory to a temporary file in the same directory, flushed to disk, then renamed over `url`. On
    /// failure `url` is left as it was and the temporary file is removed. Memory use does not grow
    /// with the file's size.
    public func write(to url: URL) throws {
        let (prefix, ordered) = layout()
        do {
            let file = try AtomicFile(destination: url)
            try file.write(prefix)
            for entry in ordered {
                var failure: Error?
                Self.emit(entry.elements) { bytes in
                    guard failure == nil else { return }
                    do { try file.write(bytes) } catch { failure = error }
                }
                if let failure { throw failure }
            }
            try file.commit()
        } catch let error as FileSafetyError {
            throw SafeTensorsError(file: error.path, message: error.message)
        }
    }

    /// Hands the little-endian bytes of `elements` to `sink`, in chunks of at most 4 MiB.
    private static func emit(_ elements: Elements, _ sink: (UnsafeRawBufferPointer) -> Void) {
        let chunk = 1 << 20   // elements per piece when they must be converted
        func floats(_ p: UnsafeBufferPointer<Float>) {
            #if _endian(little)
            sink(UnsafeRawBufferPointer(p))
            #else
            var lo = 0
            while lo < p.count {
                let piece = p[lo..<min(p.count, lo + chunk)].map { $0.bitPattern.littleEndian }
                piece.withUnsafeBytes(sink)
                lo += chunk
            }
            #endif
        }
        switch elements {
        case .floats(let a): a.withUnsafeBufferPointer(floats)
        case .floatPointer(let p): floats(p)
        case .int64s(let a):
            var lo = 0
            while lo < a.count {
                let piece = a[lo..<min(a.count, lo + chunk)].map { Int64($0).littleEndian }
                piece.withUnsafeBytes(sink)
                lo += chunk
            }
        }
    }

    /// The bytes before the data section (length prefix and padded header JSON) and the entries in
    /// data order.
    private func layout() -> (prefix: Data, ordered: [Entry]) {
        let names = order == .byName ? entries.keys.sorted() : added
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }
                .map { JSONParser.quoted($0.key) + ":" + JSONParser.quoted($0.value) }
            fields.append(JSONParser.quoted(SafeTensorsHeader.metadataKey) + ":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for name in names {
            let entry = entries[name]!
            let end = offset + entry.elements.byteCount
            let shape = entry.shape.map(String.init).joined(separator: ",")
            fields.append(JSONParser.quoted(name)
                + ":{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        header += repeatElement(UInt8(ascii: " "), count: (dataAlignment - (8 + header.count) % dataAlignment) % dataAlignment)

        var prefix = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { prefix.append(contentsOf: $0) }
        prefix.append(contentsOf: header)
        return (prefix, names.map { entries[$0]! })
    }
}
