import Foundation
import Testing
import Kernels
@testable import BERT

/// The model under each matrix-product backend this build has (OpenBLAS and oneDNN on Linux):
/// PyTorch parity with the parity tests' own tolerances, and bit-reproducible training.
struct GEMMBackendTests {
    /// The PyTorch parity tests (forward layer by layer, loss and every gradient, ten AdamW
    /// steps) inside a context with the backend, on 2 threads.
    @Test(arguments: GEMMBackend.available)
    func parityWithPyTorch(backend: GEMMBackend) throws {
        let parity = try BertParityTests()
        try ComputeContext(threads: 2, gemm: backend).run {
            try parity.forwardMatchesPyTorchLayerByLayer()
            try parity.lossAndEveryGradientMatchPyTorch()
            try parity.tenOptimizerStepsMatchPyTorch()
        }
    }

    /// Trains a small BERT (its products large enough to be split over 2 threads and to reach the
    /// library rather than the few-rows kernel) for a few steps with dropout, from the same seed.
    static func train(backend: GEMMBackend, threads: Int) throws -> [Float] {
        let config = BertConfig(vocabSize: 97, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4,
                                intermediateSize: 256, maxPositionEmbeddings: 48, hiddenDropoutProb: 0.1,
                                attentionProbsDropoutProb: 0.1, classifierDropout: 0.5, numLabels: 7)
        let model = try BertClassifier(config: config, seed: 5)
        let context = ComputeContext(threads: threads, gemm: backend)
        let step = try TrainStep(model: model, maxBatch: 16, maxLength: 40, seed: 9, context: context)
        #expect(step.runner.context == context)
        var rng = SeededGenerator(seed: 13)
        for s in 0..<3 {
            let lengths = (0..<16).map { _ in Int32(8 + rng.next() % 33) }
            let ids = (0..<16 * 40).map { _ in Int32(rng.next() % 97) }
            let labels = (0..<16).map { _ in Int32(rng.next() % 7) }
            let batch = TokenBatch(batchSize: 16, length: 40, tokenIds: ids, validLength: lengths)
            _ = try step(batch, labels: labels, step: s, learningRate: 1e-3)
        }
        return Array(UnsafeBufferPointer(start: model.weights.base, count: model.weights.count))
    }

    /// Two runs with the same backend and thread count give the same weights bit for bit.
    @Test(arguments: GEMMBackend.available)
    func trainingIsBitReproducible(backend: GEMMBackend) throws {
        let first = try Self.train(backend: backend, threads: 2), second = try Self.train(backend: backend, threads: 2)
        let differing = zip(first, second).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(first.count == second.count && differing == 0, "\(backend): \(differing) of \(first.count) weights differ")
        // The training moved the weights (so the comparison compares something).
        let model = try BertClassifier(config: BertConfig(vocabSize: 97, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4,
                                                          intermediateSize: 256, maxPositionEmbeddings: 48, hiddenDropoutProb: 0.1,
                                                          attentionProbsDropoutProb: 0.1, classifierDropout: 0.5, numLabels: 7), seed: 5)
        let initial = Array(UnsafeBufferPointer(start: model.weights.base, count: model.weights.count))
        #expect(zip(first, initial).filter { $0 != $1 }.count > first.count / 2)
    }
}
