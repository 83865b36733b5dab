import Foundation
import Testing
import TorchCheckpoint
import ZIPFoundation

/// A hostile fixture and the substrings its error must contain.
struct HostileCase: Sendable, CustomTestStringConvertible {
    let file: String
    let expected: [String]
    var testDescription: String { file }
}

private let hostileCases: [HostileCase] = [
    HostileCase(file: "hostile-os-system.bin", expected: ["refused global 'os.system'", "byte 2 of archive/data.pkl", "GLOBAL"]),
    HostileCase(file: "hostile-eval.bin", expected: ["refused global 'builtins.eval'", "STACK_GLOBAL"]),
    HostileCase(file: "hostile-reduce-class.bin", expected: ["refused global '__main__.Exploit'"]),
    HostileCase(file: "hostile-reduce-storage.bin", expected: ["REDUCE on torch float32 storage type is not allowed", "opcode REDUCE"]),
    HostileCase(file: "hostile-build-list.bin", expected: ["BUILD on a list is not allowed", "byte 4 of archive/data.pkl"]),
    HostileCase(file: "hostile-newobj.bin", expected: ["opcode NEWOBJ", "not allowed"]),
    HostileCase(file: "hostile-deep.bin", expected: ["nested more than 64 deep", "APPEND"]),
    HostileCase(file: "hostile-forged-numel.bin", expected: ["storage '0' declares 1000000000000 float32 elements", "holds 48 bytes"]),
    HostileCase(file: "hostile-forged-view.bin", expected: ["view reaches element 999999 of storage '0', which holds 12 elements"]),
    HostileCase(file: "hostile-legacy-forged-count.bin", expected: ["storage '0' holds 4611686018427387904 elements here, the pickle declares 12"]),
    HostileCase(file: "hostile-traversal.bin", expected: ["zip entry '../evil' is not a plain relative path"]),
    // Two central-directory entries at one local record: the second copy would exceed the file's size.
    HostileCase(file: "hostile-zip-overlap.bin", expected: ["of 4096 bytes and the records read before it", "hold more than the 4926-byte file: zip entries overlap"]),
    HostileCase(file: "hostile-big-endian.bin", expected: ["byteorder is 'big'", "little-endian"]),
    HostileCase(file: "truncated.bin", expected: ["not a readable zip archive"]),
    HostileCase(file: "truncated-legacy.bin", expected: ["legacy file", "malformed"]),
]

@Suite struct HostileTests {
    @Test(arguments: hostileCases)
    func hostileFileIsRefused(_ hostile: HostileCase) {
        let error = #expect(throws: TorchCheckpointError.self) { try TorchCheckpoint(contentsOf: fixture(hostile.file)) }
        let message = error?.description ?? ""
        #expect(message.contains(hostile.file), "\(message)")
        for expected in hostile.expected {
            #expect(message.contains(expected), "\(message) lacks \(expected)")
        }
    }

