import BERT
import Foundation
import Kernels
import SafeTensors
import SentencePiece

/// What a training run reports as it goes.
public enum TrainingEvent: Sendable {
    /// Training (re)starts at `epoch` (1-based), batch `batch` (0-based) of `batchesPerEpoch`.
    case started(epoch: Int, batch: Int, batchesPerEpoch: Int, totalSteps: Int)
    /// A training batch finished: 1-based epoch and batch, its loss, the running accuracy of the epoch.
    case batch(epoch: Int, batch: Int, of: Int, loss: Float, runningAccuracy: Double, learningRate: Float)
    /// A test batch finished.
    case evaluating(epoch: Int, batch: Int, of: Int)
    /// An epoch finished and its checkpoint is on disk.
    case epochFinished(TrainingReport.Epoch)
    /// The run was asked to stop; a checkpoint at the current step is on disk.
    case interrupted(epoch: Int, batch: Int)
}

/// Fine-tunes an `EmotionModel` as the seed does: batches in data order, AdamW with weight decay
/// (none on biases and LayerNorm), a cosine schedule with warm-up, gradient clipping, cross-entropy.
///
/// After every epoch the model is evaluated on the test examples and a checkpoint is written
/// atomically into `directory` (`checkpoint.safetensors`: weights, AdamW moments and the run's
/// state; plus the loadable model files). `resume` continues an interrupted run exactly: batches and
/// dropout masks depend only on the step, so the result equals an uninterrupted run.
public final class Trainer {
    public let model: EmotionModel
    public let options: TrainingOptions
    public let directory: URL
    private let step: TrainStep
    private var state: State

    /// Where a run stands; saved in every checkpoint.
    struct State: Codable, Equatable {
        var epoch = 0            // 0-based epoch in progress
        var batch = 0            // next batch within it
        var step = 0             // optimizer steps taken
        var epochLossSum = 0.0
        var epochCorrect = 0
        var epochSeen = 0
        var epochSeconds = 0.0
        var history: [TrainingReport.Epoch] = []
        var options: TrainingOptions
        var dataFingerprint: UInt64
    }

    public static let checkpointName = "checkpoint.safetensors"

    /// - Parameter dataFingerprint: identifies the training data, so a resume with other data is refused.
    public init(model: EmotionModel, options: TrainingOptions, directory: URL, dataFingerprint: UInt64) throws {
        try options.validate()
        let config = model.classifier.config
        guard options.maxLength <= config.maxPositionEmbeddings else {
            throw TrainingError.invalidOption("max length \(options.maxLength) exceeds the model's \(config.maxPositionEmbeddings) positions")
        }
        self.model = model
        self.options = options
        self.directory = directory
        // BERT's own dropout as its config says; the seed's rate before the classifier.
        var rates = DropoutRates(config: config)
        rates.classifier = options.dropout
        step = try TrainStep(model: model.classifier, maxBatch: options.batchSize, maxLength: options.maxLength,
                             dropout: rates, weightDecay: Float(options.weightDecay),
                             maxGradNorm: Float(options.maxGradNorm), seed: options.seed)
        state = State(options: options, dataFingerprint: dataFingerprint)
    }

    /// The history of finished epochs.
    public var history: [TrainingReport.Epoch] { state.history }

