import ArgumentParser
import Dispatch
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

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune on a CSV of sentences and emotions; write the model, report.json and report.html.",
        discussion: """
            Defaults are the seed tutorial's: max length 64, batch 64, 5 epochs, AdamW lr 5e-5 with weight decay \
            0.01, cosine schedule with 10% warm-up, gradient clipping 1.0, dropout 0.5. Without --model a small \
            BERT is trained from scratch with the built-in SentencePiece model; it then defaults to 30 epochs at \
            lr 2e-3 and dropout 0.1, since a random model learns nothing in 5 epochs at 5e-5. Ctrl-C stops after \
            the current batch and leaves a checkpoint that --resume continues.
            """)

    @OptionGroup var data: DataArguments

    @Option(name: .long, help: "Pretrained model to fine-tune: a directory (config.json, model.safetensors or pytorch_model.bin, spiece.model) or a Hugging Face Hub repository owner/name[@revision], e.g. skt/kobert-base-v1 (an existing local path always wins). Default: train from scratch.")
    var model: String?

    @Option(name: .shortAndLong, help: "Output directory for the model, checkpoint and reports.")
    var output = "kobert-emotion-model"

    @Option(name: .long, help: "Token pipeline: gluonnlp (the seed's) or kobert-hf. Default: the one the model's config.json records, else gluonnlp.")
    var pipeline: TokenPipeline?

    @Option(name: .long, help: "Maximum tokens per sentence, [CLS] and [SEP] included.") var maxLen = 64
    @Option(name: .long, parsing: .unconditional, help: "Sentences per batch.") var batchSize = 64
    @Option(name: .long, help: "Epochs (default 5; 30 from scratch).") var epochs: Int?
    @Option(name: .long, help: "Peak learning rate (default 5e-5; 2e-3 from scratch).") var lr: Double?
    @Option(name: .long, help: "Share of steps spent warming up.") var warmupRatio = 0.1
    @Option(name: .long, help: "Clip the global gradient norm to this.") var maxGradNorm = 1.0
    @Option(name: .long, help: "AdamW weight decay (not on biases and LayerNorm).") var weightDecay = 0.01
    @Option(name: .long, help: "Dropout before the classifier (default 0.5; 0.1 from scratch).") var dropout: Double?
    @Option(name: .long, help: "Log a line every this many batches.") var logInterval = 200
    @Option(name: .long, help: "Seed of dropout and of a fresh model's weights.") var seed: UInt64 = 42
    @Flag(name: .long, help: "Pad every batch to --max-len as the seed does (same results; padding is never computed).") var padToMaxLen = false
    @Option(name: .long, help: "From scratch: hidden size, layers, heads, intermediate size.") var scratchShape = "128,2,4,512"
    @Flag(name: .long, help: "Continue the interrupted run in --output.") var resume = false
    @Option(name: .long, help: "bert (default) or linear: only the character n-gram baseline (TF-IDF of character 1-4-grams + logistic regression), trained in seconds and saved as a model directory of its own.") var classifier: ClassifierKind = .bert
    @Flag(name: .long, help: "Do not fit the character n-gram baseline beside BERT (by default it is fitted on the same training rows, scored on the same test rows, shown in the log and reports and saved in OUTPUT/baseline).") var noBaseline = false

    func validate() throws {
        if logInterval < 1 { throw ValidationError("--log-interval must be positive") }
        if output.isEmpty { throw ValidationError("-o/--output needs a directory name") }
        if model?.isEmpty == true { throw ValidationError("--model needs a directory name") }
    }

    @OptionGroup var compute: ComputeArguments

    func run() throws { try compute.run { try runInContext() } }

    func runInContext() throws {
        if classifier == .linear { return try runLinear() }
        let fromScratch = model == nil
        var options = TrainingOptions()
        options.maxLength = maxLen
        options.batchSize = batchSize
        options.epochs = epochs ?? (fromScratch ? 30 : 5)
        options.learningRate = lr ?? (fromScratch ? 2e-3 : 5e-5)
        options.warmupRatio = warmupRatio
        options.maxGradNorm = maxGradNorm
        options.weightDecay = weightDecay
        options.dropout = dropout ?? (fromScratch ? 0.1 : 0.5)
        options.seed = seed
        options.cutPadding = !padToMaxLen
        let source: ModelSource
        if let model {
            source = .pretrained(try resolveModelArgument(model))
        } else {
            let parts = scratchShape.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 4 else { throw ValidationError("--scratch-shape takes four integers: hidden,layers,heads,intermediate") }
            var shape = ScratchShape()
            (shape.hiddenSize, shape.layers, shape.heads, shape.intermediateSize) = (parts[0], parts[1], parts[2], parts[3])
            source = .scratch(shape)
        }
        let outputURL = URL(fileURLWithPath: output)
        let job = try TrainingJob(data: try data.options(), model: source, pipeline: pipeline, options: options, output: outputURL)
        if noBaseline { job.baseline = nil }
        let lock = try OutputLock(directory: outputURL)   // one writer per output directory
        defer { lock.release() }

        let d = job.dataset, s = job.split
        print("data: \(d.summary)")
        print("split: \(s.mode.rawValue), seed \(s.seed): \(s.train.count) train, \(s.test.count) test; \(s.overlapCount) test sentences also occur in training, \(s.test.count - s.overlapCount) unseen")
        for warning in DataWarnings.classes(d.examples, labels: d.labels) + DataWarnings.split(s) { print("warning: \(warning)") }
        print("model: \(job.modelDescription)")
        if job.loadReport.freshHead { print("model: a plain BertModel checkpoint; the classifier head starts fresh") }
        if !job.loadReport.unusedKeys.isEmpty {
            print("model: \(job.loadReport.unusedKeys.count) checkpoint tensors not used (e.g. \(job.loadReport.unusedKeys.prefix(3).joined(separator: ", ")))")
        }
        print("training: \(options.epochs) epochs, batch \(options.batchSize), max length \(options.maxLength), lr \(options.learningRate), warm-up \(options.warmupRatio), clip \(options.maxGradNorm), dropout \(options.dropout), weight decay \(options.weightDecay)")
        print("tokens: \(job.pipeline.pipeline.rawValue) (\(job.pipeline.reason))")
        print("compute: \(ComputeContext.current.summary)")

        let stop = StopFlag()
        var bar = ProgressBar(label: "epoch 1", total: 1)
        var batchesPerEpoch = 1
        let report = try job.run(resume: resume, onEvent: { event in
            switch event {
            case let .started(epoch, batch, perEpoch, total):
                if batch > 0 || epoch > 1 { print("resuming at epoch \(epoch), batch \(batch + 1) of \(perEpoch)") }
                print("\(total) steps (\(perEpoch) per epoch)")
                batchesPerEpoch = perEpoch
                bar = ProgressBar(label: "epoch \(epoch)", total: perEpoch)
            case let .batch(epoch, b, _, loss, acc, _):
                if (b - 1) % logInterval == 0 {
                    bar.clear()
                    print("epoch \(epoch) batch id \(b) loss \(loss) train acc \(acc)")
                }
                bar.update(b, extra: String(format: "loss %.4f acc %.4f", loss, acc))
            case let .evaluating(epoch, b, n):
                if b == 1 { bar = ProgressBar(label: "test \(epoch)", total: n) }
                bar.update(b)
            case let .epochFinished(e):
                bar.clear()
                print("epoch \(e.epoch) train acc \(e.trainAccuracy)")
                print("epoch \(e.epoch) test acc \(e.testAccuracy)" + (e.unseenTestAccuracy.map { " (unseen sentences only: \($0))" } ?? "")
                      + String(format: "  [loss %.4f, %.1f s]", e.trainLoss, e.seconds))
                bar = ProgressBar(label: "epoch \(e.epoch + 1)", total: batchesPerEpoch)
            case let .interrupted(epoch, b):
                bar.clear()
                print("stopped at epoch \(epoch), batch \(b); checkpoint saved in \(outputURL.path). Continue with --resume.")
            }
        }, shouldStop: { stop.isSet })
        guard let report else { throw ExitCode(130) }
        LastModel.write(outputURL)
        if let ev = report.evaluation { printScores(ev) }
        if let baseline = report.baseline {
            print(String(format: "baseline: character %d-%d-grams + logistic regression, %d features, fitted in %.1f s (%@/%@)",
                         baseline.options.ngramRange.lowerBound, baseline.options.ngramRange.upperBound, baseline.features,
                         baseline.fitSeconds, outputURL.path, BaselineResult.folderName))
            printScores(baseline.evaluation, prefix: "baseline ")
            if let ev = report.evaluation { print(baseline.comparison(with: ev)) }
        }
        if let reason = report.baselineSkipped { print("baseline: not fitted: \(reason)") }
        print("saved model to \(outputURL.path) (report.html, report.json) in \(duration(report.timing.totalSeconds))")
    }
}

