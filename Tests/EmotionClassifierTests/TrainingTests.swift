import BERT
import Foundation
import Testing
@testable import EmotionClassifier

/// Training, checkpoints and saved models, on a tiny from-scratch BERT and the built-in sample.
struct TrainingTests {
    static var tinyShape: ScratchShape {
        var s = ScratchShape()
        (s.hiddenSize, s.layers, s.heads, s.intermediateSize) = (16, 1, 2, 24)
        return s
    }

    static var options: TrainingOptions {
        var o = TrainingOptions()
        o.epochs = 2
        o.batchSize = 32
        o.maxLength = 24
        o.learningRate = 1e-3
        o.dropout = 0.1      // dropout on, so resuming must also reproduce the masks
        return o
    }

    static func job(_ dir: URL, options: TrainingOptions = options, splitSeed: UInt32 = 32) throws -> TrainingJob {
        var data = DataOptions()
        data.splitSeed = splitSeed
        return try TrainingJob(data: data, model: .scratch(tinyShape), options: options, output: dir)
    }

    static func weights(_ job: TrainingJob) -> [Float] {
        let w = job.trainer.model.classifier.weights
        return Array(UnsafeBufferPointer(start: w.base, count: w.count))
    }

    @Test func resumingAnInterruptedRunGivesTheSameWeights() throws {
        let straight = try temporaryDirectory(), interrupted = try temporaryDirectory()
        let a = try Self.job(straight)
        let report = try #require(try a.run(resume: false))
        #expect(report.history.count == 2)

        // Stop after the 3rd batch of epoch 1 (mid-epoch), resume, stop at the end of epoch 1, resume again.
        var batches = 0
        let b = try Self.job(interrupted)
        #expect(try b.run(resume: false, onEvent: { if case .batch = $0 { batches += 1 } }, shouldStop: { batches == 3 }) == nil)
        var epochsDone = 0
        let c = try Self.job(interrupted)
        #expect(try c.run(resume: true, onEvent: { if case .epochFinished = $0 { epochsDone += 1 } }, shouldStop: { epochsDone == 1 }) == nil)
        let d = try Self.job(interrupted)
        let resumed = try #require(try d.run(resume: true))

        #expect(Self.weights(d) == Self.weights(a), "resumed weights differ from the uninterrupted run")
        #expect(resumed.history.map(\.trainLoss) == report.history.map(\.trainLoss))
        #expect(resumed.history.map(\.testAccuracy) == report.history.map(\.testAccuracy))
    }

    @Test func resumeRefusesOtherDataOrOptions() throws {
        let dir = try temporaryDirectory()
        var stop = false
        _ = try Self.job(dir).run(resume: false, onEvent: { if case .batch = $0 { stop = true } }, shouldStop: { stop })
        #expect { try Self.job(dir, splitSeed: 7).run(resume: true) } throws: { "\($0)".contains("different training data") }
        var other = Self.options
        other.learningRate = 5e-4
        #expect { try Self.job(dir, options: other).run(resume: true) } throws: { "\($0)".contains("other options") }
        #expect { try Self.job(try temporaryDirectory()).run(resume: true) } throws: { "\($0)".contains("nothing to resume") }
    }

    @Test func savedModelReloadsAndPredictsTheSame() throws {
        let dir = try temporaryDirectory()
        var options = Self.options
        options.learningRate = 3e-3   // enough to predict more than one class, so the checks below can fail
        options.epochs = 8
        let job = try Self.job(dir, options: options)
        _ = try job.run(resume: false)
        let texts = ["오늘 정말 행복해!", "그게 사실이야? 믿을 수가 없어.", "  ", "ㅋㅋㅋ 진짜 웃겨", String(repeating: "아주 긴 문장 ", count: 40)]
        let before = try job.trainer.model.predict(texts)
        let loaded = try EmotionModel.load(directory: dir)
        let after = try loaded.predict(texts)
        #expect(before == after)
        #expect(loaded.tokenizer.pipeline == .gluonnlp && loaded.maxLength == options.maxLength)
        for file in ["config.json", "model.safetensors", "spiece.model", "report.json", "report.html", Trainer.checkpointName] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path), "\(file) missing")
        }
        let report = try TrainingReport.read(from: dir.appendingPathComponent("report.json"))
        #expect(report.history.count == options.epochs && report.evaluation != nil)
        // The report reuses the last epoch's test predictions: they must be the final model's.
        #expect(report.evaluation == (try loaded.evaluate(job.split)))
        #expect(Set(job.trainer.lastTestPredictions).count > 1, "the model predicts a single class: this test is too weak")
        // The message and probabilities a user sees.
        let p = after[0]
        #expect(abs(p.probabilities.reduce(0, +) - 1) < 1e-5)
        #expect(loaded.message(for: p).unicodeScalars.elementsEqual(">> 입력하신 내용에서 \(LabelSet.seed.displayNames[p.id]) 느껴집니다.".unicodeScalars))
    }

    @Test func paddingToMaxLengthTrainsTheSameModel() throws {
        var padded = Self.options
        padded.cutPadding = false
        padded.epochs = 1
        var cut = padded
        cut.cutPadding = true
        let a = try Self.job(try temporaryDirectory(), options: padded), b = try Self.job(try temporaryDirectory(), options: cut)
        _ = try a.run(resume: false)
        _ = try b.run(resume: false)
        // Only summation order differs. Weights whose gradient is pure rounding noise (the attention
        // key bias, which softmax ignores) may move differently under Adam, so compare what the model does.
        let texts = a.split.test.map(\.text)
        let pa = try a.trainer.model.predict(texts).flatMap(\.probabilities)
        let pb = try b.trainer.model.predict(texts).flatMap(\.probabilities)
        let d = zip(pa, pb).map { abs($0 - $1) }.max() ?? .infinity
        print("padded vs cut: max probability difference \(d), losses \(a.trainer.history.map(\.trainLoss)) vs \(b.trainer.history.map(\.trainLoss))")
        #expect(d < 1e-4, "max probability difference \(d)")
        #expect(abs(a.trainer.history[0].trainLoss - b.trainer.history[0].trainLoss) < 1e-5)
    }

    @Test func invalidOptionsAreNamed() throws {
        var o = Self.options
        o.batchSize = 0
        #expect { try Self.job(try temporaryDirectory(), options: o) } throws: { "\($0)".contains("batch size 0") }
        o = Self.options
        o.maxLength = 100   // the from-scratch model has max(64, maxLength) positions, so this is fine
        _ = try Self.job(try temporaryDirectory(), options: o)
        o.dropout = 1
        #expect { try Self.job(try temporaryDirectory(), options: o) } throws: { "\($0)".contains("dropout 1") }
    }
}