    /// 100,000-deep structures, each as the state-dict pickle of a legacy file: refused by a limit, no
    /// stack overflow (neither in the parser nor when the partial values are dropped).
    @Test(arguments: [
        ("lists", [UInt8](repeating: 0x5D, count: 100_000) + [UInt8](repeating: 0x61, count: 99_999), "nested more than 64 deep"),
        ("marks", [UInt8](repeating: 0x28, count: 100_000), "more than 1024 nested MARKs"),
        ("tuples", [0x4E] + [UInt8](repeating: 0x85, count: 100_000), "nested more than 64 deep"),
        ("dicts", [0x7D] + Array(repeating: [0x4B, 0x01, 0x7D], count: 99_999).flatMap { $0 } + [UInt8](repeating: 0x73, count: 99_999), "nested more than 64 deep"),
    ] as [(String, [UInt8], String)])
    func deepNestingIsRefused(_ label: String, _ body: [UInt8], _ expected: String) throws {
        let url = try TemporaryFiles.write(Legacy.file(statePickle: [0x80, 0x02] + body + [0x2E]), name: "deep-\(label).bin")
        let error = #expect(throws: TorchCheckpointError.self) { try TorchCheckpoint(contentsOf: url) }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }
}

/// Builds legacy checkpoints around a given state-dict pickle.
enum Legacy {
    static func file(statePickle: [UInt8], littleEndian: Bool? = nil) -> Data {
        var bytes: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
        bytes += [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]
        if let littleEndian {
            bytes += [0x80, 0x02, 0x7D, 0x8C, 0x0D] + Array("little_endian".utf8) + [littleEndian ? 0x88 : 0x89, 0x73, 0x2E]
        } else {
            bytes += [0x80, 0x02, 0x7D, 0x2E]
        }
        bytes += statePickle
        bytes += [0x80, 0x02, 0x5D, 0x2E]
        return Data(bytes)
    }
}

enum TemporaryFiles {
    /// In /dev/shm where there is one: rewriting a file on this machine's disk costs ~10 ms, which
    /// thousands of fuzz cases cannot afford.
    static let directory: URL = {
        let shm = URL(fileURLWithPath: "/dev/shm")
        let root = FileManager.default.isWritableFile(atPath: shm.path) ? shm : FileManager.default.temporaryDirectory
        let url = root.appendingPathComponent("TorchCheckpointTests-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    static func write(_ data: Data, name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try data.write(to: url)
        return url
    }
}

/// A deterministic generator (SplitMix64), so every fuzz case can be reproduced from its index.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One random corruption of `bytes`: bit flips, a zeroed range, a truncation, inserted bytes, a forged
/// 1/2/4/8-byte length, or a duplicated range.
func mutate(_ bytes: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
    var bytes = bytes
    guard !bytes.isEmpty else { return bytes }
    switch Int.random(in: 0..<6, using: &rng) {
    case 0:
        for _ in 0..<Int.random(in: 1...8, using: &rng) {
            bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
        }
    case 1:
        let start = Int.random(in: 0..<bytes.count, using: &rng)
        let end = min(bytes.count, start + Int.random(in: 1...64, using: &rng))
        for index in start..<end { bytes[index] = 0 }
    case 2:
        bytes.removeSubrange(Int.random(in: 0..<bytes.count, using: &rng)...)
    case 3:
        let at = Int.random(in: 0...bytes.count, using: &rng)
        bytes.insert(contentsOf: (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: at)
    case 4:
        let width = [1, 2, 4, 8].randomElement(using: &rng)!
        let at = Int.random(in: 0..<bytes.count, using: &rng)
        let value: UInt64 = [UInt64.max, UInt64(UInt32.max), 0x7FFF_FFFF, 1 << 40, UInt64.random(in: 0...UInt64.max, using: &rng), 0]
            .randomElement(using: &rng)!
        for index in 0..<width where at + index < bytes.count { bytes[at + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    default:
        let start = Int.random(in: 0..<bytes.count, using: &rng)
        let end = min(bytes.count, start + Int.random(in: 1...32, using: &rng))
        bytes.insert(contentsOf: bytes[start..<end], at: Int.random(in: 0...bytes.count, using: &rng))
    }
    return bytes
}

/// Opens `url` and, if it loads, reads every floating-point tensor: either must end in a clean
/// `TorchCheckpointError`. Returns whether it loaded.
@discardableResult
func loadFully(_ url: URL) -> Bool {
    do {
        let checkpoint = try TorchCheckpoint(contentsOf: url)
        for name in checkpoint.names where checkpoint.dtype(name)?.isFloatingPoint == true {
            _ = try checkpoint.floats(name)
        }
        return true
    } catch let error as TorchCheckpointError {
        if ProcessInfo.processInfo.environment["FUZZ_LOG"] != nil { print("FUZZ", error) }
        return false
    } catch {
        Issue.record("not a TorchCheckpointError: \(error)")
        return false
    }
}

/// The pickle of a zip checkpoint, mutated, written back into a valid zip (correct CRCs) so that the
/// mutation reaches the unpickler instead of being stopped by the CRC check.
func rezip(_ source: URL, mutatingPickleWith transform: ([UInt8]) -> [UInt8], to target: URL) throws {
    let archive = try Archive(url: source, accessMode: .read)
    try? FileManager.default.removeItem(at: target)
    let output = try Archive(url: target, accessMode: .create)
    for entry in archive {
        var data = Data()
        _ = try archive.extract(entry) { data.append($0) }
        if entry.path.hasSuffix("/data.pkl") { data = Data(transform([UInt8](data))) }
        try output.addEntry(with: entry.path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .none) { position, size in
            data.subdata(in: Int(position)..<Int(position) + size)
        }
    }
}

@Suite(.serialized) struct FuzzTests {
    /// Raw mutations of whole files (zip structure and legacy pickles), 1,000 cases per small file.
    @Test(arguments: ["views.bin", "views-legacy.bin", "handmade.bin", "handmade-legacy.bin", "bert-legacy.bin", "pytorch_model.bin"])
    func mutatedFilesNeverCrash(_ file: String) throws {
        let original = [UInt8](try Data(contentsOf: fixture(file)))
        var rng = SplitMix64(state: UInt64(file.utf8.reduce(0) { $0 &* 31 &+ Int($1) }.magnitude))
        var loaded = 0
        let cases = file.hasPrefix("views") || file.hasPrefix("handmade") ? 1_000 : 300
        for index in 0..<cases {
            var bytes = mutate(original, &rng)
            if index % 4 == 0 { bytes = mutate(bytes, &rng) }
            let url = try TemporaryFiles.write(Data(bytes), name: "fuzz-\(file)")
            if loadFully(url) { loaded += 1 }
        }
        try? FileManager.default.removeItem(at: TemporaryFiles.directory.appendingPathComponent("fuzz-\(file)"))
        // Some mutations are harmless (tensor data bytes of a legacy file), most are not.
        #expect(loaded < cases)
    }

    /// Mutations of a zip checkpoint's data.pkl, repackaged with valid CRCs, 800 cases per file.
    @Test(arguments: ["views.bin", "handmade.bin"])
    func mutatedZipPicklesNeverCrash(_ file: String) throws {
        var rng = SplitMix64(state: 0xC0FFEE &+ UInt64(file.count))
        let target = TemporaryFiles.directory.appendingPathComponent("rezip-\(file)")
        // The repackaging itself keeps a good file good.
        try rezip(fixture(file), mutatingPickleWith: { $0 }, to: target)
        #expect(loadFully(target))
        for _ in 0..<800 {
            try rezip(fixture(file), mutatingPickleWith: { mutate($0, &rng) }, to: target)
            loadFully(target)
        }
        try? FileManager.default.removeItem(at: target)
    }
}
