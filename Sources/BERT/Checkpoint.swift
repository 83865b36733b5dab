import FileSafety
import Foundation
import SafeTensors
import TorchCheckpoint

/// Named float tensors read from a checkpoint: what the BERT loader needs of a file format.
/// `SafeTensorsFile` is one; a PyTorch `pytorch_model.bin` reader and a sharded checkpoint are others.
public protocol TensorSource: AnyObject {
    /// Every tensor name.
    var names: [String] { get }
    /// The shape of tensor `name` (nil if there is none).
    func shape(_ name: String) -> [Int]?
    /// Converts tensor `name` to float32 into `destination`, which holds exactly its element count.
    func copyFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws
}

extension TorchCheckpoint: TensorSource {
    public func copyFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        try copyFloats(name, into: destination, expectedShape: nil)
    }
}

extension SafeTensorsFile: TensorSource {
    public func shape(_ name: String) -> [Int]? { info(name)?.shape }
    public func copyFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        try copyFloats(name, into: destination, expectedShape: nil)
    }
}

/// The weights of a Hugging Face model directory, in the first of the forms transformers writes
/// that is present: `model.safetensors`, its sharded form `model.safetensors.index.json`, then
/// PyTorch's `pytorch_model.bin` and `pytorch_model.bin.index.json`.
public enum CheckpointFiles {
    /// The file names looked for, in order of preference.
    public static let candidates = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"]

    /// Opens the weights in `directory`; the URL names the file (or index) they came from.
    public static func open(directory: URL) throws -> (source: TensorSource, file: URL) {
        for name in candidates {
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            if name.hasSuffix(".index.json") {
                return (try ShardedTensors(index: url, open: { try openSingle($0) }), url)
            }
            return (try openSingle(url), url)
        }
        throw BertError.checkpoint(file: directory.path, message: "no weights: none of \(candidates.joined(separator: ", "))")
    }

    /// One weights file: safetensors (an 8-byte header length, then `{`), or a PyTorch `torch.save`
    /// file (a zip archive, or a legacy pickle: PROTO 2, then the magic number as LONG1).
    static func openSingle(_ url: URL) throws -> TensorSource {
        let head = [UInt8]((try? FileHandle(forReadingFrom: url)).flatMap { h in defer { try? h.close() }; return try? h.read(upToCount: 9) } ?? Data())
        let isSafeTensors = head.count == 9 && head[8] == UInt8(ascii: "{")
        if !isSafeTensors && (head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x80, 0x02, 0x8A])
                              || ["bin", "pt", "pth"].contains(url.pathExtension)) {
            do { return try TorchCheckpoint(contentsOf: url) } catch {
                throw BertError.checkpoint(file: url.path, message: withoutFile(error, url.path))
            }
        }
        do { return try SafeTensorsFile(contentsOf: url) } catch let error as SafeTensorsError {
            throw BertError.checkpoint(file: url.path, message: error.message)
        }
    }
}

/// A checkpoint split over several files by transformers' `*.index.json` (`weight_map`: tensor name
/// → file name in the same directory).
final class ShardedTensors: TensorSource {
    private let shards: [String: TensorSource]
    private let fileOf: [String: String]
    let names: [String]

    init(index: URL, open: (URL) throws -> TensorSource) throws {
        func fail(_ m: String) -> BertError { .checkpoint(file: index.path, message: m) }
        let attributes = try? FileManager.default.attributesOfItem(atPath: index.path)
        guard let size = attributes?[.size] as? Int, size <= 64 << 20 else {
            throw fail("cannot read the index, or it is larger than 64 MB")
        }
        struct Index: Decodable { var weight_map: [String: String] }
        let map: [String: String]
        do { map = try JSONDecoder().decode(Index.self, from: Data(contentsOf: index)).weight_map } catch {
            throw fail("not a weight index (a JSON object with \"weight_map\"): \(error.localizedDescription)")
        }
        let files = Set(map.values)
        for file in files where file.isEmpty || file.contains("/") || file.contains("\\") || file == "." || file == ".." {
            throw fail("shard name \"\(untrustedText(file, limit: 80))\" is not a file name in the same directory")
        }
        var shards: [String: TensorSource] = [:]
        for file in files.sorted() { shards[file] = try open(index.deletingLastPathComponent().appendingPathComponent(file)) }
        for (name, file) in map where shards[file]?.shape(name) == nil {
            throw fail("tensor \(untrustedText(name)) is not in its shard \(untrustedText(file))")
        }
        self.shards = shards
        self.fileOf = map
        self.names = map.keys.sorted()
    }

    func shape(_ name: String) -> [Int]? { fileOf[name].flatMap { shards[$0]?.shape(name) } }

    func copyFloats(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard let file = fileOf[name], let shard = shards[file] else { throw BertError.checkpoint(file: name, message: "no such tensor") }
        try shard.copyFloats(name, into: destination)
    }
}

/// An error's description without the leading "FILE: " that readers put there, so a message that
/// names the file again does not print its path twice.
func withoutFile(_ error: Error, _ path: String) -> String {
    let text = "\(error)"
    return text.hasPrefix(path + ": ") ? String(text.dropFirst(path.count + 2)) : text
}
