import ArgumentParser
import EmotionClassifier
import Foundation

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify sentences: prints the seed's `>> 입력하신 내용에서 행복이 느껴집니다.` with the probabilities.",
        discussion: """
            With sentences as arguments, classifies each. Without, runs the seed's interactive loop (prompt \
            `하고싶은 말을 입력해주세요 : `; `0` or end of input quits). --json prints one JSON object per sentence. --input \
            FILE classifies every line of a text file (or the text column of a .csv or .xlsx) in batches.
            """)

    @OptionGroup var modelArgument: ModelArgument

    @Flag(name: .long, help: "One JSON object per sentence: text, label, id, probabilities (label -> probability).")
    var json = false

    @Option(name: .long, help: "Classify every line of this file (or the text column of a .csv or .xlsx file).")
    var input: String?

    @Option(name: .long, help: "With --input: write the JSON lines to this file (replaced atomically when complete; `-` is standard output). A directory, link, device, FIFO or the input itself is refused.")
    var output: String?

    @Option(name: .long, help: "With a .csv or .xlsx --input: the sentence column (default 발화문; if absent, a Sentence column).")
    var textColumn = "발화문"

    @Option(name: .long, help: "With an .xlsx --input: the sheet (default: the first).")
    var sheet: String?

    @Option(name: .long, parsing: .unconditional, help: "Sentences per batch.")
    var batchSize = 64

    @Argument(help: "Sentences to classify.")
    var sentences: [String] = []

    func validate() throws {
        if output != nil && input == nil { throw ValidationError("--output goes with --input") }
        if sheet != nil && input == nil { throw ValidationError("--sheet goes with --input") }
        if input != nil && !sentences.isEmpty { throw ValidationError("give sentences or --input, not both") }
        if batchSize < 1 { throw ValidationError("--batch-size must be positive (got \(batchSize))") }
        if input?.isEmpty == true { throw ValidationError("--input needs a file name") }
        if output?.isEmpty == true { throw ValidationError("--output needs a file name (or - for standard output)") }
    }

    @OptionGroup var compute: ComputeArguments

    func run() throws { try compute.run { try runInContext() } }

    func runInContext() throws {
        if let input {   // refuse a bad --output before reading anything
            try OutputSink.check(output, inputs: [URL(fileURLWithPath: input)])
        }
        let model = try loadSentenceClassifier(directory: try modelArgument.directory(), storage: .mapped)
        if let input {
            try classifyFile(model, input: URL(fileURLWithPath: input))
        } else if !sentences.isEmpty {
            for p in try model.predict(sentences, batchSize: batchSize) { try show(p, model) }
        } else {
            let interactive = isatty(0) == 1
            while true {
                if interactive || !json {
                    print("하고싶은 말을 입력해주세요 : ", terminator: "")
                    fflush(nil)
                }
                guard let line = try StandardInput.readLine() else { if !json { print("") }; break }
                if line.trimmingCharacters(in: .whitespaces) == "0" { break }
                guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
                try show(try model.predict([line], batchSize: 1)[0], model)
                if !json { print("\n") }
            }
        }
    }

    private func show(_ p: Prediction, _ model: any SentenceClassifier) throws {
        if json {
            print(p.jsonLine(labels: model.labels.names))
        } else {
            print(model.message(for: p))
            print("   " + zip(model.labels.names, p.probabilities).map { String(format: "%@ %.3f", $0.0, $0.1) }.joined(separator: ", "))
        }
    }

    private func classifyFile(_ model: any SentenceClassifier, input url: URL) throws {
        let texts = try SentenceFile.sentences(url, column: textColumn, sheet: sheet)
        let sink = try OutputSink(path: output, inputs: [url])
        defer { sink.discard() }   // after a failure, no half-written temporary file stays behind
        var bar = ProgressBar(label: "predict", total: (texts.count + batchSize - 1) / batchSize)
        // A BERT model reuses one runner (its buffers) for every batch.
        let classify: ([String]) throws -> [Prediction]
        if let bert = model as? EmotionModel {
            let runner = try bert.makeRunner(batchSize: batchSize)
            classify = { try bert.predict($0, runner: runner) }
        } else {
            classify = { try model.predict($0, batchSize: batchSize) }
        }
        var done = 0
        while done < texts.count {
            let chunk = Array(texts[done..<min(texts.count, done + batchSize)])
            for p in try classify(chunk) {
                try sink.write(p.jsonLine(labels: model.labels.names) + "\n")
            }
            done += chunk.count
            bar.update((done + batchSize - 1) / batchSize)
        }
        try sink.finish()
    }
}
