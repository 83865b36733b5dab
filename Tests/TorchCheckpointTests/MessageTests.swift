import Foundation
import Testing
import TorchCheckpoint
import ZIPFoundation

/// Pickle bytes written as text: each unicode scalar (all below 256) is one byte.
private func bytes(_ text: String) -> [UInt8] { text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) } }

/// SHORT_BINUNICODE of `text` (its UTF-8 bytes).
private func shortString(_ text: String) -> [UInt8] { [0x8C, UInt8(text.utf8.count)] + Array(text.utf8) }

/// Text from the file reaches error messages through `untrustedText`: escape sequences and line breaks
/// escaped, long names cut. One message from each path: tensor names, storage keys, globals, zip records.
@Suite struct MessageTests {
    static let evil = "\u{1B}[31mEVIL\n\rkey"
    static let shown = "\\u{1B}[31mEVIL\\u{0A}\\u{0D}key"

    func legacyError(_ body: [UInt8], _ name: String) throws -> String {
        let url = try TemporaryFiles.write(Legacy.file(statePickle: [0x80, 0x02] + body + [0x2E]), name: name)
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: TorchCheckpointError.self) { try TorchCheckpoint(contentsOf: url) }
        return error?.description ?? ""
    }

    /// A zip checkpoint of the given records (stored), written with ZIPFoundation.
    func zipFile(_ records: [(String, [UInt8])], name: String) throws -> URL {
        let url = TemporaryFiles.directory.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: url)
        let archive = try Archive(url: url, accessMode: .create)
        for (path, content) in records {
            let data = Data(content)
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .none) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        return url
    }

    @Test func tensorNameIsEscaped() throws {
        let message = try legacyError(bytes("}") + shortString(Self.evil) + bytes("K\u{1}s"), "message-tensor.bin")
        #expect(message.contains("state dict entry '\(Self.shown)' is a int"), "\(message)")
        #expect(!message.contains("\u{1B}") && !message.contains("\n") && !message.contains("\r"), "\(message)")
        // The name a caller asks for, too (it may come from `names`).
        let checkpoint = try TorchCheckpoint(contentsOf: fixture("handmade.bin"))
        let error = #expect(throws: TorchCheckpointError.self) { try checkpoint.floats(Self.evil) }
        #expect(error?.description.contains("tensor '\(Self.shown)': no such tensor") == true, "\(String(describing: error))")
    }

    @Test func storageKeyIsEscaped() throws {
        // A one-element storage under the key, viewed as two elements.
        let body = bytes("}\u{8c}\u{1}wctorch._utils\n_rebuild_tensor_v2\n((\u{8c}\u{7}storagectorch\nFloatStorage\n") + shortString(Self.evil)
            + bytes("\u{8c}\u{3}cpuK\u{1}NtQK\u{0}(K\u{2}t(K\u{1}t\u{89}ccollections\nOrderedDict\n)RtRs")
        let message = try legacyError(body, "message-storage.bin")
        #expect(message.contains("view reaches element 1 of storage '\(Self.shown)', which holds 1 elements"), "\(message)")
    }

    @Test func longGlobalNameIsCut() throws {
        let message = try legacyError(bytes("c" + String(repeating: "a", count: 200) + "\nb\n"), "message-global.bin")
        #expect(message.contains("refused global '\(String(repeating: "a", count: 120))… (82 more characters)'"), "\(message)")
    }

    @Test func zipRecordNamesAreEscaped() throws {
        // The archive folder's name is the part errors in data.pkl are located in.
        let global = try zipFile([("\(Self.evil)/data.pkl", bytes("\u{80}\u{2}cos\nsystem\n."))], name: "message-part.bin")
        defer { try? FileManager.default.removeItem(at: global) }
        let error = #expect(throws: TorchCheckpointError.self) { try TorchCheckpoint(contentsOf: global) }
        #expect(error?.description.contains("byte 2 of \(Self.shown)/data.pkl (opcode GLOBAL)") == true, "\(String(describing: error))")

        let records = (0..<5).map { ("\($0)\u{1B}[2J/data.pkl", bytes("\u{80}\u{2}}.")) }
        let several = try zipFile(records, name: "message-several.bin")
        defer { try? FileManager.default.removeItem(at: several) }
        let error2 = #expect(throws: TorchCheckpointError.self) { try TorchCheckpoint(contentsOf: several) }
        #expect(error2?.description.contains("5 data.pkl records: '0\\u{1B}[2J/data.pkl', '1\\u{1B}[2J/data.pkl', '2\\u{1B}[2J/data.pkl', ...") == true,
                "\(String(describing: error2))")
    }
}
