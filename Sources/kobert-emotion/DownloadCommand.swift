import ArgumentParser
import Foundation
import HubClient

/// `kobert-emotion download owner/name[@revision]`: like `huggingface-cli download`, prints the snapshot directory.
struct Download: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a model from the Hugging Face Hub into its cache and print the snapshot directory.",
        discussion: """
            Fetches config.json, the weights (model.safetensors, else pytorch_model.bin, or their sharded \
            *.index.json forms and shards) and the tokenizer files the repository has (spiece.model, \
            tokenizer_config.json, special_tokens_map.json) into the cache Python's huggingface_hub uses \
            (same layout and locks; either tool reuses what the other downloaded). Interrupted downloads resume.
            A second run makes no request when the revision is a commit hash, and only the revision lookup otherwise.
            Environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (for private or gated \
            repositories; sent only to the Hub's host), HF_HUB_CACHE / HF_HOME (cache location, default \
            ~/.cache/huggingface/hub), HF_HUB_OFFLINE=1 (use only the cache).
            The printed directory can be passed to --model; so can owner/name[@revision] directly.
            """
    )

    @Argument(help: "owner/name or owner/name@revision (a branch, tag or commit; default main).")
    var repository: String

    func run() throws {
        let (repo, revision) = try ModelReference.parseRepository(repository)
        let bar = ByteProgressBar()
        let snapshot = try runBlocking {
            try await HubClient(configuration: HubConfiguration()).download(repo, revision: revision, progress: bar.update, log: bar.note)
        }
        print(snapshot.path)
    }
}

/// `--model`'s value as a directory: an existing local path, else a Hub repository downloaded (or
/// found) in the Hugging Face cache.
func resolveModelArgument(_ reference: String) throws -> URL {
    let bar = ByteProgressBar()
    return try runBlocking { try await HubClient.resolveModel(reference, progress: bar.update, log: bar.note) }
}

private final class BlockingResult<T>: @unchecked Sendable {
    var value: Result<T, Error>?
}

/// Runs async work from the synchronous commands and waits for it.
func runBlocking<T>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let box = BlockingResult<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { box.value = .success(try await work()) } catch { box.value = .failure(error) }
        done.signal()
    }
    done.wait()
    guard let value = box.value else { throw CancellationError() }
    return try value.get()
}

/// Per-file download bar on standard error: `file [=====>    ] 12.3 MB / 45.6 MB 3.2 MB/s ETA 0:10`.
/// Without a terminal, one line per finished file.
final class ByteProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private var file = ""
    private var start = Date()
    private var startBytes: Int64 = 0
    private var lastDraw = Date.distantPast

    func update(_ p: DownloadProgress) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        if p.file != file {
            file = p.file
            start = now
            startBytes = p.bytesDone
            lastDraw = .distantPast
        }
        let finished = p.bytesDone == p.bytesTotal
        guard stderrIsTerminal else {
            if finished { printError("downloaded \(p.file) (\(size(p.bytesTotal)))") }
            return
        }
        guard finished || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(p.bytesDone - startBytes) / elapsed : 0
        let eta = rate > 0 ? Double(p.bytesTotal - p.bytesDone) / rate : 0
        let width = 24
        let filled = p.bytesTotal > 0 ? Int(Int64(width) * p.bytesDone / p.bytesTotal) : width
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" + String(repeating: " ", count: width - filled - 1) : "")
        printError("\r\(p.file) [\(bar)] \(size(p.bytesDone)) / \(size(p.bytesTotal)) \(size(Int64(rate)))/s ETA \(duration(eta))\u{1B}[K", terminator: "")
        if finished { printError("") }
    }

    /// A line for the user (waiting for a lock): on its own line, the bar drawn again by the next update.
    func note(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        if stderrIsTerminal { printError("\r\u{1B}[K", terminator: "") }
        printError(text)
        lastDraw = .distantPast
    }

    /// 12.3 kB, 45.6 MB, 1.2 GB.
    private func size(_ n: Int64) -> String {
        let x = Double(n)
        if x < 1e6 { return String(format: "%.1f kB", x / 1e3) }
        if x < 1e9 { return String(format: "%.1f MB", x / 1e6) }
        return String(format: "%.2f GB", x / 1e9)
    }
}
