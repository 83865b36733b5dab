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
        let job = try TrainingJob(data: data, model: .scratch(tinyShape), options: options, output: dir)
        job.baseline = nil   // BaselineTests cover it; the other tests need only BERT
        return job
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

/// Reports say what ran, never defaults (issue #10), and broken numbers stop with a clear error (#12).
struct WhatRanTests {
    /// A CSV with other column names than the seed's: the built-in sample, columns renamed.
    static func renamedSample() throws -> URL {
        let text = try String(contentsOf: EmotionDataset.builtInSample, encoding: .utf8)
        let body = text.drop { $0 != "\n" }
        return try temporaryFile("문장,감정" + body)
    }

    @Test func reportsRecordTheColumnsSplitAndOptionsThatRan() throws {
        var data = DataOptions(file: try Self.renamedSample())
        data.textColumn = "문장"
        data.labelColumn = "감정"
        data.split = .dedup
        data.splitSeed = 7
        var options = TrainingTests.options
        options.epochs = 1
        options.learningRate = 2e-3
        let dir = try temporaryDirectory()
        let job = try TrainingJob(data: data, model: .scratch(TrainingTests.tinyShape), options: options, output: dir)
        let report = try #require(try job.run(resume: false))
        let saved = try TrainingReport.read(from: dir.appendingPathComponent(TrainingReport.jsonFileName))
        for r in [report, saved] {
            #expect(r.config.data.textColumn.unicodeScalars.elementsEqual("문장".unicodeScalars))
            #expect(r.config.data.labelColumn.unicodeScalars.elementsEqual("감정".unicodeScalars))
            #expect(r.config.split?.mode == .dedup && r.config.split?.seed == 7)
            #expect(r.config.training == options)
        }
        let html = try String(contentsOf: dir.appendingPathComponent(TrainingReport.htmlFileName), encoding: .utf8)
        #expect(html.contains("문장, 감정") && html.contains("0.002"))

        // evaluate: no training options, and with --all-rows no split at all.
        let model = try EmotionModel.load(directory: dir)
        let all = try model.evaluate(data, allRows: true, model: dir.path).report
        #expect(all.config.training == nil && all.config.split == nil)
        #expect(all.config.model == dir.path && all.config.data.textColumn.unicodeScalars.elementsEqual("문장".unicodeScalars))
        let evalDir = try temporaryDirectory()
        try all.write(to: evalDir)
        let evalHTML = try String(contentsOf: evalDir.appendingPathComponent(TrainingReport.htmlFileName), encoding: .utf8)
        #expect(evalHTML.contains("none: every row evaluated") && !evalHTML.contains("Learning rate"))
        let split = try model.evaluate(data, model: dir.path).report
        #expect(split.config.split?.mode == .dedup && split.config.split?.seed == 7 && split.config.training == nil)
    }

