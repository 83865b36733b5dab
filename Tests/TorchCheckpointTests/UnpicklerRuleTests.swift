import Foundation
import Testing
import TorchCheckpoint

/// A hand-written state-dict pickle (without PROTO and STOP) and what must come of it.
struct PickleCase: Sendable, CustomTestStringConvertible {
    let label: String
    let body: [UInt8]
    /// A substring of the error, or nil if the file must load (with no tensors).
    let expected: String?
    var testDescription: String { label }
}

/// Pickle bytes written as text: each unicode scalar (all below 256) is one byte.
private func bytes(_ text: String) -> [UInt8] { text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) } }
/// BINUNICODE: a 4-byte length, then the UTF-8 bytes.
private func binUnicode(_ text: String) -> [UInt8] {
    let utf8 = Array(text.utf8)
    return [0x58] + withUnsafeBytes(of: UInt32(utf8.count).littleEndian, Array.init) + utf8
}
private let orderedDict = bytes("ccollections\nOrderedDict\n") + bytes(")R")

private let pickleCases: [PickleCase] = [
    PickleCase(label: "empty dict", body: bytes("}"), expected: nil),
    PickleCase(label: "OrderedDict with _metadata BUILD", body: orderedDict + [0x7D, 0x8C, 0x09] + bytes("_metadata") + orderedDict
               + [0x8C, 0x00, 0x7D, 0x8C, 0x07] + bytes("version") + [0x4B, 0x01] + bytes("sssb"), expected: nil),
    PickleCase(label: "APPEND to a list inside another", body: bytes("]q\0]h\0ah\0Na"), expected: "APPEND to a list that is already inside another container"),
    PickleCase(label: "list into itself", body: bytes("]q\0h\0a"), expected: "a list cannot contain itself"),
    PickleCase(label: "dict into itself", body: bytes("}q\0K\u{1}h\0s"), expected: "a dict cannot contain itself"),
    PickleCase(label: "SETITEM on a list", body: bytes("]NNs"), expected: "SETITEM on a list"),
    PickleCase(label: "APPEND to a dict", body: bytes("}Na"), expected: "APPEND to a dict"),
    PickleCase(label: "tuple dict key", body: bytes("})Ns"), expected: "dict key of type tuple"),
    PickleCase(label: "BUILD on OrderedDict with a list", body: orderedDict + bytes("]b"), expected: "BUILD on an OrderedDict with a list state"),
    PickleCase(label: "BUILD on a plain dict", body: bytes("}}b"), expected: "BUILD on a dict is not allowed"),
    PickleCase(label: "OrderedDict with arguments", body: bytes("ccollections\nOrderedDict\n]\u{85}R"), expected: "collections.OrderedDict called with 1 arguments"),
    PickleCase(label: "rebuild without arguments", body: bytes("ctorch._utils\n_rebuild_tensor_v2\n)R"), expected: "_rebuild_tensor_v2 expects 6 or 7 arguments, got 0"),
    PickleCase(label: "REDUCE on a string", body: bytes("N\u{8c}\u{1}a)R"), expected: "REDUCE on a str"),
    PickleCase(label: "value not a tensor", body: bytes("}\u{8c}\u{1}aK\u{1}s"), expected: "state dict entry 'a' is a int, not a tensor"),
    PickleCase(label: "device is harmless but not a state dict", body: bytes("ctorch\ndevice\n\u{8c}\u{3}cpu\u{85}R"), expected: "holds a torch.device, not a state dict"),
    PickleCase(label: "memo index never stored", body: [0x6A, 0xFF, 0xFF, 0xFF, 0xFF], expected: "memo index 4294967295 was never stored"),
    PickleCase(label: "forged BINUNICODE length", body: [0x58, 0xFF, 0xFF, 0xFF, 0x7F], expected: "needs 2147483647 bytes but only 5 remain"),
    PickleCase(label: "forged BINUNICODE8 length", body: [0x8D] + [UInt8](repeating: 0xFF, count: 8), expected: "string of 18446744073709551615 bytes"),
    PickleCase(label: "forged FRAME length", body: [0x95] + [UInt8](repeating: 0xFF, count: 8), expected: "frame of 18446744073709551615 bytes"),
    PickleCase(label: "invalid UTF-8", body: [0x8C, 0x02, 0xC3, 0x28], expected: "not valid UTF-8"),
    PickleCase(label: "stack underflow", body: bytes("a"), expected: "stack underflow"),
    PickleCase(label: "MARK left open", body: bytes("(}"), expected: "MARK left open at STOP"),
    PickleCase(label: "INST", body: bytes("ios\nsystem\n"), expected: "opcode INST"),
    PickleCase(label: "text persistent id", body: bytes("P0\n"), expected: "opcode PERSID"),
    PickleCase(label: "non-storage persistent id", body: bytes("(\u{8c}\u{3}fooNNNNNtQ"), expected: "persistent id is not ('storage'"),
    PickleCase(label: "global in a sub-module", body: bytes("ctorch._utils\n_rebuild_tensor\n"), expected: "refused global 'torch._utils._rebuild_tensor'"),
    PickleCase(label: "storage key of 5000 bytes",
               body: bytes("(\u{8c}\u{7}storagectorch\nFloatStorage\n") + binUnicode(String(repeating: "k", count: 5000))
                   + bytes("\u{8c}\u{3}cpuK\u{4}NtQ"),
               expected: "(opcode BINPERSID): limit exceeded: storage key of 5000 bytes; keys are limited to 4096 bytes"),
    // A 2^30 x 2^30 view with strides 0 over one element: reading it would allocate 2^60 floats.
    PickleCase(label: "broadcast view over one element",
               body: orderedDict + bytes("\u{8c}\u{1}wctorch._utils\n_rebuild_tensor_v2\n((\u{8c}\u{7}storagectorch\nFloatStorage\n\u{8c}\u{1}0\u{8c}\u{3}cpuK\u{1}NtQK\u{0}")
                   + bytes("(J\u{0}\u{0}\u{0}\u{40}J\u{0}\u{0}\u{0}\u{40}t(K\u{0}K\u{0}t\u{89}") + orderedDict + bytes("tRs"),
               expected: "view of shape [1073741824, 1073741824] has 1152921504606846976 elements, more than the 1 of storage '0'"),
    PickleCase(label: "STACK_GLOBAL name of 300 bytes", body: bytes("\u{8c}\u{2}os") + binUnicode(String(repeating: "A", count: 300)) + [0x93],
               expected: "(opcode STACK_GLOBAL): malformed checkpoint: STACK_GLOBAL name is longer than 256 bytes"),
    PickleCase(label: "STACK_GLOBAL module with escapes", body: bytes("\u{8c}\u{7}\u{1b}[31mos\u{8c}\u{6}system\u{93}"),
               expected: "(opcode STACK_GLOBAL): malformed checkpoint: STACK_GLOBAL module is not printable ASCII"),
    PickleCase(label: "unsupported storage type", body: bytes("ctorch\nComplexFloatStorage\n"), expected: "refused global 'torch.ComplexFloatStorage'"),
]

