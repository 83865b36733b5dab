import ArgumentParser
import EmotionClassifier
import FileSafety
import Kernels
import Foundation
import SentencePiece

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Options that say where the examples come from and how they are split.
struct DataArguments: ParsableArguments {
    @Option(name: .long, help: "CSV file (UTF-8 or cp949) or .xlsx workbook with a header row. Default: the built-in sample.")
    var data: String?

    @Option(name: .long, help: "With an .xlsx --data: the sheet to read (default: the first).")
    var sheet: String?

    @Option(name: .long, help: "Header of the sentence column (default 발화문; if absent, a Sentence column).")
    var textColumn = "발화문"

    @Option(name: .long, help: "Header of the label column (default 상황; if absent, an Emotion column).")
    var labelColumn = "상황"

    @Option(name: .long, help: "File encoding: utf8 or cp949 (default: detect; UTF-8 if valid, else cp949).")
    var encoding: TextEncoding?

    @Option(name: .long, help: "Comma-separated label names in id order (default: the seed's 7 emotions).")
    var labels: String?

    @Flag(name: .long, help: "Skip rows with unknown labels, empty text or bad CSV (and say how many) instead of stopping.")
    var skipInvalid = false

    @Option(name: .long, help: "random (the seed's split), dedup (identical sentences stay on one side) or dialogue (runs of adjacent same-label rows, i.e. the seed data's dialogues, stay on one side).")
    var split: SplitMode = .random

    @Option(name: .long, help: "Seed of the shuffled split (the seed's random_state).")
    var splitSeed: UInt32 = 32

    @Option(name: .long, help: "Share of rows held out for testing.")
    var testFraction = 0.2

    func options() throws -> DataOptions {
        var o = DataOptions(file: data.map { URL(fileURLWithPath: $0) })
        o.sheet = sheet
        o.textColumn = textColumn
        o.labelColumn = labelColumn
        o.encoding = encoding
        if let labels {
            o.labels = try LabelSet(names: labels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        o.skipInvalid = skipInvalid
        o.split = split
        o.splitSeed = splitSeed
        o.testFraction = testFraction
        return o
    }
}

extension TextEncoding: ExpressibleByArgument {}
extension SplitMode: ExpressibleByArgument {}
extension TokenPipeline: ExpressibleByArgument {}

/// The model directory a command works on: --model, or the last one `train` wrote.
struct ModelArgument: ParsableArguments {
    @Option(name: .long, help: "Model directory (config.json, model.safetensors, spiece.model), or a Hugging Face Hub repository owner/name[@revision], downloaded into the Hugging Face cache (an existing local path always wins). Default: the last model trained.")
    var model: String?

    func directory() throws -> URL {
        if let model {
            guard !model.isEmpty else { throw ValidationError("--model needs a directory name or a Hub repository id") }
            return try resolveModelArgument(model)
        }
        guard let last = LastModel.read() else {
            throw ValidationError("no model given and none trained yet: pass --model DIR or run `kobert-emotion train` first")
        }
        return last
    }
}

/// Remembers the last model directory `train` wrote (in the user's cache directory).
enum LastModel {
    static var file: URL {
        let base = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("kobert-emotion/last-model")
    }

    static func read() -> URL? {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return nil }
        let path = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return path.isEmpty ? nil : URL(fileURLWithPath: path)
    }

    static func write(_ url: URL) {
        try? FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? AtomicFile.write(Data((url.standardizedFileURL.path + "\n").utf8), to: file)
    }
}

/// Writes to standard error.
func printError(_ text: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((text + terminator).utf8))
}

/// Whether standard error is a terminal (progress bars there, plain log lines otherwise).
var stderrIsTerminal: Bool { isatty(2) == 1 }

/// A one-line progress bar on standard error: `label [=====>    ] i/N rate ETA extra`.
struct ProgressBar {
    let label: String
    let total: Int
    let start = Date()
    private var lastDraw = Date.distantPast

    init(label: String, total: Int) {
        self.label = label
        self.total = total
    }

    mutating func update(_ done: Int, extra: String = "") {
        guard stderrIsTerminal else { return }
        let now = Date()
        guard done == total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 24
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" + String(repeating: " ", count: width - filled - 1) : "")
        printError("\r\(label) [\(bar)] \(done)/\(total) \(String(format: "%.2f", rate)) it/s ETA \(duration(eta)) \(extra)\u{1B}[K", terminator: "")
        if done == total { printError("") }
    }

    /// Clears the bar so a log line can be printed.
    func clear() { if stderrIsTerminal { printError("\r\u{1B}[K", terminator: "") } }
}

func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
}

/// JSON text of one object (full float precision), on one line.
func jsonLine(_ object: [String: Any]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
}

/// The compute context a command runs in: `--threads`, and the matrix-product library from
/// `KOBERT_GEMM` (openblas or onednn on Linux; default: oneDNN there). Every runner the command
/// makes inherits it (`ComputeContext`), so the engine's threads, oneDNN's OpenMP threads and
/// OpenBLAS's are all set from it.
struct ComputeArguments: ParsableArguments {
    @Option(name: .long, help: "Threads for the computation (default: every online core).")
    var threads: Int?

    func validate() throws {
        if let threads, !(1...1024).contains(threads) {
            throw ValidationError("--threads must be between 1 and 1024, got \(threads)")
        }
    }

    func context() throws -> ComputeContext { try Self.context(threads: threads) }

    /// `threads` (nil: every online core) and the backend `KOBERT_GEMM` names (unset: the default).
    static func context(threads: Int?) throws -> ComputeContext {
        do {
            return ComputeContext(threads: threads, gemm: try GEMMBackend.fromEnvironment())
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// Runs `body` in the context.
    func run<R>(_ body: () throws -> R) throws -> R {
        try context().run(body)
    }
}

extension ComputeContext {
    /// "2 threads; matrix products: oneDNN 2.6.3 (isa avx2); products of at most 48 rows: the
    /// engine's AVX2 kernel", for logs.
    var summary: String {
        "\(threads) thread\(threads == 1 ? "" : "s"); matrix products: \(gemm.summary)"
            + (Linear.fewRowsSummary.map { "; \($0)" } ?? "")
    }
}
