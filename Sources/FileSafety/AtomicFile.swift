import Foundation

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// An error about a file the tool reads or writes: the path and what went wrong, in plain words.
public struct FileSafetyError: Error, CustomStringConvertible, Sendable, Equatable {
    public let path: String
    public let message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

/// A short, plain description of an `errno` value ("no such file or directory").
func errnoText(_ code: Int32) -> String {
    switch code {
    case ENOENT: return "no such file or directory"
    case EACCES, EPERM: return "permission denied"
    case ENOSPC: return "no space left on the device"
    case EDQUOT: return "disk quota exceeded"
    case EROFS: return "read-only file system"
    case EISDIR: return "is a directory"
    case ENOTDIR: return "a component of the path is not a directory"
    case EXDEV: return "the temporary file and the destination are on different file systems"
    case EIO: return "input/output error"
    default: return String(cString: strerror(code)).lowercased()
    }
}

/// Writes a file atomically, in pieces: the bytes go to a temporary file in the destination's directory
/// (named `.<name>.kobert-tmp.<pid>-<n>`), which `commit()` flushes to disk and renames over the
/// destination, then flushes the directory. Until then the destination is untouched; a thrown error, a
/// `discard()`, deinit without commit, or SIGINT/SIGTERM/SIGHUP while writing remove the temporary file.
///
/// Before anything is created the destination is checked: it must be absent or a regular file (a
/// directory, symbolic link, device, FIFO or socket is refused), and it must not be the same file (device
/// and inode) as any of `inputs`. Stale temporary files of writers that are no longer running are removed
/// from the directory first (only names of this pattern whose pid is dead).
///
/// ```swift
/// let file = try AtomicFile(destination: url, inputs: [inputURL])
/// try file.write(Data(...))
/// try file.commit()
/// ```
public final class AtomicFile {
    public let destination: URL
    public let temporary: URL
    private var fd: Int32
    private var slot: Int?
    private var done = false
    /// Bytes written so far.
    public private(set) var count = 0

    /// Checks `destination` and creates the temporary file.
    public init(destination: URL, inputs: [URL] = []) throws {
        try Self.checkDestination(destination, inputs: inputs)
        let directory = destination.deletingLastPathComponent()
        TemporaryFiles.removeStale(in: directory)
        TemporaryFiles.installSignalHandlers()
        let name = TemporaryFiles.name(for: destination.lastPathComponent)
        let temporary = directory.appendingPathComponent(name)
        var mode: mode_t = 0o644
        var st = stat()
        if lstat(destination.path, &st) == 0 { mode = st.st_mode & 0o777 }
        // Registered before it exists, so a signal between open and registration cannot leave it behind.
        slot = TemporaryFiles.register(temporary.path)
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            let code = errno
            TemporaryFiles.unregister(slot)
            throw FileSafetyError(path: destination.path, message: "cannot create a temporary file in \(directory.path): \(errnoText(code))")
        }
        self.fd = fd
        self.destination = destination
        self.temporary = temporary
    }

    deinit { discard() }

    /// Refuses a destination that is not absent or a regular file, or that is one of `inputs`; the check
    /// `init` makes, for callers that want to refuse before reading their input.
    public static func checkDestination(_ destination: URL, inputs: [URL] = []) throws {
        let path = destination.path
        guard !destination.lastPathComponent.isEmpty, !path.hasSuffix("/") else {
            throw FileSafetyError(path: path, message: "not a file name")
        }
        var st = stat()
        if lstat(path, &st) != 0 {
            let code = errno
            guard code == ENOENT else { throw FileSafetyError(path: path, message: "cannot write: \(errnoText(code))") }
            var dir = stat()
            let parent = destination.deletingLastPathComponent().path
            guard stat(parent, &dir) == 0, (dir.st_mode & S_IFMT) == S_IFDIR else {
                throw FileSafetyError(path: path, message: "cannot write: the directory \(parent) does not exist")
            }
            return
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw FileSafetyError(path: path, message: "is a directory; refusing to replace it (give a file name)")
        case S_IFLNK: throw FileSafetyError(path: path, message: "is a symbolic link; refusing to replace it (give the real file or a new name)")
        case S_IFIFO: throw FileSafetyError(path: path, message: "is a FIFO; refusing to replace it (use standard output instead)")
        case S_IFCHR, S_IFBLK: throw FileSafetyError(path: path, message: "is a device; refusing to replace it (use standard output instead)")
        case S_IFSOCK: throw FileSafetyError(path: path, message: "is a socket; refusing to replace it")
        default: throw FileSafetyError(path: path, message: "is not a regular file; refusing to replace it")
        }
        for input in inputs {
            var other = stat()
            if stat(input.path, &other) == 0, other.st_dev == st.st_dev, other.st_ino == st.st_ino {
                throw FileSafetyError(path: path, message: "is the input file too; refusing to overwrite it (choose another output)")
            }
        }
    }

    /// Appends `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !done else { throw FileSafetyError(path: destination.path, message: "already committed or discarded") }
        var rest = bytes
        while !rest.isEmpty {
            let n = sysWrite(fd, rest.baseAddress!, rest.count)
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                discard()
                throw FileSafetyError(path: destination.path, message: "cannot write: \(errnoText(code))")
            }
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            count += n
        }
    }

    public func write(_ data: Data) throws { try data.withUnsafeBytes { try write($0) } }
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
    public func write(_ text: String) throws { try write(Data(text.utf8)) }

    /// Flushes the temporary file, renames it over the destination and flushes the directory.
    public func commit() throws {
        guard !done else { throw FileSafetyError(path: destination.path, message: "already committed or discarded") }
        func fail(_ what: String) -> FileSafetyError {
            let code = errno
            discard()
            return FileSafetyError(path: destination.path, message: "\(what): \(errnoText(code))")
        }
        guard fsync(fd) == 0 else { throw fail("cannot write to disk") }
        guard close(fd) == 0 else { fd = -1; throw fail("cannot write to disk") }
        fd = -1
        // The destination may have been replaced by something else since init: check again.
        do { try Self.checkDestination(destination) } catch { discard(); throw error }
        guard rename(temporary.path, destination.path) == 0 else { throw fail("cannot rename the temporary file into place") }
        done = true
        TemporaryFiles.unregister(slot)
        slot = nil
        let dirfd = open(destination.deletingLastPathComponent().path, O_RDONLY | O_CLOEXEC)
        if dirfd >= 0 { _ = fsync(dirfd); close(dirfd) }
    }

    /// Removes the temporary file (nothing happens after `commit()`).
    public func discard() {
        guard !done else { return }
        done = true
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporary.path)
        TemporaryFiles.unregister(slot)
        slot = nil
    }

    /// Writes `data` to `url` atomically; see the type's documentation.
    public static func write(_ data: Data, to url: URL, inputs: [URL] = []) throws {
        let file = try AtomicFile(destination: url, inputs: inputs)
        try file.write(data)
        try file.commit()
    }
}

/// `write(2)` (inside `AtomicFile` the name is its method's).
private func sysWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(fd, bytes, count) }
