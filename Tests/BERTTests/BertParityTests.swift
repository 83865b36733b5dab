import Foundation
import Testing
import Kernels
import SafeTensors
@testable import BERT

/// The tiny random BERT (2 layers, hidden 32, 4 heads, intermediate 37, K = 7) against
/// `BertForSequenceClassification` in PyTorch; fixtures from Scripts/make_bert_fixtures.py.
struct BertParityTests {
    let fixtures: URL
    let ref: SafeTensorsFile

    init() throws {
        fixtures = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        ref = try SafeTensorsFile(contentsOf: fixtures.appendingPathComponent("tiny-reference.safetensors"))
    }

    func check(_ got: [Float], _ want: [Float], _ name: String, atol: Float, rtol: Float) {
        let d = Discrepancy(got, want, atol: atol, rtol: rtol)
        print("\(name): \(d)")
        #expect(d.withinTolerance, "\(name): \(d)")
    }

    static func batch(_ file: SafeTensorsFile, prefix: String = "") throws -> (TokenBatch, [Int32]) {
        let ids = file.info(prefix + "input_ids").map { $0.shape } ?? []
        let (B, T) = (ids[0], ids[1])
        let mask = try file.ints(prefix + "attention_mask")
        // The seed's mask is a prefix of ones: turn it into lengths, and check it is one.
        var lengths: [Int32] = []
        for b in 0..<B {
            let row = mask[(b * T)..<((b + 1) * T)]
            let v = row.prefix { $0 == 1 }.count
            #expect(row.dropFirst(v).allSatisfy { $0 == 0 })
            lengths.append(Int32(v))
        }
        let batch = TokenBatch(batchSize: B, length: T,
                               tokenIds: try file.ints(prefix + "input_ids").map { Int32($0) },
                               segmentIds: try file.ints(prefix + "token_type_ids").map { Int32($0) },
                               validLength: lengths)
        let labels = file.info(prefix + "labels") == nil ? [] : try file.ints(prefix + "labels").map { Int32($0) }
        return (batch, labels)
    }

    func loadTiny() throws -> BertClassifier {
        let (model, report) = try BertClassifier.load(directory: fixtures.appendingPathComponent("tiny"))
        #expect(report.unusedKeys.isEmpty && !report.freshHead)
        return model
    }

    @Test func forwardMatchesPyTorchLayerByLayer() throws {
        let model = try loadTiny()
        let (batch, _) = try Self.batch(ref)
        let runner = try BertRunner(model: model, maxBatch: 4, maxLength: 16, training: false, keepIntermediates: true)
        try runner.forward(batch)
        // A runner whose layers share one buffer set gives the same logits.
        let lean = try BertRunner(model: model, maxBatch: 4, maxLength: 16, training: false)
        #expect(lean.activationBytes < runner.activationBytes)
        check(Array(try lean.forward(batch)), try ref.floats("logits"), "logits (shared layer buffers)", atol: 1e-4, rtol: 1e-4)
        var names = ["emb.out", "pooler", "logits"]
        for l in 0..<model.config.numHiddenLayers {
            names += ["attn.probs", "attn.context", "attn.out", "ffn.act", "out"].map { "layer\(l).\($0)" }
        }
        // Padded positions are not computed (they are masked and never reach a real token), so
        // compare the real tokens' values: zero the reference where ours is padding.
        let T = batch.length
        for name in names {
            let ours = try #require(runner.intermediate(name))
            var theirs = try ref.floats(name)
            if name != "pooler" && name != "logits" {
                let perSequence = theirs.count / batch.batchSize
                for b in 0..<batch.batchSize {
                    let L = Int(batch.validLength[b])
                    for i in 0..<perSequence {
                        // [T, width] rows, or for probabilities [NH, T, T]: row t and column j.
                        let real = name.hasSuffix("attn.probs")
                            ? (i / T) % T < L && i % T < L
                            : i / (perSequence / T) < L
                        if !real { theirs[b * perSequence + i] = 0 }
                    }
                }
            }
            check(ours, theirs, name, atol: 1e-4, rtol: 1e-4)
        }
    }

