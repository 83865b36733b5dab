import Foundation
import Testing
@testable import FileSafety

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Issue #12 items 1, 7, 8 (brief A): atomic replacement, refused destinations, temporary-file cleanup,
/// the output-directory lock.
@Suite struct AtomicFileTests {
    static func tempDir() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("FileSafetyTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func names(_ dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    }

    /// Item 1: writing the same destination twice replaces it (the old predict sink lost the file).
    @Test func writingTwiceReplacesTheFileAndLeavesNoTemporary() throws {
        let dir = try Self.tempDir()
        let out = dir.appendingPathComponent("out.jsonl")
        try AtomicFile.write(Data("first\n".utf8), to: out)
        chmod(out.path, 0o600)
        try AtomicFile.write(Data("second\n".utf8), to: out)
        #expect(try String(contentsOf: out, encoding: .utf8) == "second\n")
        #expect(try Self.names(dir) == ["out.jsonl"])
        var st = stat()
        #expect(stat(out.path, &st) == 0 && st.st_mode & 0o777 == 0o600, "the replaced file keeps its permissions")
    }

    /// Item 1: a directory, symbolic link, FIFO or device is refused before anything is written, and
    /// left exactly as it was.
    @Test func nonRegularDestinationsAreRefusedAndUntouched() throws {
        let dir = try Self.tempDir()
        let sub = dir.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: false)
        try Data("keep".utf8).write(to: sub.appendingPathComponent("inside.txt"))
        let target = dir.appendingPathComponent("target.txt")
        try Data("secret".utf8).write(to: target)
        let link = dir.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        let fifo = dir.appendingPathComponent("fifo")
        #expect(mkfifo(fifo.path, 0o644) == 0)
        let cases: [(URL, String)] = [(sub, "is a directory"), (link, "is a symbolic link"), (fifo, "is a FIFO"),
                                      (URL(fileURLWithPath: "/dev/null"), "is a device")]
        for (url, needle) in cases {
            #expect {
                try AtomicFile.write(Data("x".utf8), to: url)
            } throws: { error in
                "\(error)".contains(needle) && "\(error)".hasPrefix(url.path + ": ")
            }
        }
        #expect(try String(contentsOf: target, encoding: .utf8) == "secret")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == target.path)
        #expect(try Self.names(sub) == ["inside.txt"])
        #expect(try Self.names(dir) == ["fifo", "link", "sub", "target.txt"])
    }

    /// Item 1: the input itself (also through a hard link) is refused as the destination.
    @Test func theInputFileIsRefusedAsDestination() throws {
        let dir = try Self.tempDir()
        let input = dir.appendingPathComponent("in.txt")
        try Data("input".utf8).write(to: input)
        let hard = dir.appendingPathComponent("hard.txt")
        #expect(link(input.path, hard.path) == 0)
        for dest in [input, hard] {
            #expect(throws: FileSafetyError.self) { try AtomicFile.write(Data("x".utf8), to: dest, inputs: [input]) }
        }
        #expect(try String(contentsOf: input, encoding: .utf8) == "input")
    }

    /// Item 8: without commit (error, deinit, discard) the temporary file is removed and the
    /// destination keeps its old content.
    @Test func uncommittedWritesLeaveNothingBehind() throws {
        let dir = try Self.tempDir()
        let out = dir.appendingPathComponent("model.safetensors")
        try Data("old".utf8).write(to: out)
        do {
            let file = try AtomicFile(destination: out)
            try file.write(Data(repeating: 7, count: 100_000))
            #expect(FileManager.default.fileExists(atPath: file.temporary.path))
            #expect(file.temporary.lastPathComponent.hasPrefix(".model.safetensors.kobert-tmp.\(getpid())-"))
        }
        let discarded = try AtomicFile(destination: out)
        try discarded.write("x")
        discarded.discard()
        #expect(throws: FileSafetyError.self) { try discarded.commit() }
        #expect(try Self.names(dir) == ["model.safetensors"])
        #expect(try String(contentsOf: out, encoding: .utf8) == "old")
    }

    /// Item 8: stale temporaries of dead writers are removed when a write starts in their directory;
    /// live writers' files and anything not named like the tool's temporaries stay.
    @Test func staleTemporariesOfDeadWritersAreRemovedAndNothingElse() throws {
        let dir = try Self.tempDir()
        let dead: pid_t = 0x3FFF_FFF0   // above any pid_max: kill(pid, 0) gives ESRCH
        let keep = [".a.kobert-tmp.\(getpid())-1", ".b.kobert-tmp.1-3", "c.kobert-tmp.\(dead)-1",
                    ".d.kobert-tmp.\(dead)", ".e.\(dead).tmp", "f.txt", ".g.kobert-tmp.\(dead)-x"]
        let stale = [".h.kobert-tmp.\(dead)-1", ".checkpoint.safetensors.kobert-tmp.\(dead)-12"]
        for name in keep + stale { try Data("x".utf8).write(to: dir.appendingPathComponent(name)) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".dir.kobert-tmp.\(dead)-1"), withIntermediateDirectories: false)
        try AtomicFile.write(Data("new".utf8), to: dir.appendingPathComponent("out.txt"))
        #expect(try Self.names(dir) == (keep + [".dir.kobert-tmp.\(dead)-1", "out.txt"]).sorted())
    }

    @Test func temporaryNamePattern() {
        #expect(TemporaryFiles.writerPid(ofTemporaryName: ".out.jsonl.kobert-tmp.123-4") == 123)
        #expect(TemporaryFiles.writerPid(ofTemporaryName: "..kobert-tmp.123-4") == nil)
        #expect(TemporaryFiles.writerPid(ofTemporaryName: ".x.kobert-tmp.-1-4") == nil)
        #expect(TemporaryFiles.writerPid(ofTemporaryName: ".x.kobert-tmp.12 -4") == nil)
        #expect(TemporaryFiles.writerPid(ofTemporaryName: ".x.kobert-tmp.١٢-4") == nil)
    }

    /// Item 7: a second writer of one output directory is refused with the owner's pid; after release
    /// (or when the owner died, leaving the lock file) the directory can be locked again.
    @Test func outputLockRefusesASecondWriter() throws {
        let dir = try Self.tempDir().appendingPathComponent("model")
        let first = try OutputLock(directory: dir)
        #expect {
            _ = try OutputLock(directory: dir)
        } throws: { error in
            "\(error)".contains("in use by kobert-emotion process \(getpid())")
        }
        first.release()
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(OutputLock.fileName).path))
        try Data("999999999\n".utf8).write(to: dir.appendingPathComponent(OutputLock.fileName))   // a dead owner's file
        let stale = dir.appendingPathComponent(".checkpoint.safetensors.kobert-tmp.\(0x3FFF_FFF0)-1")
        try Data("half a checkpoint".utf8).write(to: stale)
        let again = try OutputLock(directory: dir)
        #expect(!FileManager.default.fileExists(atPath: stale.path), "taking the lock removes a dead writer's temporary")
        again.release()
        let file = dir.appendingPathComponent("file")
        try Data().write(to: file)
        #expect(throws: FileSafetyError.self) { _ = try OutputLock(directory: file) }
    }

    @Test func readFileGivesPlainMessages() throws {
        let dir = try Self.tempDir()
        #expect { _ = try ReadFile.bytes(dir.appendingPathComponent("missing")) } throws: {
            "\($0)" == dir.appendingPathComponent("missing").path + ": cannot read: no such file or directory"
        }
        #expect { _ = try ReadFile.bytes(dir) } throws: { "\($0)".hasSuffix("cannot read: is a directory") }
        try Data("abc".utf8).write(to: dir.appendingPathComponent("f"))
        #expect(try ReadFile.bytes(dir.appendingPathComponent("f")) == Array("abc".utf8))
        #expect(throws: FileSafetyError.self) { _ = try ReadFile.bytes(dir.appendingPathComponent("f"), limit: 2) }
    }
}