    /// Loads the checkpoint in `directory` into this trainer. Returns false if there is none.
    @discardableResult
    public func resume() throws -> Bool {
        let url = directory.appendingPathComponent(Self.checkpointName)
        guard FileManager.default.fileExists(atPath: url.path) else { return false }
        let file = try SafeTensorsFile(contentsOf: url)
        guard let json = file.metadata["state"], let saved = try? JSONDecoder().decode(State.self, from: Data(json.utf8)) else {
            throw TrainingError.checkpoint("\(url.path) has no readable training state")
        }
        guard saved.dataFingerprint == state.dataFingerprint else {
            throw TrainingError.checkpoint("\(url.path) was made with different training data; use another output directory or delete it")
        }
        guard saved.options == options else {
            throw TrainingError.checkpoint("\(url.path) was made with other options (\(saved.options)); resume with the same options")
        }
        let w = model.classifier.weights, adam = step.optimizer
        for entry in w.layout.entries {
            for (prefix, buffer) in [("", w), ("adam.m.", adam.m), ("adam.v.", adam.v)] {
                try file.copyFloats(prefix + entry.name, into: UnsafeMutableBufferPointer(start: buffer[entry.offset], count: entry.count))
            }
        }
        adam.restore(step: saved.step)
        state = saved
        state.options = options
        return true
    }

