import Foundation

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// An exclusive lock on an output directory, held while a process writes into it: the file
/// `.kobert-emotion.lock` in the directory, locked with `flock` and holding the owner's pid. A second
/// writer is refused with an error naming that pid. The kernel releases the lock when the owner exits,
/// however it exits, so a lock file left by a killed process does not block the next run. Taking the
/// lock removes stale temporary files of dead writers from the directory (`TemporaryFiles.removeStale`).
public final class OutputLock {
    public static let fileName = ".kobert-emotion.lock"
    public let directory: URL
    private var fd: Int32 = -1

    /// Creates `directory` if needed (refusing a path that exists and is not a directory) and takes
    /// the lock, or throws when another process holds it.
    public init(directory: URL) throws {
        self.directory = directory
        let dir = directory.path
        guard !dir.isEmpty else { throw FileSafetyError(path: dir, message: "empty directory name") }
        var st = stat()
        if stat(dir, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw FileSafetyError(path: dir, message: "exists and is not a directory")
            }
        } else {
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            } catch {
                throw FileSafetyError(path: dir, message: "cannot create the directory (\(errnoText(Self.posixCode(error) ?? EIO)))")
            }
        }
        let path = directory.appendingPathComponent(Self.fileName).path
        // The file may be removed by its previous owner between open and flock: lock, then check that
        // the path still names the locked file, otherwise try again.
        for _ in 0..<100 {
            let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw FileSafetyError(path: path, message: "cannot create the lock file: \(errnoText(errno))")
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                let owner = Self.readPid(fd)
                close(fd)
                if code == EWOULDBLOCK {
                    let who = owner.map { "kobert-emotion process \($0)" } ?? "another kobert-emotion process"
                    throw FileSafetyError(path: dir, message: "in use by \(who) (lock file \(Self.fileName)); wait for it to finish or choose another output directory")
                }
                throw FileSafetyError(path: path, message: "cannot lock: \(errnoText(code))")
            }
            var a = stat(), b = stat()
            if fstat(fd, &a) == 0, lstat(path, &b) == 0, a.st_dev == b.st_dev, a.st_ino == b.st_ino {
                let text = Array("\(getpid())\n".utf8)
                _ = ftruncate(fd, 0)
                _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
                self.fd = fd
                // The owner may clean up: temporaries of writers that died here (say a checkpoint
                // write killed by SIGKILL) go now, not at the next write.
                TemporaryFiles.removeStale(in: directory, force: true)
                return
            }
            close(fd)
        }
        throw FileSafetyError(path: path, message: "cannot lock: the lock file keeps changing")
    }

    deinit { release() }

    /// Removes the lock file and releases the lock (idempotent).
    public func release() {
        guard fd >= 0 else { return }
        unlink(directory.appendingPathComponent(Self.fileName).path)
        close(fd)
        fd = -1
    }

    private static func readPid(_ fd: Int32) -> Int? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 31, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = Int(text), pid > 0 else { return nil }
        return pid
    }

    static func posixCode(_ error: Error) -> Int32? {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return Int32(underlying.code)
        }
        return ns.domain == NSPOSIXErrorDomain ? Int32(ns.code) : nil
    }
}