    @Test func lossAndEveryGradientMatchPyTorch() throws {
        let model = try loadTiny()
        let (batch, labels) = try Self.batch(ref)
        let runner = try BertRunner(model: model, maxBatch: 3, maxLength: 11, training: true)
        try runner.forward(batch, mode: .training(seed: 1, step: 0))  // dropout is 0 in this config
        let loss = try runner.backward(labels: labels)
        check([loss], try ref.floats("loss"), "loss", atol: 1e-4, rtol: 0)
        check(try #require(runner.intermediate("logits")), try ref.floats("logits"), "logits", atol: 1e-4, rtol: 0)
        let grads = try #require(runner.grads)
        for entry in model.layout.entries {
            let got = Array(try #require(grads.tensor(entry.name)))
            check(got, try ref.floats("grad." + entry.name), "grad " + entry.name, atol: 1e-5, rtol: 1e-3)
        }
    }

    /// Ten steps of AdamW + clipping + cosine schedule with warm-up, each on a new batch.
    @Test func tenOptimizerStepsMatchPyTorch() throws {
        let train = try SafeTensorsFile(contentsOf: fixtures.appendingPathComponent("tiny-train.safetensors"))
        let meta = train.metadata
        let steps = try #require(Int(meta["steps"] ?? "")), lr = try #require(Float(meta["lr"] ?? ""))
        let maxNorm = try #require(Float(meta["max_grad_norm"] ?? "")), warmup = try #require(Double(meta["warmup_ratio"] ?? ""))
        let model = try loadTiny()
        // The library's training step, as the trainer and the benchmark call it.
        let trainStep = try TrainStep(model: model, maxBatch: 4, maxLength: 9,
                                      weightDecay: try #require(Float(meta["weight_decay"] ?? "")),
                                      eps: try #require(Float(meta["eps"] ?? "")), maxGradNorm: maxNorm, seed: 0)
        let schedule = CosineSchedule(peak: lr, totalSteps: steps, warmupRatio: warmup)
        var losses: [Float] = [], lrs: [Float] = [], norms: [Float] = []
        for s in 0..<steps {
            let (batch, labels) = try Self.batch(train, prefix: "step\(s).")
            lrs.append(schedule.learningRate(at: s))
            let result = try trainStep(batch, labels: labels, step: s, learningRate: lrs.last!)
            losses.append(result.loss)
            norms.append(result.gradNorm)
        }
        check(lrs, try train.floats("lrs"), "learning rates", atol: 1e-9, rtol: 1e-6)
        check(norms, try train.floats("grad_norms"), "gradient norms", atol: 1e-4, rtol: 1e-4)
        #expect(try train.floats("grad_norms").contains { $0 > maxNorm }, "the fixture must exercise clipping")
        check(losses, try train.floats("losses"), "losses", atol: 1e-4, rtol: 0)
        for entry in model.layout.entries {
            let got = Array(UnsafeBufferPointer(start: model.weights[entry.offset], count: entry.count))
            check(got, try train.floats("final." + entry.name), "final " + entry.name, atol: 1e-4, rtol: 0)
        }
    }

    /// The last layer run for [CLS] only gives the full layer's logits, loss and every gradient, with
    /// dropout active (the same masks), on a batch of uneven lengths; and its inference logits.
    @Test func lastLayerForFirstTokenOnlyMatchesTheFullLayer() throws {
        let config = BertConfig(vocabSize: 50, hiddenSize: 24, numHiddenLayers: 2, numAttentionHeads: 3,
                                intermediateSize: 40, maxPositionEmbeddings: 16, hiddenDropoutProb: 0.2,
                                attentionProbsDropoutProb: 0.2, classifierDropout: 0.5, numLabels: 4)
        let model = try BertClassifier(config: config, seed: 3)
        let lengths: [Int32] = [9, 1, 5, 7], T = 9
        var rng = SeededGenerator(seed: 8)
        let ids = (0..<lengths.count * T).map { _ in Int32(rng.next() % 50) }
        let batch = TokenBatch(batchSize: lengths.count, length: T, tokenIds: ids, validLength: lengths)
        let labels: [Int32] = [0, 3, 1, 2]
        func run(firstOnly: Bool, training: Bool) throws -> (logits: [Float], loss: Float, grads: [Float]) {
            let runner = try BertRunner(model: model, maxBatch: 4, maxLength: T, training: training,
                                        lastLayerFirstTokenOnly: firstOnly)
            guard training else { return (Array(try runner.forward(batch)), 0, []) }
            let logits = Array(try runner.forward(batch, mode: .training(seed: 4, step: 2)))
            let loss = try runner.backward(labels: labels)
            let g = try #require(runner.grads)
            return (logits, loss, Array(UnsafeBufferPointer(start: g.base, count: g.count)))
        }
        for training in [true, false] {
            let full = try run(firstOnly: false, training: training), first = try run(firstOnly: true, training: training)
            check(first.logits, full.logits, "logits (training: \(training))", atol: 1e-6, rtol: 1e-5)
            #expect(Set(full.logits).count > 1)
            if training {
                check([first.loss], [full.loss], "loss", atol: 1e-6, rtol: 1e-5)
                check(first.grads, full.grads, "every gradient", atol: 1e-6, rtol: 1e-4)
                #expect(full.grads.contains { $0 != 0 })
            }
        }
    }

    /// Training is bit-reproducible run to run (dropout everywhere, two threads), and a runner
    /// re-sized for the longest sequence its batches hold (`resize`, what the trainer does) trains
    /// bit for bit as one sized for the maximum, on batches padded beyond its new length.
    @Test func trainingIsBitReproducibleAndResizingChangesNothing() throws {
        let config = BertConfig(vocabSize: 50, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2,
                                intermediateSize: 40, maxPositionEmbeddings: 16, hiddenDropoutProb: 0.2,
                                attentionProbsDropoutProb: 0.2, classifierDropout: 0.5, numLabels: 3)
        let lengths: [Int32] = [7, 1, 5, 9, 3], T = 12  // padded to 12; the longest sentence is 9
        var rng = SeededGenerator(seed: 17)
        let ids = (0..<lengths.count * T).map { _ in Int32(rng.next() % 50) }
        let batch = TokenBatch(batchSize: lengths.count, length: T, tokenIds: ids, validLength: lengths)
        let labels: [Int32] = [0, 2, 1, 1, 0]
        func train(resizeTo: Int?) throws -> [UInt32] {
            let model = try BertClassifier(config: config, seed: 3)
            let step = try TrainStep(model: model, maxBatch: 5, maxLength: 16, seed: 6, context: ComputeContext(threads: 2))
            if let resizeTo { try step.runner.resize(maxBatch: 5, maxLength: resizeTo) }
            for s in 0..<3 { _ = try step(batch, labels: labels, step: s, learningRate: 1e-2) }
            return (0..<model.layout.count).map { model.weights.base[$0].bitPattern }
        }
        let first = try train(resizeTo: nil), again = try train(resizeTo: nil), resized = try train(resizeTo: 9)
        #expect(first == again, "two identical runs differ")
        #expect(first == resized, "the re-sized runner trains differently")
        // A runner re-sized below the batch's longest sentence refuses it.
        let small = try BertRunner(model: try BertClassifier(config: config, seed: 3), maxBatch: 5, maxLength: 16, training: true)
        try small.resize(maxBatch: 5, maxLength: 8)
        #expect { try small.forward(batch, mode: .training(seed: 1, step: 0)) } throws: { "\($0)".contains("does not fit") }
    }

    /// Clipping inside AdamW (`gradScale`) gives bit for bit what scaling the gradients first does.
    @Test func clippingInsideAdamWEqualsClippingFirst() throws {
        let model = try loadTiny()
        var rng = SeededGenerator(seed: 5)
        let grads = ParameterBuffer(layout: model.layout)
        for i in 0..<grads.count { grads.base[i] = rng.nextGaussian() }
        let twin = try loadTiny()
        let fused = AdamW(layout: model.layout), separate = AdamW(layout: model.layout)
        for step in 0..<3 {
            let norm = gradNorm(grads)
            let coef = clipCoefficient(norm: norm, maxNorm: 1)
            #expect(coef < 1, "the gradients must be large enough to be clipped")
            fused.update(params: model.weights, grads: grads, lr: 1e-3, gradScale: coef)
            let scaled = ParameterBuffer(layout: model.layout)
            scaled.copy(from: grads)
            #expect(clipGradNorm(scaled, maxNorm: 1) == norm)
            separate.update(params: twin.weights, grads: scaled, lr: 1e-3)
            for i in 0..<grads.count { grads.base[i] *= Float(step + 2) }
        }
        #expect((0..<model.layout.count).allSatisfy { model.weights.base[$0] == twin.weights.base[$0] })
        #expect((0..<model.layout.count).allSatisfy { fused.v.base[$0] == separate.v.base[$0] })
    }

    @Test func cosineScheduleMatchesTransformers() {
        // get_cosine_schedule_with_warmup(num_warmup_steps=10, num_training_steps=100), lr 5e-5.
        let s = CosineSchedule(peak: 5e-5, totalSteps: 100, warmupRatio: 0.1)
        #expect(s.warmupSteps == 10)
        #expect(s.learningRate(at: 0) == 0)
        #expect(abs(s.learningRate(at: 5) - 2.5e-5) < 1e-11)
        #expect(s.learningRate(at: 10) == 5e-5)
        #expect(abs(s.learningRate(at: 55) - 2.5e-5) < 1e-11)   // half-way down the half cosine
        #expect(abs(s.learningRate(at: 100)) < 1e-12)
    }
}
