import Foundation

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// One repository's folder in huggingface_hub's cache:
///
///     <cache>/models--owner--name/blobs/<etag>                  file contents, named by ETag
///     <cache>/models--owner--name/blobs/<etag>.incomplete       a download under way (resumable)
///     <cache>/models--owner--name/snapshots/<commit>/<file>     -> ../../blobs/<etag> (relative symlink)
///     <cache>/models--owner--name/refs/<revision>               the commit hash (no newline)
///     <cache>/models--owner--name/.no_exist/<commit>/<file>     empty: the file is not in that commit
///     <cache>/.locks/models--owner--name/<etag>.lock            flock'ed while a blob is written
struct RepoCache {
    let root: URL
    let repo: RepoID

    var folder: URL { root.appendingPathComponent(repo.cacheFolderName, isDirectory: true) }
    var blobs: URL { folder.appendingPathComponent("blobs", isDirectory: true) }
    func snapshot(_ commit: String) -> URL { folder.appendingPathComponent("snapshots/\(commit)", isDirectory: true) }
    func pointer(_ commit: String, _ file: String) -> URL { snapshot(commit).appendingPathComponent(file) }
    func blob(_ etag: String) -> URL { blobs.appendingPathComponent(etag) }
    func incomplete(_ etag: String) -> URL { blobs.appendingPathComponent(etag + ".incomplete") }
    func lockFile(_ etag: String) -> URL { root.appendingPathComponent(".locks/\(repo.cacheFolderName)/\(etag).lock") }
    func ref(_ revision: String) -> URL { folder.appendingPathComponent("refs/\(revision)") }
    func noExist(_ commit: String, _ file: String) -> URL { folder.appendingPathComponent(".no_exist/\(commit)/\(file)") }

    /// The commit a branch or tag pointed to when last looked up, if cached.
    func readRef(_ revision: String) -> String? {
        guard let data = try? Data(contentsOf: ref(revision)), data.count <= 128 else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Revision.isCommitHash(text) ? text : nil
    }

    /// Records `refs/<revision>` = commit (atomically; unchanged refs are not rewritten).
    func writeRef(_ revision: String, commit: String) throws {
        guard revision != commit, readRef(revision) != commit else { return }
        let url = ref(revision)
        try makeDirectory(url.deletingLastPathComponent())
        try writeAtomically(Data(commit.utf8), to: url)
    }

    /// Whether a snapshot file is there (its symlink resolves to an existing file).
    func has(_ commit: String, _ file: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: pointer(commit, file).path, isDirectory: &isDir) && !isDir.boolValue
    }

    func markedMissing(_ commit: String, _ file: String) -> Bool {
        FileManager.default.fileExists(atPath: noExist(commit, file).path)
    }

    /// Records that `file` is not in `commit` (as huggingface_hub does after a 404). Best effort.
    func markMissing(_ commit: String, _ file: String) {
        let url = noExist(commit, file)
        guard !FileManager.default.fileExists(atPath: url.path) else { return }
        try? makeDirectory(url.deletingLastPathComponent())
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
    }

    /// Points `snapshots/<commit>/<file>` at `blobs/<etag>` with a relative symlink. A dangling symlink
    /// in its place is replaced; an existing file is left alone.
    func link(_ commit: String, _ file: String, etag: String) throws {
        let dst = pointer(commit, file)
        try makeDirectory(dst.deletingLastPathComponent())
        let depth = file.split(separator: "/").count + 1  // up from the file's folder to the repo folder
        let target = String(repeating: "../", count: depth) + "blobs/" + etag
        var st = stat()
        if lstat(dst.path, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFLNK {
                if let existing = try? FileManager.default.destinationOfSymbolicLink(atPath: dst.path), existing == target { return }
                if has(commit, file) { return }  // another valid pointer (written by someone else): keep it
            } else {
                return
            }
        }
        // Symlink under a temporary name, then rename over: readers never see a half-made pointer.
        let tmp = dst.deletingLastPathComponent().appendingPathComponent(".\(dst.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp")
        guard symlink(target, tmp.path) == 0 else { throw posixError(tmp.path, "cannot create a symbolic link") }
        guard rename(tmp.path, dst.path) == 0 else {
            let e = posixError(dst.path, "cannot create a symbolic link")
            unlink(tmp.path)
            throw e
        }
    }
}

// MARK: - File helpers

/// Creates a directory and its missing parents with mkdir(2), so a failure names the directory that
/// could not be made and the POSIX reason ("Not a directory", "Permission denied", "No space left on device").
func makeDirectory(_ url: URL) throws {
    let path = url.path
    var st = stat()
    if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { return }
    var prefix = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        prefix += "/" + component
        if mkdir(prefix, 0o777) == 0 { continue }
        let code = errno
        if code == EEXIST {
            if stat(prefix, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { continue }
            throw HubError.io(path: prefix, reason: "cannot create a directory in it: \(String(cString: strerror(ENOTDIR))) (needed for \(path))")
        }
        throw posixError(prefix, "cannot create the directory", code)
    }
}

