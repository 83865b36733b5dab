import BERT
import FileSafety
import Foundation
import SentencePiece

/// Where the examples come from and how they are split.
public struct DataOptions: Sendable {
    /// The CSV or .xlsx file, or nil for the built-in sample.
    public var file: URL?
    /// The sheet of an .xlsx file (nil: the first).
    public var sheet: String?
    public var textColumn = "발화문"
    public var labelColumn = "상황"
    /// nil detects UTF-8 and otherwise reads cp949.
    public var encoding: TextEncoding?
    public var labels: LabelSet = .seed
    public var skipInvalid = false
    public var split: SplitMode = .random
    public var splitSeed: UInt32 = 32
    public var testFraction = 0.2

    public init(file: URL? = nil) { self.file = file }

    /// Loads the dataset (the built-in sample when `file` is nil).
    public func load() throws -> EmotionDataset {
        try EmotionDataset.load(contentsOf: file ?? EmotionDataset.builtInSample, textColumn: textColumn,
                                labelColumn: labelColumn, encoding: encoding, labels: labels, skipInvalid: skipInvalid,
                                sheet: sheet)
    }

    /// The summary a report records of `dataset`: the columns (and sheet) it was actually read from.
    public func summary(of dataset: EmotionDataset) -> TrainingReport.DataSummary {
        TrainingReport.DataSummary(dataset)
    }

    /// Loads and splits.
    public func loadSplit() throws -> (EmotionDataset, DatasetSplit) {
        let data = try load()
        do {
            return (data, try DatasetSplit(examples: data.examples, mode: split, testFraction: testFraction, seed: splitSeed))
        } catch {
            throw TrainingError.emptyData("\(data.source): \(error)" + (data.skipped.isEmpty ? "" : " (after skipping \(data.skipped.count) invalid rows)"))
        }
    }
}

/// The shape of a BERT trained from scratch (no pretrained model), small enough to train in minutes.
public struct ScratchShape: Codable, Sendable, Equatable {
    public var hiddenSize = 128
    public var layers = 2
    public var heads = 4
    public var intermediateSize = 512
    public init() {}
}

/// The model a training run starts from.
public enum ModelSource: Sendable {
    /// A Hugging Face model directory (config.json, model.safetensors, spiece.model), e.g. KoBERT.
    case pretrained(URL)
    /// A small BERT initialized at random, with the built-in SentencePiece model.
    case scratch(ScratchShape)
}

/// A whole training run as the CLI's `train` performs it: load and split the data, build or load
/// the model, train with per-epoch checkpoints, evaluate, and write the model and its reports.
public final class TrainingJob {
    public let dataset: EmotionDataset
    public let split: DatasetSplit
    public let trainer: Trainer
    public let output: URL
    public let modelDescription: String
    /// The data options the run was given (recorded in the reports).
    public let data: DataOptions
    /// What loading a pretrained checkpoint found: a fresh head, tensors it did not use.
    public private(set) var loadReport = BertClassifier.LoadReport()
    private let loadSeconds: Double

    /// The token pipeline the run uses, and why (for the log).
    public let pipeline: (pipeline: TokenPipeline, reason: String)

    /// - Parameter pipeline: the token pipeline; nil chooses it (see `choosePipeline`).
    public init(data: DataOptions, model source: ModelSource, pipeline: TokenPipeline? = nil,
                options: TrainingOptions, output: URL) throws {
        let start = Date()
        self.data = data
        (dataset, split) = try data.loadSplit()
        guard !split.train.isEmpty else { throw TrainingError.emptyData("\(dataset.source): no training examples after the split") }
        let model: EmotionModel
        switch source {
        case .pretrained(let dir):
            let (encoder, report) = try BertClassifier.load(directory: dir, numLabels: dataset.labels.names.count,
                                                            purpose: .fineTune(seed: options.seed))
            loadReport = report
            let spmURL = dir.appendingPathComponent("spiece.model")
            let spm: Data
            do { spm = try Data(contentsOf: spmURL) } catch {
                throw EmotionModelError("\(spmURL.path): cannot read the SentencePiece model (\(error.localizedDescription))")
            }
            self.pipeline = try Self.choosePipeline(pipeline, directory: dir)
            model = try EmotionModel(classifier: encoder, sentencePieceData: spm, pipeline: self.pipeline.pipeline,
                                     maxLength: options.maxLength, labels: dataset.labels)
            modelDescription = dir.path
        case .scratch(let shape):
            self.pipeline = (pipeline ?? .gluonnlp, pipeline == nil ? "the seed's pipeline" : "--pipeline")
            let spmData = try Data(contentsOf: SentencePieceModel.builtInEmotionDialogue)
            let vocab = try SentencePieceModel(data: spmData).count
            let config = BertConfig(vocabSize: vocab, hiddenSize: shape.hiddenSize, numHiddenLayers: shape.layers,
                                    numAttentionHeads: shape.heads, intermediateSize: shape.intermediateSize,
                                    maxPositionEmbeddings: max(64, options.maxLength), padTokenId: 1,
                                    numLabels: dataset.labels.names.count)
            model = try EmotionModel(classifier: try BertClassifier(config: config, seed: options.seed),
                                     sentencePieceData: spmData, pipeline: pipeline ?? .gluonnlp, maxLength: options.maxLength,
                                     labels: dataset.labels)
            modelDescription = "from scratch: \(shape.layers) layers, hidden \(shape.hiddenSize), \(shape.heads) heads, intermediate \(shape.intermediateSize), vocabulary \(vocab)"
        }
        let seen = split.testSeenInTraining
        trainer = try Trainer(model: model, options: options, directory: output,
                              dataFingerprint: Self.fingerprint(split.train))
        trainer.unseenTest = Set(seen.indices.filter { !seen[$0] })
        self.output = output
        loadSeconds = Date().timeIntervalSince(start)
    }

