import FileSafety
import Foundation
import ZIPFoundation

/// One tensor of a checkpoint: a strided view into a storage record, validated when the file is opened.
public struct TorchTensorInfo: Sendable {
    /// The tensor's key in the state dict, e.g. `bert.encoder.layer.0.attention.self.query.weight`.
    public let name: String
    /// Element type of its storage.
    public let dtype: TorchDType
    /// Dimensions, outermost first; `[]` for a scalar.
    public let shape: [Int]
    /// Steps in elements between neighbours along each dimension (a transposed view has them swapped).
    public let strides: [Int]
    /// First element's index in the storage.
    public let storageOffset: Int
    /// The storage record's key (several tensors may share one, e.g. tied weights).
    public let storageKey: String

    /// Number of elements: the product of `shape` (1 for a scalar).
    public var count: Int { shape.reduce(1, *) }
}

/// A PyTorch checkpoint (`pytorch_model.bin`, `*.pt`) opened for reading, without Python.
///
/// Reads both the zip format of `torch.save` (PyTorch 1.6 and later) and the legacy format
/// (`_use_new_zipfile_serialization=False`). The pickled state dict is read by a restricted unpickler
/// (see `Unpickler.swift`) that executes nothing: it accepts only the opcodes and globals a state dict
/// of tensors needs and refuses everything else with an error naming the global or opcode and its byte
/// offset. Every tensor's view (offset, sizes, strides) is checked against its storage when the file is
/// opened; floats are read afterwards through `copyFloats`. The API mirrors `SafeTensorsFile`.
///
/// Memory: a legacy file is memory-mapped; a zip file's storage records are each copied into memory once
/// (the archive is read through ZIPFoundation, which checks every record's CRC-32).
///
/// ```swift
/// let checkpoint = try TorchCheckpoint(contentsOf: url)
/// let weight = try checkpoint.floats("classifier.weight")
/// ```
public final class TorchCheckpoint: @unchecked Sendable {
    // @unchecked: every stored property is immutable after init; `Data` is a value.

    /// Which container format the file used.
    public enum Format: Sendable { case zip, legacy }

    /// The file path, as used in error messages.
    public let name: String
    /// The container format of the file.
    public let format: Format
    /// All tensor names, sorted.
    public let names: [String]

    private let tensors: [String: TorchTensorInfo]
    /// Storage bytes by key: the bytes `data[range]` hold the storage's elements.
    private let storages: [String: (data: Data, range: Range<Int>)]

    /// Limits on what a file may declare.
    static let maxEntries = 100_000
    static let maxPickleBytes = 256 << 20

