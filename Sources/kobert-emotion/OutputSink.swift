import FileSafety
import Foundation

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Where `predict --input` writes its JSON lines: standard output (no `--output`, or `-`), or a file
/// written atomically (see `AtomicFile`): a temporary file beside it, renamed into place at the end.
final class OutputSink {
    private let file: AtomicFile?

    /// The file `path` names, or nil for standard output.
    static func destination(_ path: String?) -> URL? {
        guard let path, path != "-" else { return nil }
        return URL(fileURLWithPath: path)
    }

    /// Refuses a destination that is not absent or a regular file, or that is the input, before anything
    /// is read (`AtomicFile.checkDestination`).
    static func check(_ path: String?, inputs: [URL]) throws {
        guard let url = destination(path) else { return }
        try AtomicFile.checkDestination(url, inputs: inputs)
    }

    init(path: String?, inputs: [URL]) throws {
        file = try Self.destination(path).map { try AtomicFile(destination: $0, inputs: inputs) }
    }

    func write(_ text: String) throws {
        if let file { return try file.write(text) }
        var rest = Array(text.utf8)[...]
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { sysWrite(1, $0.baseAddress, $0.count) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw FileSafetyError(path: "standard output", message: "cannot write: \(String(cString: strerror(code)))")
            }
            rest = rest.dropFirst(n)
        }
    }

    /// Renames the file into place (nothing for standard output).
    func finish() throws { try file?.commit() }

    /// Removes the temporary file unless `finish()` moved it into place.
    func discard() { file?.discard() }
}

/// `write(2)` (inside `OutputSink` the name is its method's).
private func sysWrite(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, bytes, count) }