    @Test func aDivergingRunStopsWithAClearMessage() throws {
        var options = TrainingTests.options
        options.learningRate = 1e10
        options.warmupRatio = 0
        let dir = try temporaryDirectory()
        let job = try TrainingJob(data: DataOptions(), model: .scratch(TrainingTests.tinyShape), options: options, output: dir)
        #expect { _ = try job.run(resume: false) } throws: { error in
            "\(error)".contains("training diverged") && "\(error)".contains("no checkpoint was written") && "\(error)".contains("lower learning rate")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(Trainer.checkpointName).path))
    }

    @Test func nonFiniteOutputsAreAnErrorNamingTheSentence() throws {
        let dir = try temporaryDirectory()
        var options = TrainingTests.options
        options.epochs = 1
        let job = try TrainingJob(data: DataOptions(), model: .scratch(TrainingTests.tinyShape), options: options, output: dir)
        _ = try job.run(resume: false)
        let model = job.trainer.model
        model.classifier.weights.tensor("classifier.bias")![2] = .nan
        #expect { _ = try model.predict(["괜찮아", "무서워"]) } throws: { "\($0)".contains("sentence 1") && "\($0)".contains("not finite") }
        // And such weights are refused when loaded.
        try model.save(directory: dir)
        #expect { _ = try EmotionModel.load(directory: dir) } throws: { "\($0)".contains("classifier.bias") && "\($0)".contains("non-finite") }
    }

    @Test func modelDirectoriesThatContradictThemselvesAreRefused() throws {
        let dir = try temporaryDirectory()
        var options = TrainingTests.options
        options.epochs = 1
        let job = try TrainingJob(data: DataOptions(), model: .scratch(TrainingTests.tinyShape), options: options, output: dir)
        _ = try job.run(resume: false)
        let configURL = dir.appendingPathComponent("config.json")
        let original = try Data(contentsOf: configURL)
        func withConfig(_ edit: (inout [String: Any]) -> Void) throws {
            var object = try #require(try JSONSerialization.jsonObject(with: original) as? [String: Any])
            edit(&object)
            try JSONSerialization.data(withJSONObject: object).write(to: configURL)
        }
        let cases: [(String, (inout [String: Any]) -> Void, [String])] = [
            ("unknown pipeline", { $0["tokenizer_pipeline"] = "bogus" }, ["tokenizer_pipeline", "bogus"]),
            ("fewer labels than the head", { $0["id2label"] = ["0": "a", "1": "b"] }, ["classifier.weight", "2"]),
            ("more positions", { $0["max_position_embeddings"] = 128 }, ["position_embeddings", "128"]),
            ("forged hidden size", { $0["hidden_size"] = 1_000_000_000 }, ["hidden_size 1000000000"]),
            ("forged vocabulary", { $0["vocab_size"] = 100_000_000 }, ["vocab_size 100000000"]),
            ("forged layers", { $0["num_hidden_layers"] = 100_000 }, ["num_hidden_layers 100000"]),
            ("negative eps", { $0["layer_norm_eps"] = -1 }, ["layer_norm_eps"]),
            ("heads not dividing", { $0["num_attention_heads"] = 3 }, ["num_attention_heads"]),
            ("max_len past positions", { $0["max_len"] = 100_000 }, ["max length 100000"]),
            ("fewer layers than the weights", { $0["num_hidden_layers"] = 0 }, ["bert.encoder.layer.0", "num_hidden_layers 0"]),
            ("a string for a number", { $0["hidden_size"] = "16" }, ["hidden_size"]),
        ]
        for (name, edit, needles) in cases {
            try withConfig(edit)
            #expect(throws: (any Error).self, "\(name)") { _ = try EmotionModel.load(directory: dir) }
            do { _ = try EmotionModel.load(directory: dir) } catch {
                let text = "\(error)"
                #expect(needles.allSatisfy(text.contains), "\(name): \(text)")
                #expect(text.components(separatedBy: configURL.path).count <= 2, "\(name): path printed twice: \(text)")
            }
        }
    }
}