    private func saveCheckpoint() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var writer = try model.classifier.safetensors()
        let adam = step.optimizer
        for entry in adam.m.layout.entries {
            try writer.add("adam.m." + entry.name, shape: entry.shape, floats: UnsafeBufferPointer(start: adam.m[entry.offset], count: entry.count))
            try writer.add("adam.v." + entry.name, shape: entry.shape, floats: UnsafeBufferPointer(start: adam.v[entry.offset], count: entry.count))
        }
        writer.metadata["state"] = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        try writer.write(to: directory.appendingPathComponent(Self.checkpointName))
        try model.save(directory: directory, classifierDropout: options.dropout)
    }

    /// Trains until the last epoch or until `shouldStop` returns true (checked after every batch).
    /// Returns true when all epochs finished.
    public func run(train: [Example], test: [Example], onEvent: (TrainingEvent) -> Void = { _ in },
                    shouldStop: () -> Bool = { false }) throws -> Bool {
        guard !train.isEmpty else { throw TrainingError.emptyData("no training examples") }
        let bs = options.batchSize
        let batchesPerEpoch = (train.count + bs - 1) / bs
        let totalSteps = batchesPerEpoch * options.epochs
        let schedule = CosineSchedule(peak: Float(options.learningRate), totalSteps: totalSteps, warmupRatio: options.warmupRatio)
        // Every batch is built once: the order is the same each epoch (the seed's DataLoader does
        // not shuffle), so a training step allocates nothing.
        // Sentences are tokenized once, on all cores.
        let trainIds = model.tokenizer.encode(train.map(\.text), maxLength: options.maxLength)
        let testIds = model.tokenizer.encode(test.map(\.text), maxLength: options.maxLength)
        let batches = stride(from: 0, to: train.count, by: bs).map { lo in
            let rows = lo..<min(train.count, lo + bs)
            return (batch: makeBatch(Array(trainIds[rows])), labels: train[rows].map { Int32($0.label) })
        }
        // The test batches too, and one inference runner for every epoch's evaluation.
        let testBatches = stride(from: 0, to: test.count, by: bs).map { lo in
            makeBatch(Array(testIds[lo..<min(test.count, lo + bs)]))
        }
        // Activations sized for the longest sentence the epoch (and the test set) actually holds,
        // not for maxLength: padding is never stored, so this is all a step can touch.
        func longest(_ batches: [TokenBatch]) -> Int { max(1, batches.map { Int($0.validLength.max() ?? 1) }.max() ?? 1) }
        try step.runner.resize(maxBatch: min(bs, train.count), maxLength: longest(batches.map(\.batch)))
        let evalRunner = try BertRunner(model: model.classifier, maxBatch: bs, maxLength: longest(testBatches), training: false)
        onEvent(.started(epoch: state.epoch + 1, batch: state.batch, batchesPerEpoch: batchesPerEpoch, totalSteps: totalSteps))

        while state.epoch < options.epochs {
            let epochStart = Date()
            while state.batch < batchesPerEpoch {
                let (batch, labels) = batches[state.batch]
                let lr = schedule.learningRate(at: state.step)
                let result: TrainStep.Result
                do { result = try step(batch, labels: labels, step: state.step, learningRate: lr) } catch let error as BertError {
                    guard case .diverged = error else { throw error }
                    let kept = state.history.isEmpty ? "no checkpoint was written" : "the checkpoint of epoch \(state.history.count) in \(directory.path) is kept"
                    throw TrainingError.diverged("epoch \(state.epoch + 1), batch \(state.batch + 1): \(error); \(kept). Try a lower learning rate.")
                }
                state.step += 1
                state.batch += 1
                state.epochLossSum += Double(result.loss)
                state.epochCorrect += result.correct
                state.epochSeen += labels.count
                let loss = result.loss
                onEvent(.batch(epoch: state.epoch + 1, batch: state.batch, of: batchesPerEpoch, loss: loss,
                               runningAccuracy: Double(state.epochCorrect) / Double(state.epochSeen), learningRate: lr))
                if shouldStop() && state.batch < batchesPerEpoch {
                    state.epochSeconds += Date().timeIntervalSince(epochStart)
                    try saveCheckpoint()
                    onEvent(.interrupted(epoch: state.epoch + 1, batch: state.batch))
                    return false
                }
            }
            let testAccuracy = try accuracy(test, batches: testBatches, runner: evalRunner) { b, n in
                onEvent(.evaluating(epoch: self.state.epoch + 1, batch: b, of: n))
            }
            let record = TrainingReport.Epoch(
                epoch: state.epoch + 1, trainLoss: state.epochLossSum / Double(batchesPerEpoch),
                trainAccuracy: Double(state.epochCorrect) / Double(max(1, state.epochSeen)),
                testAccuracy: testAccuracy.all, unseenTestAccuracy: testAccuracy.unseen,
                seconds: state.epochSeconds + Date().timeIntervalSince(epochStart))
            state.history.append(record)
            state.epoch += 1
            state.batch = 0
            state.epochLossSum = 0; state.epochCorrect = 0; state.epochSeen = 0; state.epochSeconds = 0
            try saveCheckpoint()
            onEvent(.epochFinished(record))
            if shouldStop() && state.epoch < options.epochs {
                onEvent(.interrupted(epoch: state.epoch + 1, batch: 0))
                return false
            }
        }
        return true
    }

    /// Test examples the evaluation marks as unseen in training (set by the caller; empty = all seen).
    public var unseenTest: Set<Int> = []

    /// The predicted label ids of the test examples at the last evaluation (after the last epoch,
    /// the final model's), so the final report need not classify them again.
    public private(set) var lastTestPredictions: [Int] = []

    private func accuracy(_ test: [Example], batches: [TokenBatch], runner: BertRunner,
                          progress: (Int, Int) -> Void) throws -> (all: Double, unseen: Double?) {
        guard !test.isEmpty else { return (.nan, nil) }
        let K = model.classifier.numLabels
        var predicted: [Int] = []
        predicted.reserveCapacity(test.count)
        for (b, batch) in batches.enumerated() {
            let logits = try runner.forward(batch)
            for row in 0..<batch.batchSize { predicted.append(argmax(logits.baseAddress! + row * K, count: K)) }
            progress(b + 1, batches.count)
        }
        lastTestPredictions = predicted
        let correct = test.indices.filter { predicted[$0] == test[$0].label }
        let unseenCorrect = correct.count { unseenTest.contains($0) }
        return (Double(correct.count) / Double(test.count), unseenTest.isEmpty ? nil : Double(unseenCorrect) / Double(unseenTest.count))
    }

    private func makeBatch(_ sentences: [EncodedSentence]) -> TokenBatch {
        if options.cutPadding { return TokenBatch.cutToLongest(sentences) }
        let T = options.maxLength
        return TokenBatch(batchSize: sentences.count, length: T,
                          tokenIds: sentences.flatMap { $0.tokenIds.prefix(T) },
                          segmentIds: sentences.flatMap { $0.segmentIds.prefix(T) },
                          validLength: sentences.map { Int32($0.validLength) })
    }
}
