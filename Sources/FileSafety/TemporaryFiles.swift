import Foundation

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// The tool's temporary files: their naming, the registry of those being written (removed on
/// SIGINT/SIGTERM/SIGHUP), and the removal of stale ones left by writers that died.
public enum TemporaryFiles {
    /// Every temporary file is named `.<name>` + `marker` + `<pid>-<n>`.
    public static let marker = ".kobert-tmp."

    private static let lock = NSLock()
    nonisolated(unsafe) private static var counter = 0
    nonisolated(unsafe) private static var cleaned: Set<String> = []

    /// A new temporary name for a file called `name`.
    static func name(for name: String) -> String {
        lock.lock()
        counter += 1
        let n = counter
        lock.unlock()
        return "." + name + marker + "\(getpid())-\(n)"
    }

    /// The pid in a temporary file name of the tool's pattern, or nil when `name` is not one.
    public static func writerPid(ofTemporaryName name: String) -> pid_t? {
        guard name.hasPrefix("."), let range = name.range(of: marker, options: .backwards),
              range.lowerBound > name.index(after: name.startIndex) else { return nil }
        let tail = name[range.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        guard tail.count == 2, tail.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let pid = pid_t(tail[0]), pid > 0, Int(tail[1]) != nil else { return nil }
        return pid
    }

    /// Removes, from `directory`, regular files named like the tool's temporary files whose writer
    /// process no longer exists (`kill(pid, 0)` fails with ESRCH). Nothing else is touched. Each
    /// directory is scanned once per process. Returns the names removed.
    @discardableResult
    public static func removeStale(in directory: URL, force: Bool = false) -> [String] {
        let path = directory.standardizedFileURL.path
        lock.lock()
        let first = cleaned.insert(path).inserted
        lock.unlock()
        guard first || force else { return [] }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return [] }
        var removed: [String] = []
        for name in names {
            guard let pid = writerPid(ofTemporaryName: name), pid != getpid() else { continue }
            guard kill(pid, 0) == -1, errno == ESRCH else { continue }
            let file = path + "/" + name
            var st = stat()
            guard lstat(file, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            if unlink(file) == 0 { removed.append(name) }
        }
        return removed
    }

    // MARK: registry of live temporary files, read by the signal handler

    static let slotCount = 64
    static let slotSize = Int(PATH_MAX) + 1
    /// `slotCount` buffers of `slotSize` bytes, each a NUL-terminated path, and one flag per slot.
    nonisolated(unsafe) static let paths = UnsafeMutablePointer<CChar>.allocate(capacity: slotCount * slotSize)
    nonisolated(unsafe) static let active: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: slotCount)
        p.initialize(repeating: 0, count: slotCount)
        return p
    }()

    /// Records `path` so that a signal removes it; nil when all slots are busy or the path is too long
    /// (the file is then still removed on errors and deinit, only not on a signal).
    static func register(_ path: String) -> Int? {
        let bytes = Array(path.utf8CString)
        guard bytes.count <= slotSize else { return nil }
        lock.lock()
        defer { lock.unlock() }
        guard let slot = (0..<slotCount).first(where: { active[$0] == 0 }) else { return nil }
        let base = paths + slot * slotSize
        for (i, b) in bytes.enumerated() { base[i] = b }
        active[slot] = 1
        return slot
    }

    static func unregister(_ slot: Int?) {
        guard let slot else { return }
        lock.lock()
        active[slot] = 0
        lock.unlock()
    }

    /// Removes every temporary file being written (for a process about to exit without unwinding,
    /// e.g. `exit(130)` on a second Ctrl-C). Async-signal-safe.
    public static func removeAllLive() {
        for slot in 0..<slotCount where active[slot] != 0 {
            unlink(paths + slot * slotSize)
        }
    }

    private static let installOnce: Void = {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            var old = sigaction()
            guard sigaction(sig, nil, &old) == 0 else { continue }
            #if canImport(Darwin)
            let current = old.__sigaction_u.__sa_handler
            #else
            let current = old.__sigaction_handler.sa_handler
            #endif
            // Only where nobody else handles or ignores the signal (training's Ctrl-C stays its own).
            guard unsafeBitCast(current, to: Int.self) == 0 else { continue }   // SIG_DFL is 0
            signal(sig, temporaryFilesSignalHandler)
        }
    }()

    /// Installs the SIGINT/SIGTERM/SIGHUP handler that removes live temporary files and then dies of
    /// the signal as before. Signals that already have a handler, or are ignored, are left alone.
    public static func installSignalHandlers() { _ = installOnce }
}

private func temporaryFilesSignalHandler(_ sig: Int32) {
    TemporaryFiles.removeAllLive()
    signal(sig, SIG_DFL)
    raise(sig)
}
