import Foundation
import Testing
import SafeTensors

/// Issue #12 (brief A and E): the writer streams tensors from their memory; errors about files that
/// are not safetensors never print their bytes.
@Suite struct SafetyTests {
    /// Brief A: `add` records the caller's buffer instead of copying it (so a 1.1 GB checkpoint costs no
    /// extra 1.1 GB): a change to the buffer after `add` is what `write(to:)` writes. The old writer
    /// copied every tensor into a `Data` at `add`, and wrote the stale copy.
    @Test func writerStreamsFromTheCallersMemory() throws {
        let count = 1 << 20
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1)
        var writer = SafeTensorsWriter()
        try writer.add("w", shape: [count], floats: UnsafeBufferPointer(buffer))
        try writer.add("ids", shape: [3], int64s: [5, -6, 7])
        buffer[count - 1] = 42
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("SafetyTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        try writer.write(to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        let w = try file.floats("w")
        #expect(w.count == count && w[0] == 1 && w[count - 1] == 42)
        #expect(try Data(contentsOf: url) == writer.serialized())
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["model.safetensors"])
    }

    /// Issue item 9: a "model.safetensors" that is really a text secret (say a symlink to /etc/shadow)
    /// must not have its first 8 bytes printed as a number, nor its text.
    @Test func notSafetensorsErrorDoesNotEchoTheFile() throws {
        for bytes in [Data("root:$6$abcdefgh$ijklmnop:19000:0:99999:7:::\n".utf8), Data([0x39, 0x30, 0, 0, 0, 0, 0, 0]) + Data("xyz".utf8)] {
            let number = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            let error = try #require(throws: SafeTensorsError.self) { _ = try SafeTensorsFile(data: bytes, name: "m.safetensors") }
            #expect(!error.message.contains(String(number)), "\(error)")
            #expect(!error.message.contains("root") && !error.message.contains("abcdef"), "\(error)")
        }
    }
}
