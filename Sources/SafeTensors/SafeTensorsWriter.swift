import Foundation

/// Builds a safetensors file from F32 and I64 tensors.
///
/// The output is deterministic: tensors are laid out contiguously in order of name, the header JSON lists
/// `__metadata__` first and then the tensors in the same order, and it is padded with spaces so that the
/// data section starts at a multiple of 8 bytes. Data is little-endian.
///
/// ```swift
/// var writer = SafeTensorsWriter()          // metadata ["format": "pt"], as transformers expects
/// try writer.add("classifier.bias", shape: [7], floats: bias)
/// try writer.write(to: url)
/// ```
public struct SafeTensorsWriter: Sendable {
    /// Written under the header key `__metadata__` (omitted when empty).
    public var metadata: [String: String]

    private struct Entry: Sendable {
        let dtype: SafeTensorsDType
        let shape: [Int]
        let bytes: Data
    }

    private var entries: [String: Entry] = [:]

    /// Creates an empty writer. Hugging Face `transformers` refuses to load a checkpoint whose metadata
    /// lacks `"format": "pt"`, hence the default.
    public init(metadata: [String: String] = ["format": "pt"]) {
        self.metadata = metadata
    }

    /// Adds an F32 tensor. `shape` is `[]` for a scalar; its product must equal `floats.count`.
    /// Throws on a duplicate or reserved name, a negative dimension, or a count mismatch.
    public mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) throws {
        try add(name, shape: shape, dtype: .F32, count: floats.count) {
            #if _endian(little)
            Data(buffer: floats)
            #else
            Data(floats.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
            #endif
        }
    }

    /// Adds an F32 tensor; see `add(_:shape:floats:)` with a buffer.
    public mutating func add(_ name: String, shape: [Int], floats: [Float]) throws {
        try floats.withUnsafeBufferPointer { try add(name, shape: shape, floats: $0) }
    }

    /// Adds an I64 tensor (e.g. `position_ids`). `shape` is `[]` for a scalar; its product must equal
    /// `int64s.count`. Throws like `add(_:shape:floats:)`.
    public mutating func add(_ name: String, shape: [Int], int64s: [Int]) throws {
        try add(name, shape: shape, dtype: .I64, count: int64s.count) {
            let littleEndian = int64s.map { Int64($0).littleEndian }
            return littleEndian.withUnsafeBufferPointer { Data(buffer: $0) }
        }
    }

    /// Checks name and shape, then stores the bytes that `encode` produces.
    private mutating func add(_ name: String, shape: [Int], dtype: SafeTensorsDType, count: Int,
                              encode: () -> Data) throws {
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
        entries[name] = Entry(dtype: dtype, shape: shape, bytes: encode())
    }

    /// The complete file: length prefix, header and data.
    public func serialized() -> Data {
        let (prefix, ordered) = layout()
        var data = prefix
        data.reserveCapacity(prefix.count + ordered.reduce(0) { $0 + $1.bytes.count })
        for entry in ordered { data.append(entry.bytes) }
        return data
    }

    /// Writes the file atomically: to a temporary file in the same directory, flushed to disk, then
    /// renamed over `url`. On failure `url` is left as it was and the temporary file is removed.
    public func write(to url: URL) throws {
        let (prefix, ordered) = layout()
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        func fail(_ message: String) -> SafeTensorsError { SafeTensorsError(file: url.path, message: message) }

        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw fail("cannot create temporary file \(temporary.path)")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            do {
                try handle.write(contentsOf: prefix)
                for entry in ordered { try handle.write(contentsOf: entry.bytes) }
                try handle.synchronize()
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            guard rename(temporary.path, url.path) == 0 else {
                throw fail("cannot rename \(temporary.path) to it: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            if let error = error as? SafeTensorsError { throw error }
            throw fail("cannot write: \(error.localizedDescription)")
        }
    }

    /// The bytes before the data section (length prefix and padded header JSON) and the entries in
    /// data order.
    private func layout() -> (prefix: Data, ordered: [Entry]) {
        let names = entries.keys.sorted()
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }
                .map { JSONParser.quoted($0.key) + ":" + JSONParser.quoted($0.value) }
            fields.append(JSONParser.quoted(SafeTensorsHeader.metadataKey) + ":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for name in names {
            let entry = entries[name]!
            let end = offset + entry.bytes.count
            let shape = entry.shape.map(String.init).joined(separator: ",")
            fields.append(JSONParser.quoted(name)
                + ":{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        header += repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8)

        var prefix = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { prefix.append(contentsOf: $0) }
        prefix.append(contentsOf: header)
        return (prefix, names.map { entries[$0]! })
    }
}
