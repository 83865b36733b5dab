import FileSafety
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a report could not be read or written.
public enum ReportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Encoding or writing `file` failed.
    case writeFailed(file: String, reason: String)
    /// Reading or decoding `file` failed.
    case readFailed(file: String, reason: String)

    public var description: String {
        switch self {
        case let .writeFailed(file, reason): "\(file): cannot write report: \(reason)"
        case let .readFailed(file, reason): "\(file): cannot read report: \(reason)"
        }
    }
}

/// Everything a training run reports: settings, per-epoch history, final metrics and timing.
/// Saved as `report.json` and rendered as a self-contained `report.html`.
public struct TrainingReport: Sendable, Equatable, Codable {
    /// What ran: built from the data that was read, the split that was made and the options that
    /// were used, never from defaults.
    public struct Config: Sendable, Equatable, Codable {
        /// The data as it was read.
        public var data: DataSummary
        /// How the data was split; nil when every row was evaluated (`evaluate --all-rows`).
        public var split: SplitSummary?
        /// The model trained or evaluated (a path or description).
        public var model: String
        /// The training run's options; nil for an evaluation.
        public var training: TrainingOptions?

        public init(data: DataSummary, split: SplitSummary?, model: String, training: TrainingOptions? = nil) {
            self.data = data
            self.split = split
            self.model = model
            self.training = training
        }
    }

    /// The dataset a report is about, as it was read.
    public struct DataSummary: Sendable, Equatable, Codable {
        /// Dataset file (or description) and how it was read.
        public var source: String
        public var encoding: TextEncoding
        /// The sheet (of a spreadsheet) and the columns the sentences and labels were read from,
        /// as their headers are written in the file.
        public var sheet: String?
        public var textColumn: String
        public var labelColumn: String
        /// Label names in class-id order.
        public var labels: [String]
        /// Examples loaded, and invalid rows skipped.
        public var exampleCount: Int
        public var skippedRows: Int

        public init(_ dataset: EmotionDataset) {
            source = dataset.source
            encoding = dataset.encoding
            sheet = dataset.sheet
            textColumn = dataset.textColumn
            labelColumn = dataset.labelColumn
            labels = dataset.labels.names
            exampleCount = dataset.examples.count
            skippedRows = dataset.skipped.count
        }
    }

    /// The split's settings and sizes.
    public struct SplitSummary: Sendable, Equatable, Codable {
        public var mode: SplitMode
        public var seed: UInt32
        public var testFraction: Double
        public var trainCount: Int
        public var testCount: Int
        /// Test rows whose sentence also occurs in training.
        public var overlapCount: Int

        /// Summarises `split`.
        public init(_ split: DatasetSplit) {
            mode = split.mode
            seed = split.seed
            testFraction = split.testFraction
            trainCount = split.train.count
            testCount = split.test.count
            overlapCount = split.overlapCount
        }
    }

    /// One epoch of training, as the seed prints it.
    public struct Epoch: Sendable, Equatable, Codable {
        /// 1-based epoch number.
        public var epoch: Int
        /// Mean training loss over the epoch's batches.
        public var trainLoss: Double
        /// Share of training rows predicted correctly during the epoch.
        public var trainAccuracy: Double
        /// Share of test rows predicted correctly after the epoch.
        public var testAccuracy: Double
        /// Accuracy on the test rows whose sentence does not occur in training, if measured.
        public var unseenTestAccuracy: Double?
        /// Wall-clock seconds for the epoch (training and evaluation).
        public var seconds: Double

        /// Records one epoch.
        public init(epoch: Int, trainLoss: Double, trainAccuracy: Double, testAccuracy: Double,
                    unseenTestAccuracy: Double? = nil, seconds: Double)
        {
            self.epoch = epoch
            self.trainLoss = trainLoss
            self.trainAccuracy = trainAccuracy
            self.testAccuracy = testAccuracy
            self.unseenTestAccuracy = unseenTestAccuracy
            self.seconds = seconds
        }
    }

    /// Wall-clock seconds spent in each phase.
    public struct Timing: Sendable, Equatable, Codable {
        public var loadSeconds: Double
        public var trainSeconds: Double
        public var evaluationSeconds: Double
        public var totalSeconds: Double

        /// Records phase durations; unset phases are 0.
        public init(loadSeconds: Double = 0, trainSeconds: Double = 0, evaluationSeconds: Double = 0,
                    totalSeconds: Double = 0)
        {
            self.loadSeconds = loadSeconds
            self.trainSeconds = trainSeconds
            self.evaluationSeconds = evaluationSeconds
            self.totalSeconds = totalSeconds
        }
    }

    /// The run's settings.
    public var config: Config
    /// One entry per finished epoch, appended by the trainer.
    public var history: [Epoch]
    /// Final metrics on the test set (all rows and unseen rows); nil until evaluated.
    public var evaluation: Evaluation?
    /// The character n-gram baseline on the same split (nil with `--no-baseline`).
    public var baseline: BaselineResult?
    /// Why the baseline could not be fitted on this data (e.g. a single class), when it could not.
    public var baselineSkipped: String?
    /// Time spent per phase.
    public var timing: Timing

    /// Starts a report; the trainer appends to `history` and sets `evaluation` and `timing` as it goes.
    public init(config: Config, history: [Epoch] = [], evaluation: Evaluation? = nil, baseline: BaselineResult? = nil,
                timing: Timing = Timing()) {
        self.config = config
        self.history = history
        self.evaluation = evaluation
        self.baseline = baseline
        self.timing = timing
    }

    /// File names `write(to:)` uses.
    public static let jsonFileName = "report.json"
    public static let htmlFileName = "report.html"

    /// Pretty-printed JSON with sorted keys; NaN and infinite values are written as strings.
    public func jsonData() throws(ReportError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do {
            return try encoder.encode(self)
        } catch {
            throw .writeFailed(file: Self.jsonFileName, reason: "\(error)")
        }
    }

    /// Reads a report written by `write(to:)`.
    public static func read(from url: URL) throws(ReportError) -> TrainingReport {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do {
            return try decoder.decode(TrainingReport.self, from: Data(contentsOf: url))
        } catch {
            throw .readFailed(file: url.path, reason: "\(error)")
        }
    }

    /// Writes `report.json` and `report.html` into `directory` (created if needed), each atomically.
    /// - Returns: the two files' URLs.
    @discardableResult
    public func write(to directory: URL) throws(ReportError) -> (json: URL, html: URL) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .writeFailed(file: directory.path, reason: error.localizedDescription)
        }
        let json = directory.appendingPathComponent(Self.jsonFileName)
        let html = directory.appendingPathComponent(Self.htmlFileName)
        try writeAtomically(jsonData(), to: json)
        try writeAtomically(Data(htmlPage().utf8), to: html)
        return (json, html)
    }
}

/// Writes `data` atomically (see `AtomicFile`), so readers never see a partly written file.
func writeAtomically(_ data: Data, to url: URL) throws(ReportError) {
    do {
        try AtomicFile.write(data, to: url)
    } catch let error as FileSafetyError {
        throw .writeFailed(file: error.path, reason: error.message)
    } catch {
        throw .writeFailed(file: url.path, reason: "\(error)")
    }
}