    /// Opens and validates the checkpoint at `url`.
    ///
    /// A legacy file is memory-mapped: it must not be truncated by another process while this object
    /// is alive (that would fault on access, which no check here can prevent).
    public init(contentsOf url: URL) throws {
        let file = url.path
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw TorchCheckpointError.unreadable(file: file, reason: error.localizedDescription)
        }
        let head = [UInt8](data.prefix(4))
        let parsed: Parsed
        if head == [0x50, 0x4B, 0x03, 0x04] {
            parsed = try Self.readZip(url: url, fileSize: data.count, file: file)
            format = .zip
        } else if head.count >= 2, head[0] == 0x80, head[1] == 0x02 {
            parsed = try Self.readLegacy(data: data, file: file)
            format = .legacy
        } else {
            throw TorchCheckpointError.malformed(file: file, at: nil, reason: "neither a zip archive (torch.save) nor a legacy pickle checkpoint; first bytes are \(head.map { String(format: "%02x", $0) }.joined(separator: " "))")
        }
        name = file
        tensors = parsed.tensors
        storages = parsed.storages
        names = parsed.tensors.keys.sorted()
    }

    /// The tensor's type, shape and view, or nil if there is no such tensor.
    public func info(_ name: String) -> TorchTensorInfo? { tensors[name] }

    /// The tensor's shape, or nil if there is no such tensor.
    public func shape(_ name: String) -> [Int]? { tensors[name]?.shape }

    /// The tensor's element type, or nil if there is no such tensor.
    public func dtype(_ name: String) -> TorchDType? { tensors[name]?.dtype }

    /// The elements of a floating-point tensor (float32, float16, bfloat16, float64) as `Float`, in
    /// row-major order of its shape.
    public func floats(_ name: String) throws -> [Float] {
        let info = try floatTensor(name)
        // Checked when the file was opened too: nothing is allocated for more elements than the storage has.
        let available = storages[info.storageKey].map { $0.range.count / info.dtype.byteSize } ?? 0
        guard info.count <= available else {
            throw TorchCheckpointError.tensor(file: self.name, tensor: name, reason: "\(info.count) elements, more than the \(available) its storage holds")
        }
        var result = [Float](repeating: 0, count: info.count)
        try result.withUnsafeMutableBufferPointer { try copyFloats(name, into: $0) }
        return result
    }

    /// Converts a floating-point tensor into `destination` (row-major), which must hold exactly its
    /// element count. float16 and bfloat16 are widened exactly; float64 is rounded to nearest.
    ///
    /// - Parameter expectedShape: if given, the tensor's shape must equal it exactly.
    public func copyFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>,
                           expectedShape: [Int]? = nil) throws {
        let info = try floatTensor(name)
        if let expectedShape, expectedShape != info.shape {
            throw TorchCheckpointError.tensor(file: self.name, tensor: name, reason: "expected shape \(expectedShape), file has shape \(info.shape)")
        }
        guard destination.count == info.count else {
            throw TorchCheckpointError.tensor(file: self.name, tensor: name, reason: "destination holds \(destination.count) elements, file has shape \(info.shape) (\(info.count) elements)")
        }
        guard let storage = storages[info.storageKey] else {
            throw TorchCheckpointError.tensor(file: self.name, tensor: name, reason: "storage '\(untrustedText(info.storageKey))' is missing")
        }
        storage.data.withUnsafeBytes { raw in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[storage.range])
            StridedCopy.copy(from: bytes, dtype: info.dtype, offset: info.storageOffset, shape: info.shape,
                             strides: info.strides, into: destination)
        }
    }

    private func floatTensor(_ name: String) throws -> TorchTensorInfo {
        guard let info = tensors[name] else {
            throw TorchCheckpointError.tensor(file: self.name, tensor: name, reason: "no such tensor")
        }
        guard info.dtype.isFloatingPoint else {
            throw TorchCheckpointError.tensor(file: self.name, tensor: name, reason: "dtype \(info.dtype.rawValue) is not a floating-point type (float32, float16, bfloat16, float64 can be read as floats)")
        }
        return info
    }

    // MARK: - Reading the formats

    private struct Parsed {
        var tensors: [String: TorchTensorInfo]
        var storages: [String: (data: Data, range: Range<Int>)]
    }

    /// Runs one pickle and maps the unpickler's refusals to errors naming `part`.
    private static func unpickle(_ bytes: UnsafeRawBufferPointer, start: Int, layout: PersistentIDLayout,
                                 file: String, part: String, base: Int) throws -> (PickleValue, Unpickler) {
        var unpickler = Unpickler(bytes: bytes, start: start, layout: layout)
        do {
            let value = try unpickler.run()
            return (value, unpickler)
        } catch let failure as Unpickler.Failure {
            let at = TorchCheckpointLocation(part: part, offset: base + failure.offset, opcode: failure.opcode)
            switch failure.kind {
            case .malformed: throw TorchCheckpointError.malformed(file: file, at: at, reason: failure.message)
            case .forbiddenGlobal(let global): throw TorchCheckpointError.forbiddenGlobal(file: file, at: at, global: global)
            case .forbidden: throw TorchCheckpointError.forbidden(file: file, at: at, reason: failure.message)
            case .limit: throw TorchCheckpointError.limitExceeded(file: file, at: at, reason: failure.message)
            }
        }
    }

    /// The state dict's tensors: the pickle's result must be a dict of str keys and tensor values.
    private static func tensors(of value: PickleValue, file: String, part: String) throws -> [String: TorchTensorInfo] {
        guard case .dict(let dict) = value else {
            throw TorchCheckpointError.malformed(file: file, at: nil, reason: "\(untrustedText(part)) holds a \(value.kind), not a state dict")
        }
        var result: [String: TorchTensorInfo] = [:]
        for (key, entry) in dict.entries {
            guard case .string(let name) = key else {
                throw TorchCheckpointError.malformed(file: file, at: nil, reason: "state dict key \(key) is not a str")
            }
            guard case .tensor(let view) = entry else {
                throw TorchCheckpointError.malformed(file: file, at: nil, reason: "state dict entry '\(untrustedText(name))' is a \(entry.kind), not a tensor")
            }
            result[name] = TorchTensorInfo(name: name, dtype: view.storage.dtype, shape: view.shape, strides: view.strides,
                                           storageOffset: view.offset, storageKey: view.storage.key)
        }
        return result
    }

    private static func readZip(url: URL, fileSize: Int, file: String) throws -> Parsed {
        func malformed(_ reason: String) -> TorchCheckpointError { .malformed(file: file, at: nil, reason: reason) }
        let archive: Archive
        do { archive = try Archive(url: url, accessMode: .read) } catch {
            throw malformed("not a readable zip archive (\(error))")
        }
        var entries: [String: Entry] = [:]
        for entry in archive {
            guard entries.count < maxEntries else {
                throw TorchCheckpointError.limitExceeded(file: file, at: nil, reason: "more than \(maxEntries) zip entries")
            }
            let path = entry.path
            let components = path.split(separator: "/", omittingEmptySubsequences: false)
            guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("\\"), !path.contains("\0"),
                  !components.contains(where: { $0 == ".." || $0 == "." }) else {
                throw malformed("zip entry '\(untrustedText(path))' is not a plain relative path (path traversal?)")
            }
            guard entries[path] == nil else { throw malformed("zip entry '\(untrustedText(path))' appears twice") }
            entries[path] = entry
        }
        let pickles = entries.keys.filter { $0.hasSuffix("/data.pkl") && $0.split(separator: "/").count == 2 }
        guard pickles.count == 1, let picklePath = pickles.first else {
            throw malformed(pickles.isEmpty ? "no '<archive>/data.pkl' record: not a torch.save zip checkpoint"
                                            : "\(pickles.count) data.pkl records: \(pickles.sorted().prefix(3).map { "'\(untrustedText($0))'" }.joined(separator: ", "))\(pickles.count > 3 ? ", ..." : "")")
        }
        let prefix = String(picklePath.dropLast("data.pkl".count))

        // The bytes of all records read so far. Stored records lie side by side in the file, so together
        // they cannot hold more than the file: this bound stops central-directory entries that point at
        // the same local record (ZIPFoundation does not check) from multiplying the memory used.
        var extractedBytes = 0

        /// The bytes of one record, checked: a stored (uncompressed) regular file no larger than the file.
        func extract(_ path: String) throws -> Data {
            guard let entry = entries[path] else { throw malformed("missing record '\(untrustedText(path))'") }
            guard entry.type == .file else { throw malformed("record '\(untrustedText(path))' is not a regular file") }
            guard !entry.isCompressed else {
                throw TorchCheckpointError.unsupported(file: file, reason: "record '\(untrustedText(path))' is compressed; torch.save stores records uncompressed")
            }
            guard entry.uncompressedSize <= UInt64(fileSize) else {
                throw malformed("record '\(untrustedText(path))' declares \(entry.uncompressedSize) bytes, more than the \(fileSize)-byte file")
            }
            let size = Int(entry.uncompressedSize)
            guard size <= fileSize - extractedBytes else {
                throw malformed("record '\(untrustedText(path))' of \(size) bytes and the records read before it (\(extractedBytes) bytes) hold more than the \(fileSize)-byte file: zip entries overlap")
            }
            extractedBytes += size
            var data = Data(capacity: size)
            do {
                _ = try archive.extract(entry, bufferSize: 1 << 20, skipCRC32: false) { chunk in
                    guard data.count + chunk.count <= size else { throw TorchCheckpointError.malformed(file: file, at: nil, reason: "record '\(untrustedText(path))' is longer than declared") }
                    data.append(chunk)
                }
            } catch let error as TorchCheckpointError {
                throw error
            } catch {
                throw malformed("record '\(untrustedText(path))' cannot be read (\(error))")
            }
            guard data.count == size else { throw malformed("record '\(untrustedText(path))' holds \(data.count) bytes, \(size) declared") }
            return data
        }

        if entries[prefix + "byteorder"] != nil {
            let order = String(decoding: try extract(prefix + "byteorder"), as: UTF8.self)
            guard order == "little" else {
                if order == "big" {
                    throw TorchCheckpointError.unsupported(file: file, reason: "byteorder is 'big'; only little-endian checkpoints are supported")
                }
                throw malformed("record '\(untrustedText(prefix + "byteorder"))' is neither 'little' nor 'big'")
            }
        }
        for versionPath in [prefix + "version", prefix + ".data/version"] where entries[versionPath] != nil {
            let text = String(decoding: try extract(versionPath), as: UTF8.self)
            let digits = text.hasSuffix("\n") ? String(text.dropLast()) : text
            guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw malformed("record '\(untrustedText(versionPath))' is not a version number")
            }
        }

        guard let pickleEntry = entries[picklePath], pickleEntry.uncompressedSize <= UInt64(maxPickleBytes) else {
            throw TorchCheckpointError.limitExceeded(file: file, at: nil, reason: "'\(untrustedText(picklePath))' is larger than \(maxPickleBytes) bytes")
        }
        let pickle = try extract(picklePath)
        let (value, unpickler) = try pickle.withUnsafeBytes {
            try unpickle($0, start: 0, layout: .zip, file: file, part: picklePath, base: 0)
        }
        let tensors = try tensors(of: value, file: file, part: picklePath)

        var storages: [String: (data: Data, range: Range<Int>)] = [:]
        for (key, reference) in unpickler.storages {
            let path = prefix + "data/" + key
            guard entries[path] != nil else { throw malformed("storage '\(untrustedText(key))' has no record '\(untrustedText(path))'") }
            let bytes = try extract(path)
            let expected = reference.count * reference.dtype.byteSize  // overflow checked by the unpickler
            guard bytes.count == expected else {
                throw malformed("storage '\(untrustedText(key))' declares \(reference.count) \(reference.dtype.rawValue) elements (\(expected) bytes), its record '\(untrustedText(path))' holds \(bytes.count) bytes")
            }
            storages[key] = (bytes, 0..<bytes.count)
        }
        return Parsed(tensors: tensors, storages: storages)
    }

    /// The magic number 0x1950a86a20f9469cfc6c as LONG1 bytes (little-endian two's complement).
    private static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    private static func readLegacy(data: Data, file: String) throws -> Parsed {
        let part = "legacy file"
        return try data.withUnsafeBytes { bytes -> Parsed in
            func malformed(_ offset: Int, _ reason: String) -> TorchCheckpointError {
                .malformed(file: file, at: TorchCheckpointLocation(part: part, offset: offset), reason: reason)
            }
            var position = 0
            /// The next pickle; the legacy format is five pickles back to back, then the storages.
            func next() throws -> (PickleValue, Unpickler) {
                let result = try unpickle(bytes, start: position, layout: .legacy, file: file, part: part, base: 0)
                position = result.1.position
                return result
            }
            guard case .bigInt(let magic) = try next().0, magic == legacyMagic else {
                throw malformed(0, "first pickle is not the torch.save magic number")
            }
            let protocolStart = position
            guard case .int(1001) = try next().0 else { throw malformed(protocolStart, "protocol version is not 1001") }
            let infoStart = position
            guard case .dict(let info) = try next().0 else { throw malformed(infoStart, "system info is not a dict") }
            for (key, value) in info.entries where key == .string("little_endian") {
                guard case .bool(let little) = value else { throw malformed(infoStart, "little_endian is a \(value.kind)") }
                guard little else { throw TorchCheckpointError.unsupported(file: file, reason: "saved on a big-endian machine; only little-endian checkpoints are supported") }
            }
            let (state, unpickler) = try next()
            let tensors = try tensors(of: state, file: file, part: "the legacy state-dict pickle")
            let keysStart = position
            guard case .list(let keyList) = try next().0 else { throw malformed(keysStart, "storage key list is not a list") }

            var storages: [String: (data: Data, range: Range<Int>)] = [:]
            for item in keyList.items {
                guard case .string(let key) = item else { throw malformed(keysStart, "storage key list holds a \(item.kind)") }
                guard let reference = unpickler.storages[key] else { throw malformed(keysStart, "storage '\(untrustedText(key))' is listed but never referenced") }
                guard storages[key] == nil else { throw malformed(keysStart, "storage '\(untrustedText(key))' is listed twice") }
                guard bytes.count - position >= 8 else { throw malformed(position, "storage '\(untrustedText(key))': element count truncated") }
                var count: UInt64 = 0
                for index in 0..<8 { count |= UInt64(bytes[position + index]) << (8 * index) }
                guard count == UInt64(reference.count) else {
                    throw malformed(position, "storage '\(untrustedText(key))' holds \(count) elements here, the pickle declares \(reference.count)")
                }
                position += 8
                let size = reference.count * reference.dtype.byteSize  // overflow checked by the unpickler
                guard size <= bytes.count - position else {
                    throw malformed(position, "storage '\(untrustedText(key))' needs \(size) bytes, only \(bytes.count - position) remain (truncated?)")
                }
                storages[key] = (data, position..<position + size)
                position += size
            }
            for key in unpickler.storages.keys where storages[key] == nil {
                throw malformed(keysStart, "storage '\(untrustedText(key))' is referenced but not in the storage key list")
            }
            guard position == bytes.count else { throw malformed(position, "\(bytes.count - position) unexpected bytes after the last storage") }
            return Parsed(tensors: tensors, storages: storages)
        }
    }
}
