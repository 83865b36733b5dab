import ArgumentParser
import EmotionServer
import Kernels

#if canImport(Darwin)
@preconcurrency import Darwin
#else
@preconcurrency import Glibc
#endif

@main
struct KobertEmotion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kobert-emotion",
        abstract: "Fine-tune a Korean BERT (KoBERT) to recognise the emotion in a sentence, evaluate it, and predict.",
        discussion: """
            Emotions (the seed tutorial's ids): fear 0, surprise 1, angry 2, sadness 3, neutral 4, happiness 5, \
            disgust 6. Without --data, commands use the built-in sample dataset; without --model, `train` trains \
            a small BERT from scratch and the other commands use the last model trained.
            """,
        version: versionText,
        subcommands: [Train.self, Evaluate.self, Predict.self, Tokenize.self, Serve.self, CheckParity.self, Download.self]
    )

    static func main() {
        // Log lines reach a file or pipe as they are printed, not when the buffer fills.
        setvbuf(stdout, nil, _IOLBF, 0)
        // Swift would replace invalid UTF-8 in an argument with U+FFFD and go on with garbled text.
        for i in 1..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[i] else { continue }
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self), count: strlen(raw))
            if String(validating: bytes, as: UTF8.self) == nil {
                fputs("Error: command-line argument \(i) is not valid UTF-8 (a cp949 terminal?); pass the text on standard input or with --input FILE, where cp949 is detected\n", stderr)
                terminate(64)
            }
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// `--version`: the version, and the matrix-product libraries of this build with the instruction
/// set they run on here (the first is the default; `KOBERT_GEMM` picks another).
let versionText: String = {
    let backends = GEMMBackend.available.map { "\($0.rawValue): \($0.summary)" }
    return "kobert-emotion \(emotionServerVersion)\nmatrix products: " + backends.joined(separator: "; ")
        + " (default \(GEMMBackend.platformDefault.rawValue); KOBERT_GEMM picks one)"
        + (Linear.fewRowsSummary.map { "; \($0)" } ?? "")
}()

private func terminate(_ code: Int32) -> Never { exit(code) }