/// What `train` trains.
enum ClassifierKind: String, ExpressibleByArgument, CaseIterable {
    case bert, linear
}

extension Train {
    /// `train --classifier linear`: the character n-gram model alone.
    func runLinear() throws {
        if model != nil { throw ValidationError("--model is a BERT model to fine-tune; --classifier linear trains from the data alone") }
        let outputURL = URL(fileURLWithPath: output)
        let lock = try OutputLock(directory: outputURL)
        defer { lock.release() }
        let options = try data.options()
        let (model, report) = try LinearClassifier.trainJob(data: options, output: outputURL)
        print("data: \(report.config.data.source), columns \(report.config.data.textColumn)/\(report.config.data.labelColumn), \(report.config.data.exampleCount) sentences")
        if let s = report.config.split {
            print("split: \(s.mode.rawValue), seed \(s.seed): \(s.trainCount) train, \(s.testCount) test; \(s.overlapCount) test sentences also occur in training")
        }
        print(String(format: "model: character %d-%d-grams + logistic regression (C %g), %d features, fitted in %.1f s",
                     model.options.ngramRange.lowerBound, model.options.ngramRange.upperBound, model.options.C,
                     model.featureCount, report.timing.trainSeconds))
        if let ev = report.evaluation { printScores(ev) }
        LastModel.write(outputURL)
        print("saved model to \(outputURL.path) (report.html, report.json) in \(duration(report.timing.totalSeconds))")
    }
}

/// The test scores as the seed's log prints them: all test sentences, then the unseen ones.
func printScores(_ ev: Evaluation, prefix: String = "") {
    print(String(format: "%@test accuracy %.4f, macro-F1 %.4f on all %d test sentences", prefix, ev.all.accuracy, ev.all.macroF1, ev.all.count))
    if ev.unseen.count > 0 {
        print(String(format: "%@test accuracy %.4f, macro-F1 %.4f on the %d test sentences not seen in training", prefix, ev.unseen.accuracy, ev.unseen.macroF1, ev.unseen.count))
    } else {
        print("\(prefix)no test sentence is unseen in training: no unseen-sentence score")
    }
}

/// Set by the first Ctrl-C (training then stops after the current batch); a second Ctrl-C exits at once.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    private let source: DispatchSourceSignal

    init() {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [unowned self] in
            self.lock.lock()
            let again = self.set
            self.set = true
            self.lock.unlock()
            if again { TemporaryFiles.removeAllLive(); exit(130) }
            printError("\nstopping after this batch (Ctrl-C again to quit at once)")
        }
        source.resume()
    }

    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return set }
}