    /// The character n-gram baseline fitted beside BERT after training (nil: none).
    public var baseline: LinearOptions? = LinearOptions()

    /// Trains (resuming from the checkpoint in `output` when `resume` is set), then evaluates on the
    /// test split, fits the baseline on the same training rows (saved in `output/baseline`) and writes
    /// `report.json` and `report.html`. Returns nil when stopped early.
    public func run(resume: Bool, onEvent: (TrainingEvent) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> TrainingReport? {
        let start = Date()
        if resume, try !trainer.resume() {
            throw TrainingError.checkpoint("nothing to resume: \(output.appendingPathComponent(Trainer.checkpointName).path) does not exist")
        }
        guard try trainer.run(train: split.train, test: split.test, onEvent: onEvent, shouldStop: shouldStop) else { return nil }
        let trainSeconds = Date().timeIntervalSince(start)
        let evalStart = Date()
        // The last epoch's evaluation already classified the test set with the final weights.
        let predicted = trainer.lastTestPredictions
        let evaluation = predicted.count == split.test.count
            ? try Evaluation(split: split, predicted: predicted, labels: trainer.model.labels)
            : try trainer.model.evaluate(split)
        var baselineResult: BaselineResult?
        var baselineSkipped: String?
        if let baseline {
            // Data the baseline cannot fit (one class, a class with one sentence, an empty vocabulary)
            // does not fail the BERT run that already finished: the report says why there is none.
            do {
                let (model, result) = try BaselineResult.fit(split: split, labels: dataset.labels, options: baseline)
                try model.save(directory: output.appendingPathComponent(BaselineResult.folderName))
                baselineResult = result
            } catch let error as LinearClassifierError {
                baselineSkipped = "\(error)"
            }
        }
        var report = TrainingReport(
            config: .init(data: data.summary(of: dataset), split: .init(split), model: modelDescription,
                          training: trainer.options),
            history: trainer.history, evaluation: evaluation, baseline: baselineResult)
        report.baselineSkipped = baselineSkipped
        report.timing = .init(loadSeconds: loadSeconds, trainSeconds: trainSeconds,
                              evaluationSeconds: Date().timeIntervalSince(evalStart),
                              totalSeconds: loadSeconds + Date().timeIntervalSince(start))
        try report.write(to: output)
        return report
    }

    /// The pipeline for a pretrained model directory: the one asked for; else the one its
    /// config.json records (a model this tool saved); else gluonnlp, the seed's. transformers'
    /// `tokenizer_config.json` of KoBERT names `XLNetTokenizer`, which pads on the left and puts
    /// [CLS] last: it is never followed.
    static func choosePipeline(_ asked: TokenPipeline?, directory: URL) throws -> (pipeline: TokenPipeline, reason: String) {
        if let asked { return (asked, "--pipeline") }
        let configURL = directory.appendingPathComponent("config.json")
        if let recorded = try EmotionModel.ApplicationConfig.load(configURL).pipeline(file: configURL) {
            return (recorded, "recorded in the model's config.json")
        }
        let tokenizerConfig = directory.appendingPathComponent("tokenizer_config.json")
        if let data = try? Data(contentsOf: tokenizerConfig), data.count < 1 << 20,
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let name = object["tokenizer_class"] as? String {
            let shown = untrustedText(name, limit: 40)
            if name == "XLNetTokenizer" || name == "XLNetTokenizerFast" || name == "KoBERTTokenizer" {
                return (.gluonnlp, "the seed's pipeline; tokenizer_config.json names \(shown), which KoBERT's Hugging Face tokenizer implements with [CLS] last and left padding, so it is not followed")
            }
            return (.gluonnlp, "the seed's pipeline; tokenizer_config.json names \(shown), a tokenizer this tool does not run (--pipeline chooses between gluonnlp and kobert-hf)")
        }
        return (.gluonnlp, "the seed's pipeline")
    }

    /// FNV-1a over the training texts and labels, in order.
    static func fingerprint(_ examples: [Example]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        for e in examples {
            for b in e.text.utf8 { mix(b) }
            mix(0); mix(UInt8(truncatingIfNeeded: e.label)); mix(0xff)
        }
        return h
    }
}

extension LabelSet {
    /// The seed's label set when `names` are the seed's labels, otherwise a custom set of `names`.
    static func forNames(_ names: [String]) throws -> LabelSet {
        names == LabelSet.seed.names ? .seed : try LabelSet(names: names)
    }
}