@Suite struct UnpicklerRuleTests {
    @Test(arguments: pickleCases)
    func rule(_ rule: PickleCase) throws {
        let url = try TemporaryFiles.write(Legacy.file(statePickle: [0x80, 0x02] + rule.body + [0x2E]), name: "rule-\(rule.label).bin")
        defer { try? FileManager.default.removeItem(at: url) }
        if let expected = rule.expected {
            let error = #expect(throws: TorchCheckpointError.self) { try TorchCheckpoint(contentsOf: url) }
            #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
        } else {
            #expect(try TorchCheckpoint(contentsOf: url).names.isEmpty)
        }
    }

    /// A hash bomb: one long memoized key set again and again (`BINGET 0; NONE; SETITEM`), each SETITEM
    /// hashing the whole key. A 1 MiB key is refused at its first SETITEM, before anything is hashed.
    @Test func longDictKeyIsRefused() throws {
        let body = [0x7D] + binUnicode(String(repeating: "k", count: 1 << 20)) + [0x94, 0x4E, 0x73]
            + Array(repeating: [0x68, 0x00, 0x4E, 0x73], count: 10_000).flatMap { $0 }
        let url = try TemporaryFiles.write(Legacy.file(statePickle: [0x80, 0x02] + body + [0x2E]), name: "long-key.bin")
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: TorchCheckpointError.self) { try TorchCheckpoint(contentsOf: url) }
        // The legacy file's first three pickles take 25 bytes; the SETITEM follows PROTO, EMPTY_DICT,
        // the key (5 + 2^20 bytes), MEMOIZE and NONE.
        let offset = 25 + 2 + 1 + 5 + (1 << 20) + 2
        #expect(error?.description.contains("byte \(offset) of legacy file (opcode SETITEM): limit exceeded: dict key of 1048576 bytes") == true,
                "\(String(describing: error))")
    }

    /// The same with keys of the largest length allowed (4 KiB): the bytes of keys hashed are bounded by
    /// 64 MiB here (16 per byte of input for larger files), so SETITEM number 16,385 is refused.
    @Test func hashingBudgetIsBounded() throws {
        let body = [0x7D] + binUnicode(String(repeating: "k", count: 4096)) + [0x94, 0x4E, 0x73]
            + Array(repeating: [0x68, 0x00, 0x4E, 0x73], count: 20_000).flatMap { $0 }
        let url = try TemporaryFiles.write(Legacy.file(statePickle: [0x80, 0x02] + body + [0x2E]), name: "hash-budget.bin")
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: TorchCheckpointError.self) { try TorchCheckpoint(contentsOf: url) }
        let offset = 25 + 2 + 1 + 5 + 4096 + 2 + 16_384 * 4
        #expect(error?.description.contains("byte \(offset) of legacy file (opcode SETITEM): limit exceeded: more than 67108864 bytes of dict and storage keys hashed") == true,
                "\(String(describing: error))")
    }

    @Test func bigEndianLegacyFileIsRefused() throws {
        let big = try TemporaryFiles.write(Legacy.file(statePickle: bytes("\u{80}\u{2}}."), littleEndian: false), name: "big.bin")
        let error = #expect(throws: TorchCheckpointError.self) { try TorchCheckpoint(contentsOf: big) }
        #expect(error?.description.contains("big-endian") == true, "\(String(describing: error))")
        let little = try TemporaryFiles.write(Legacy.file(statePickle: bytes("\u{80}\u{2}}."), littleEndian: true), name: "little.bin")
        #expect(try TorchCheckpoint(contentsOf: little).names.isEmpty)
    }
}
