import ArgumentParser
import EmotionClassifier
import Foundation

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accuracy, macro-F1, per-class scores and confusion matrix of a model on a dataset's test split.",
        discussion: """
            By default the data is split as in training (same --split, --split-seed, --test-fraction) and the \
            test rows are scored twice: all of them, and only those whose sentence never occurs in the training \
            rows. --all-rows scores every row of the file instead (for data the model never saw).
            """)

    @OptionGroup var modelArgument: ModelArgument
    @OptionGroup var data: DataArguments

    @Flag(name: .long, help: "Score every row of --data, not just its test split.")
    var allRows = false

    @Option(name: .long, help: "Also write report.json and report.html into this directory.")
    var output: String?

    @Flag(name: .long, help: "Print the metrics as JSON.")
    var json = false

    @OptionGroup var compute: ComputeArguments

    func run() throws { try compute.run { try runInContext() } }

    func runInContext() throws {
        let directory = try modelArgument.directory()
        let model = try loadSentenceClassifier(directory: directory, storage: .mapped)
        var options = try data.options()
        options.labels = model.labels
        // A BERT model trained by `train` keeps its character n-gram baseline beside it: score both.
        let baselineDirectory = directory.appendingPathComponent(BaselineResult.folderName)
        let baseline = model is EmotionModel && FileManager.default.fileExists(atPath: baselineDirectory.appendingPathComponent("config.json").path)
            ? try LinearClassifier.load(directory: baselineDirectory) : nil
        let result = try model.evaluate(options, allRows: allRows, model: directory.path, baseline: baseline)
        if let output { try result.report.write(to: URL(fileURLWithPath: output)) }
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
            if let baseline = result.report.baseline {
                struct Both: Encodable { var evaluation: Evaluation?; var baseline: BaselineResult }
                print(String(decoding: try e.encode(Both(evaluation: result.report.evaluation, baseline: baseline)), as: UTF8.self))
            } else {
                print(String(decoding: try e.encode(result.report.evaluation), as: UTF8.self))
            }
            return
        }
        let d = result.report.config.data
        print("data: \(d.source)" + (d.sheet.map { ", sheet \"\($0)\"" } ?? "") + ", columns \(d.textColumn)/\(d.labelColumn), \(d.exampleCount) sentences")
        if let s = result.report.config.split {
            print("test split: \(s.testCount) sentences (\(s.mode.rawValue), seed \(s.seed)); \(s.overlapCount) also occur in training")
        }
        guard let ev = result.report.evaluation else { return }
        if ev.all.perClass.filter({ $0.support > 0 }).count == 1 {
            print("warning: only one class occurs in the scored sentences: accuracy and macro-F1 say nothing about the model")
        }
        if !allRows && ev.all.count > 0 && ev.unseen.count == 0 {
            print("warning: every test sentence also occurs in the training rows: no unseen-sentence score")
        }
        let sets = allRows ? [("all sentences", ev.all)] : [("all test sentences", ev.all), ("test sentences not seen in training", ev.unseen)]
        for (title, m) in sets where m.count > 0 {
            print("")
            print(String(format: "%@ (%d): accuracy %.4f, macro-F1 %.4f", title, m.count, m.accuracy, m.macroF1))
            print("true \\ predicted".padding(toLength: 38, withPad: " ", startingAt: 0) + model.labels.names.map { $0.leftPad(10) }.joined(separator: " "))
            for (i, c) in m.perClass.enumerated() {
                let row = m.confusion[i].map { String($0).leftPad(10) }.joined(separator: " ")
                print(String(format: "%@ P %.3f R %.3f F1 %.3f", c.label.padding(toLength: 10, withPad: " ", startingAt: 0), c.precision, c.recall, c.f1) + "  " + row)
            }
        }
        if let baseline = result.report.baseline {
            print("")
            let bsets = allRows ? [("all sentences", baseline.evaluation.all)]
                : [("all test sentences", baseline.evaluation.all), ("test sentences not seen in training", baseline.evaluation.unseen)]
            for (title, m) in bsets where m.count > 0 {
                print(String(format: "character n-gram baseline, %@ (%d): accuracy %.4f, macro-F1 %.4f", title, m.count, m.accuracy, m.macroF1))
            }
            print(baseline.comparison(with: ev))
        }
    }
}

private extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

struct CheckParity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-parity",
        abstract: "Developer check: a model's logits against a PyTorch reference (Scripts/make_bert_fixtures.py --full).")

    @Option(name: .long, help: "Model directory (config.json, model.safetensors), or a Hugging Face Hub repository owner/name[@revision] (an existing local path always wins).")
    var model: String

    @Option(name: .long, help: "safetensors with input_ids, token_type_ids, attention_mask and PyTorch's logits.")
    var reference: String

    @Option(name: .long, help: "Allowed relative error (|ours - torch| <= rtol * |torch|, plus 1e-6 absolute).")
    var rtol: Float = 1e-4

    @OptionGroup var compute: ComputeArguments

    func run() throws { try compute.run { try runInContext() } }

    func runInContext() throws {
        guard !model.isEmpty else { throw ValidationError("--model needs a directory name or a Hub repository id") }
        let r = try ParityCheck.run(modelDirectory: try resolveModelArgument(model), reference: URL(fileURLWithPath: reference), rtol: rtol)
        print(r.summary)
        if !r.passed { throw ExitCode.failure }
    }
}
