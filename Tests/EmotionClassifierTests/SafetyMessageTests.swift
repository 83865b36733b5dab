import Foundation
import Testing
@testable import EmotionClassifier

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Issue #12 items 9 and 10 (brief E): errors describe the problem, never print a file that is not a
/// CSV, are one line for binary and CR-only files, and name the right encoding problem.
@Suite struct SafetyMessageTests {
    /// Item 9: `train --data /etc/shadow` printed the file's first line (the old message listed the
    /// whole "header").
    @Test func aNonCSVFileIsNotEchoed() throws {
        let url = try temporaryFile("root:$6$Sup3rSecretSalt$hashhashhashhashhash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n")
        let error = #expect(throws: DatasetError.self) { try EmotionDataset.load(contentsOf: url) }
        let text = "\(error.map(String.init(describing:)) ?? "")"
        #expect(!text.contains("Sup3rSecret") && !text.contains("root:") && !text.contains("hashhash"), "\(text)")
        #expect(text.contains("no comma-separated columns"), "\(text)")
    }

    /// Item 9: a multi-column header that lacks the columns is listed only as short escaped excerpts.
    @Test func headerFieldsAreShortAndEscaped() throws {
        let long = String(repeating: "비밀", count: 100)
        let url = try temporaryFile("a\u{1B}[2J,\(long),c\n1,2,3\n")
        let text = "\(#expect(throws: DatasetError.self) { try EmotionDataset.load(contentsOf: url) }.map(String.init(describing:)) ?? "")"
        #expect(text.contains("\"a\\u{1b}[2J\"") && !text.contains("\u{1B}"), "\(text)")
        #expect(!text.contains(long) && text.count < 400, "\(text)")
    }

    /// Item 9: a binary file gives one short line (it was 20 KB).
    @Test func aBinaryFileGivesOneLine() throws {
        var bytes = [UInt8]()
        for k in 0..<20_000 { bytes.append(UInt8(truncatingIfNeeded: k &* 7919)) }
        let url = try temporaryFile(bytes)
        let text = "\(#expect(throws: DatasetError.self) { try EmotionDataset.load(contentsOf: url) }.map(String.init(describing:)) ?? "")"
        #expect(!text.contains("\n") && text.count < 300 && text.contains("not a text file"), "\(text)")
    }

    /// Item 9: a CR-only file (classic Mac line ends) gives one line that says so.
    @Test func aCROnlyFileGivesOneLine() throws {
        let url = try temporaryFile("발화문,상황\r" + String(repeating: "오늘 정말 좋았어,happiness\r", count: 2000))
        let text = "\(#expect(throws: DatasetError.self) { try EmotionDataset.load(contentsOf: url) }.map(String.init(describing:)) ?? "")"
        #expect(!text.contains("\n") && text.count < 300 && text.contains("CR only"), "\(text)")
    }

    /// Item 10: a UTF-8 file with one bad byte on line 102 reports the UTF-8 problem on line 102 (it said
    /// "invalid cp949 byte sequence at byte offset 8 (line 1)").
    @Test func oneBadByteInUTF8ReportsUTF8AndItsLine() throws {
        var bytes = Array("발화문,상황\n".utf8)
        for _ in 0..<100 { bytes += Array("오늘 정말 좋았어,happiness\n".utf8) }
        let offset = bytes.count + 3
        bytes += Array("나쁜 바이트".utf8)
        bytes[offset] = 0xFF
        bytes += Array(",angry\n".utf8)
        let url = try temporaryFile(bytes)
        let error = #expect(throws: DatasetError.self) { try EmotionDataset.load(contentsOf: url) }
        #expect(error == .undecodable(file: url.path, .invalidBytes(encoding: .utf8, offset: offset, line: 102)))
    }

    /// Item 10: a missing file is a plain sentence, not a raw Foundation error.
    @Test func missingFileIsAPlainSentence() throws {
        let url = try temporaryDirectory().appendingPathComponent("missing.csv")
        let text = "\(#expect(throws: DatasetError.self) { try EmotionDataset.load(contentsOf: url) }.map(String.init(describing:)) ?? "")"
        #expect(text == "\(url.path): cannot read file: no such file or directory", "\(text)")
        let dir = try temporaryDirectory()
        let text2 = "\(#expect(throws: DatasetError.self) { try EmotionDataset.load(contentsOf: dir) }.map(String.init(describing:)) ?? "")"
        #expect(text2 == "\(dir.path): cannot read file: is a directory", "\(text2)")
    }

    /// Item 10: a FIFO (like /dev/stdin or a shell's `<(...)`) is read, not refused for "permission".
    @Test func aFIFOIsRead() throws {
        let fifo = try temporaryDirectory().appendingPathComponent("data.csv")
        #expect(mkfifo(fifo.path, 0o644) == 0)
        signal(SIGPIPE, SIG_IGN)   // if the reader gives up early, the writer gets EPIPE, not a signal
        let writer = Thread {
            let fd = open(fifo.path, O_WRONLY)
            let text = Array("발화문,상황\n좋아요,happiness\n슬퍼요,sadness\n".utf8)
            _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        writer.start()
        defer { close(open(fifo.path, O_RDONLY | O_NONBLOCK)) }   // a writer still waiting to open is released
        let data = try EmotionDataset.load(contentsOf: fifo)
        #expect(data.examples.map(\.label) == [5, 3])
    }

    /// Item 10: an NFD-typed header matches after NFC, and the dataset says so (in the log).
    @Test func nfdHeaderIsMatchedAndSaid() throws {
        let url = try temporaryFile("발화문".decomposedStringWithCanonicalMapping + ",상황\n좋아요,happiness\n")
        let data = try EmotionDataset.load(contentsOf: url)
        #expect(data.examples.count == 1)
        #expect(data.columnNotes.contains { $0.contains("Unicode normalization") }, "\(data.columnNotes)")
        #expect(data.summary.contains("Unicode normalization"))
    }
}
