import FileSafety
import BERT
import Foundation
import Kernels
import SafeTensors
import SentencePiece

extension EmotionModel {
    /// The tokenizer of a model directory without loading its weights: `spiece.model` and the
    /// pipeline named in `config.json` (or `pipeline`, or gluonnlp).
    public static func loadTokenizer(directory: URL, pipeline: TokenPipeline? = nil) throws -> KoBERTTokenizer {
        let config = try BertConfig.load(contentsOf: directory.appendingPathComponent("config.json"))
        let spm = try SentencePieceModel(contentsOf: directory.appendingPathComponent("spiece.model"))
        return try KoBERTTokenizer(model: spm, pipeline: pipeline ?? config.tokenizerPipeline.flatMap(TokenPipeline.init(rawValue:)) ?? .gluonnlp)
    }

    /// A runner for batches of up to `batchSize` sentences, to reuse across `predict` calls.
    public func makeRunner(batchSize: Int) throws -> BertRunner {
        try BertRunner(model: classifier, maxBatch: batchSize, maxLength: maxLength, training: false)
    }

    /// Scores the model on a dataset: its test split (all test rows and the unseen ones), or every
    /// row with `allRows`. Returns a report with the numbers (no training history).
    public func evaluate(_ data: DataOptions, allRows: Bool = false) throws -> (report: TrainingReport, split: DatasetSplit) {
        let start = Date()
        let dataset = try data.load()
        let split: DatasetSplit
        if allRows {
            split = DatasetSplit(allTest: dataset.examples)
        } else {
            split = try DatasetSplit(examples: dataset.examples, mode: data.split, testFraction: data.testFraction, seed: data.splitSeed)
        }
        let evaluation = try evaluate(split)
        var report = TrainingReport(config: .init(dataset: dataset, textColumn: data.textColumn, labelColumn: data.labelColumn,
                                                  split: split, model: "(evaluated)", maxLength: maxLength),
                                    evaluation: evaluation)
        report.timing.evaluationSeconds = Date().timeIntervalSince(start)
        report.timing.totalSeconds = report.timing.evaluationSeconds
        return (report, split)
    }
}

/// Reads the sentences of a file to classify.
public enum SentenceFile {
    /// Every non-empty line of a UTF-8 (or cp949) text file.
    public static func lines(_ url: URL, encoding: TextEncoding? = nil) throws -> [String] {
        try text(of: url, encoding: encoding).split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map(String.init)
            .filter { !$0.allSatisfy(\.isWhitespace) }
    }

    /// The `column` field of every row of a CSV file with a header.
    public static func csvColumn(_ url: URL, column: String, encoding: TextEncoding? = nil) throws -> [String] {
        let records: [CSVRecord]
        do { records = try CSVParser.parse(try text(of: url, encoding: encoding)) } catch {
            throw EmotionModelError("\(url.path): \(error)")
        }
        guard let header = records.first else { throw EmotionModelError("\(url.path): the file is empty") }
        guard let index = header.fields.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).unicodeScalars.elementsEqual(column.unicodeScalars) }) else {
            throw EmotionModelError("\(url.path): no column \(Excerpt.quoted(column, limit: 40)); " + DatasetError.headerSummary(header.fields, missing: [column]))
        }
        return try records.dropFirst().map { r in
            if let problem = r.problem { throw EmotionModelError("\(url.path), line \(r.line): \(problem)") }
            guard index < r.fields.count else { throw EmotionModelError("\(url.path), line \(r.line): no \"\(column)\" field") }
            return r.fields[index]
        }
    }

    /// The file's text, UTF-8 or cp949 (detected unless `encoding` says which).
    private static func text(of url: URL, encoding: TextEncoding?) throws -> String {
        let bytes: [UInt8]
        do { bytes = try ReadFile.bytes(url) } catch {
            throw EmotionModelError("\(error)")
        }
        do { return try TextDecoder.decode(bytes, as: encoding).text } catch {
            throw EmotionModelError("\(url.path): \(error)")
        }
    }
}

/// The by-hand full-size check: a model's logits against PyTorch's on the same batch.
public enum ParityCheck {
    public struct Result: Sendable {
        public let discrepancy: Discrepancy
        public let seconds: Double
        public let batch: (Int, Int)
        public var passed: Bool { discrepancy.withinTolerance }
        public var summary: String {
            "\(passed ? "PASS" : "FAIL"): logits of a \(batch.0) x \(batch.1) batch vs PyTorch: \(discrepancy); forward took \(String(format: "%.3f", seconds)) s"
        }
    }

    public static func run(modelDirectory: URL, reference: URL, rtol: Float) throws -> Result {
        let (model, _) = try BertClassifier.load(directory: modelDirectory)
        let ref = try SafeTensorsFile(contentsOf: reference)
        guard let shape = ref.info("input_ids")?.shape, shape.count == 2 else {
            throw EmotionModelError("\(reference.path): no 2-D input_ids")
        }
        let (B, T) = (shape[0], shape[1])
        let mask = try ref.ints("attention_mask")
        let lengths = (0..<B).map { b in Int32(mask[(b * T)..<((b + 1) * T)].prefix { $0 == 1 }.count) }
        let batch = TokenBatch(batchSize: B, length: T, tokenIds: try ref.ints("input_ids").map { Int32($0) },
                               segmentIds: try ref.ints("token_type_ids").map { Int32($0) }, validLength: lengths)
        let runner = try BertRunner(model: model, maxBatch: B, maxLength: T, training: false)
        let start = Date()
        let logits = Array(try runner.forward(batch))
        let seconds = Date().timeIntervalSince(start)
        return Result(discrepancy: Discrepancy(logits, try ref.floats("logits"), atol: 1e-6, rtol: rtol), seconds: seconds, batch: (B, T))
    }
}

extension DatasetSplit {
    /// Every example as test data and none for training: for scoring a model on data it never saw
    /// (every test example then counts as unseen).
    init(allTest examples: [Example]) {
        mode = .random
        seed = 0
        testFraction = 1
        trainIndices = []
        testIndices = Array(examples.indices)
        train = []
        test = examples
        testSeenInTraining = [Bool](repeating: false, count: examples.count)
    }
}