/// Which token pipeline a pretrained directory gets (issue #13, the XLNetTokenizer trap).
struct PipelineChoiceTests {
    @Test func kobertsXLNetTokenizerConfigIsNotFollowed() throws {
        let dir = try temporaryDirectory()
        try Data(#"{"hidden_size": 8}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        try Data(#"{"tokenizer_class": "XLNetTokenizer", "padding_side": "left"}"#.utf8)
            .write(to: dir.appendingPathComponent("tokenizer_config.json"))
        let chosen = try TrainingJob.choosePipeline(nil, directory: dir)
        #expect(chosen.pipeline == .gluonnlp && chosen.reason.contains("XLNetTokenizer") && chosen.reason.contains("not followed"))
        #expect(try TrainingJob.choosePipeline(.kobertHF, directory: dir).pipeline == .kobertHF)
        // Another tokenizer class is not called KoBERT's trap, and its name is shown escaped.
        try Data(#"{"tokenizer_class": "BertTokenizer\u001b[2J"}"#.utf8).write(to: dir.appendingPathComponent("tokenizer_config.json"))
        let other = try TrainingJob.choosePipeline(nil, directory: dir)
        #expect(other.pipeline == .gluonnlp && other.reason.contains("BertTokenizer\\u{1B}[2J") && other.reason.contains("does not run")
                && !other.reason.contains("[CLS] last"), "\(other.reason)")
        try Data(#"{"tokenizer_class": "XLNetTokenizer", "padding_side": "left"}"#.utf8)
            .write(to: dir.appendingPathComponent("tokenizer_config.json"))
        // A model this tool saved records its pipeline, and that wins over the default.
        try Data(#"{"hidden_size": 8, "tokenizer_pipeline": "kobert-hf"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        #expect(try TrainingJob.choosePipeline(nil, directory: dir).pipeline == .kobertHF)
        try Data(#"{"tokenizer_pipeline": "xlnet"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        #expect { _ = try TrainingJob.choosePipeline(nil, directory: dir) } throws: { "\($0)".contains("unknown tokenizer_pipeline") }
    }
}

/// The character n-gram baseline beside BERT (issue #16): fitted on the same training rows, scored on
/// the same test rows, saved in `baseline/`, shown in the reports, re-scored by `evaluate`.
struct BaselineTests {
    @Test func trainingFitsTheBaselineBesideBERT() throws {
        let dir = try temporaryDirectory()
        var options = TrainingTests.options
        options.epochs = 1
        let job = try TrainingJob(data: DataOptions(), model: .scratch(TrainingTests.tinyShape), options: options, output: dir)
        let report = try #require(try job.run(resume: false))
        let baseline = try #require(report.baseline)
        let evaluation = try #require(report.evaluation)
        #expect(baseline.evaluation.all.count == job.split.test.count && baseline.features > 1000)
        // Saved as a model directory of its own, which predicts what the report scored.
        let saved = try LinearClassifier.load(directory: dir.appendingPathComponent(BaselineResult.folderName))
        #expect(try BaselineResult.score(saved, on: job.split) == baseline.evaluation)
        #expect(try loadSentenceClassifier(directory: dir.appendingPathComponent("baseline")).kind == "linear")
        // The tiny BERT of one epoch is far below the baseline, and the comparison says so.
        #expect(baseline.evaluation.all.accuracy > evaluation.all.accuracy)
        #expect(baseline.comparison(with: evaluation).contains("does not beat"))
        // report.json keeps it; report.html shows both models and the per-class F1 chart.
        let decoded = try TrainingReport.read(from: dir.appendingPathComponent(TrainingReport.jsonFileName))
        #expect(decoded.baseline == baseline)
        let html = try String(contentsOf: dir.appendingPathComponent(TrainingReport.htmlFileName), encoding: .utf8)
        #expect(html.contains("Character n-gram baseline") && html.contains("Per-class F1") && html.contains("does not beat"))
        // evaluate re-scores the saved baseline on the data it evaluates.
        let model = try EmotionModel.load(directory: dir)
        let rescored = try model.evaluate(DataOptions(), model: dir.path, baseline: saved).report
        #expect(rescored.baseline?.evaluation == baseline.evaluation)
    }

    @Test func theLinearModelAloneIsAModelDirectory() throws {
        let dir = try temporaryDirectory()
        let (model, report) = try LinearClassifier.trainJob(data: DataOptions(), output: dir)
        #expect(report.config.training == nil && report.evaluation != nil)
        let loaded = try loadSentenceClassifier(directory: dir)
        #expect(loaded.kind == "linear")
        let texts = ["오늘 정말 행복한 하루였어", "길에서 큰 개가 짖어서 너무 무서웠어"]
        #expect(try loaded.predict(texts, batchSize: 2) == (try model.predict(texts)))
        // What makes no sense for it is a clear error.
        #expect { _ = try EmotionModel.loadTokenizer(directory: dir) } throws: { "\($0)".contains("not a BERT model") && "\($0)".contains("no tokenizer") }
        #expect { _ = try EmotionModel.load(directory: dir) } throws: { "\($0)".contains("not a BERT model") }
    }
}
