import Foundation

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Reads whole files with plain `open`/`read`, so that FIFOs, `/dev/stdin` and files of any kind that
/// can be read work, and failures are one plain sentence ("no such file or directory", "is a directory")
/// instead of a Foundation error domain and code.
public enum ReadFile {
    /// All bytes of the file at `url`, at most `limit` of them (a larger file is an error).
    public static func bytes(_ url: URL, limit: Int = Int.max) throws -> [UInt8] {
        let path = url.path
        guard !path.isEmpty else { throw FileSafetyError(path: "''", message: "empty file name") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileSafetyError(path: path, message: "cannot read: \(errnoText(errno))") }
        defer { close(fd) }
        return try bytes(fd: fd, name: path, limit: limit)
    }

    /// All bytes readable from `fd` until end of input (standard input: `fd` 0).
    public static func bytes(fd: Int32, name: String, limit: Int = Int.max) throws -> [UInt8] {
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            throw FileSafetyError(path: name, message: "cannot read: is a directory")
        }
        var result: [UInt8] = []
        if (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 {
            guard Int(st.st_size) <= limit else {
                throw FileSafetyError(path: name, message: "is \(st.st_size) bytes, more than the limit of \(limit)")
            }
            result.reserveCapacity(Int(st.st_size))
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw FileSafetyError(path: name, message: "cannot read: \(errnoText(code))")
            }
            if n == 0 { return result }
            guard result.count <= limit - n else {
                throw FileSafetyError(path: name, message: "is more than the limit of \(limit) bytes")
            }
            result.append(contentsOf: chunk[0..<n])
        }
    }
}
