import Dispatch
import Kernels

/// One optimizer step as the seed takes it: zero the gradients → forward with dropout →
/// cross-entropy → backward → clip the global gradient norm → AdamW at the scheduled rate.
///
/// The trainer, the PyTorch parity test and the benchmark all call this one step, so what is tested
/// and measured is what users run. A step whose loss or gradient norm is not finite changes no
/// weight and throws `BertError.diverged`.
public final class TrainStep {
    public let runner: BertRunner
    public let optimizer: AdamW
    public let maxGradNorm: Float
    /// Seeds the dropout masks (with the step number).
    public let seed: UInt64

    /// What one step did.
    public struct Result: Sendable {
        /// Mean cross-entropy of the batch.
        public var loss: Float
        /// Global L2 norm of the gradients before clipping.
        public var gradNorm: Float
        /// Rows whose largest logit is their label.
        public var correct: Int
    }

    /// Wall-clock seconds of each phase of a step (`timePhases`), for the benchmark's profile.
    public struct Phases: Sendable {
        public var zero = 0.0, forward = 0.0, backward = 0.0, clip = 0.0, optimizer = 0.0
        public var total: Double { zero + forward + backward + clip + optimizer }
    }

    /// When set, each step records `lastPhases` (a clock read between phases).
    public var timePhases = false
    public private(set) var lastPhases = Phases()

    /// - Parameters: see `BertRunner.init` and `AdamW.init`; `maxBatch`, `maxLength` size the runner.
    public init(model: BertClassifier, maxBatch: Int, maxLength: Int, dropout: DropoutRates? = nil,
                weightDecay: Float = 0.01, eps: Float = 1e-6, maxGradNorm: Float = 1, seed: UInt64,
                context: ComputeContext = ComputeContext()) throws {
        guard maxGradNorm > 0, maxGradNorm.isFinite else { throw BertError.invalidConfig("gradient clipping norm \(maxGradNorm) must be positive") }
        runner = try BertRunner(model: model, maxBatch: maxBatch, maxLength: maxLength, training: true,
                                dropout: dropout, context: context)
        optimizer = AdamW(layout: model.layout, eps: eps, weightDecay: weightDecay)
        self.maxGradNorm = maxGradNorm
        self.seed = seed
    }

    /// Takes optimizer step number `step` (0-based; it also selects the dropout masks) on `batch`.
    public func callAsFunction(_ batch: TokenBatch, labels: [Int32], step: Int, learningRate: Float) throws -> Result {
        let grads = runner.grads!   // a training runner always has them
        var clock = timePhases ? DispatchTime.now().uptimeNanoseconds : 0
        var phases = Phases()
        func lap(_ phase: WritableKeyPath<Phases, Double>) {
            guard timePhases else { return }
            let now = DispatchTime.now().uptimeNanoseconds
            phases[keyPath: phase] = Double(now - clock) * 1e-9
            clock = now
        }
        runner.context.run {  // on every core: one pass over 4 bytes per parameter
            parallelFor(grads.count, minChunk: 1 << 20) { r in (grads.base + r.lowerBound).update(repeating: 0, count: r.count) }
        }
        lap(\.zero)
        let logits = try runner.forward(batch, mode: .training(seed: seed, step: step))
        var correct = 0
        let K = runner.model.numLabels
        for (b, y) in labels.enumerated() where b < batch.batchSize && argmax(logits.baseAddress! + b * K, count: K) == Int(y) {
            correct += 1
        }
        lap(\.forward)
        let loss = try runner.backward(labels: labels)
        lap(\.backward)
        let norm = runner.context.run { gradNorm(grads) }
        lap(\.clip)
        guard loss.isFinite, norm.isFinite else {
            throw BertError.diverged(step: step, loss: loss, gradNorm: norm)
        }
        runner.context.run {
            optimizer.update(params: runner.model.weights, grads: grads, lr: learningRate,
                             gradScale: clipCoefficient(norm: norm, maxNorm: maxGradNorm))
        }
        lap(\.optimizer)
        lastPhases = phases
        return Result(loss: loss, gradNorm: norm, correct: correct)
    }
}