/// A file's bytes (at most `limit`), read with read(2) so a failure names the POSIX reason.
func readFile(_ url: URL, limit: Int) throws -> Data {
    var data = Data()
    try readChunks(of: url, size: 1 << 16) { chunk in
        guard chunk.count <= limit - data.count else { throw HubError.io(path: url.path, reason: "larger than \(limit) bytes") }
        data.append(contentsOf: chunk)
    }
    return data
}

/// Calls `body` with each piece (at most `size` bytes) of the file, read with read(2): a failure
/// names the file and the POSIX reason.
func readChunks(of url: URL, size: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
    let fd = open(url.path, O_RDONLY)
    guard fd >= 0 else { throw posixError(url.path, "cannot open") }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: size)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw posixError(url.path, "cannot read")
        }
        if n == 0 { return }
        try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }
}

func posixError(_ path: String, _ what: String, _ code: Int32 = errno) -> HubError {
    if code == ENOSPC || code == EDQUOT { return .diskFull(path: path, needed: nil, available: nil) }
    return .io(path: path, reason: "\(what): \(String(cString: strerror(code)))")
}

/// Writes a small file via a temporary file, fsync and rename.
func writeAtomically(_ data: Data, to url: URL) throws {
    let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp")
    let fd = open(tmp.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard fd >= 0 else { throw posixError(tmp.path, "cannot create") }
    var ok = true
    data.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 { if errno == EINTR { continue }; ok = false; break }
            offset += n
        }
    }
    let code = errno
    if ok && fsync(fd) != 0 { ok = false }
    close(fd)
    guard ok, rename(tmp.path, url.path) == 0 else {
        let e = posixError(url.path, "cannot write", ok ? errno : code)
        unlink(tmp.path)
        throw e
    }
}

/// Free bytes for unprivileged users on the file system holding `url`, if known.
func availableBytes(at url: URL) -> Int64? {
    var s = statvfs()
    guard statvfs(url.path, &s) == 0 else { return nil }
    let (total, overflow) = Int64(s.f_bavail).multipliedReportingOverflow(by: Int64(s.f_frsize))
    return overflow ? nil : total
}

/// An exclusive `flock` on `.locks/…/<etag>.lock`, the lock Python's huggingface_hub (filelock) takes,
/// so both tools can fill one cache at the same time. Waits (politely, cancellable, with no time limit)
/// while another process holds it, saying so through `notice` after `noticeAfter` seconds and then
/// every `every` seconds, as huggingface_hub logs "Still waiting to acquire lock" every 10 s.
final class CacheLock: @unchecked Sendable {
    private var fd: Int32

    private init(fd: Int32) { self.fd = fd }

    static func acquire(
        _ url: URL, noticeAfter: Double = 5, every: Double = 10, notice: (@Sendable (String) -> Void)? = nil
    ) async throws -> CacheLock {
        try makeDirectory(url.deletingLastPathComponent())
        let fd = open(url.path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw posixError(url.path, "cannot open the lock file") }
        let start = ContinuousClock.now
        var nextNotice = start + .milliseconds(Int64(noticeAfter * 1000))
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                close(fd)
                throw posixError(url.path, "cannot lock", code)
            }
            let now = ContinuousClock.now
            if now >= nextNotice {
                let waited = Int((now - start).components.seconds)
                notice?("still waiting for the lock \(url.path) (another process is downloading this file; \(waited) s so far)")
                nextNotice = now + .milliseconds(Int64(max(every, 0.1) * 1000))
            }
            do {
                try await Task.sleep(nanoseconds: 50_000_000)
            } catch {
                close(fd)
                throw error
            }
        }
        return CacheLock(fd: fd)
    }

    func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}

/// Checks that a file name from the Hub (a sibling or an index's shard) is a safe relative path:
/// components of printable characters other than `/` and `\`, none empty, `.` or `..`.
func validateRepoFilePath(_ name: String, what: String) throws {
    guard (1...1024).contains(name.utf8.count), !name.hasPrefix("/") else {
        throw HubError.badResponse(what: what, reason: "file name '\(name.prefix(200))' is not a relative path")
    }
    for component in name.split(separator: "/", omittingEmptySubsequences: false) {
        guard !component.isEmpty, component != ".", component != "..",
              component.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0 != "\\" && $0.value != 0x7F })
        else {
            throw HubError.badResponse(what: what, reason: "file name '\(name.prefix(200))' is not a safe relative path")
        }
    }
}
