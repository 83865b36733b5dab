import Foundation
import Testing
import Kernels
import SafeTensors
@testable import BERT

struct CheckpointTests {
    let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    func tempDir() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bert-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func weights(_ m: BertClassifier) -> [Float] { Array(UnsafeBufferPointer(start: m.weights.base, count: m.weights.count)) }

    @Test func saveAndReloadGivesTheSameModel() throws {
        let (model, _) = try BertClassifier.load(directory: fixtures.appendingPathComponent("tiny"))
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try model.save(directory: dir)
        let (again, report) = try BertClassifier.load(directory: dir)
        #expect(again.config == model.config)
        #expect(weights(again) == weights(model))
        #expect(report.unusedKeys.isEmpty && !report.freshHead)
        // Same names and shapes as the PyTorch checkpoint.
        let theirs = try SafeTensorsFile(contentsOf: fixtures.appendingPathComponent("tiny/model.safetensors"))
        let ours = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("model.safetensors"))
        #expect(ours.names == theirs.names)
        #expect(ours.metadata["format"] == "pt")
        for name in theirs.names { #expect(ours.info(name)?.shape == theirs.info(name)?.shape) }
    }

    @Test func plainBertModelLoadsAsEncoderWithFreshHead() throws {
        let (full, _) = try BertClassifier.load(directory: fixtures.appendingPathComponent("tiny"))
        let (enc, report) = try BertClassifier.load(directory: fixtures.appendingPathComponent("tiny-encoder"),
                                                    numLabels: 3, purpose: .fineTune(seed: 1))
        #expect(report.freshHead)
        #expect(enc.numLabels == 3)
        for entry in full.layout.entries where entry.name.hasPrefix("bert.") {
            let a = Array(try #require(full.weights.tensor(entry.name)))
            let b = Array(try #require(enc.weights.tensor(entry.name)))
            #expect(a == b, "\(entry.name) differs")
        }
    }

    @Test func missingOrMisshapenTensorsAreNamed() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, _) = try BertClassifier.load(directory: fixtures.appendingPathComponent("tiny"))
        try model.save(directory: dir)
        // A config that disagrees with the weights: the error names the tensor and both shapes.
        var wrong = model.config
        wrong.intermediateSize = 40
        #expect {
            _ = try BertClassifier.load(weights: dir.appendingPathComponent("model.safetensors"), config: wrong)
        } throws: { "\($0)".contains("bert.encoder.layer.0.intermediate.dense.weight") && "\($0)".contains("[37, 32]") }
        // A checkpoint without a layer's tensor.
        var writer = SafeTensorsWriter()
        for entry in model.layout.entries where !entry.name.contains("layer.1.output.dense.bias") {
            try writer.add(entry.name, shape: entry.shape, floats: Array(model.weights.tensor(entry.name)!))
        }
        try writer.write(to: dir.appendingPathComponent("model.safetensors"))
        #expect { _ = try BertClassifier.load(directory: dir) } throws: { "\($0)".contains("missing tensor bert.encoder.layer.1.output.dense.bias") }
        // Not a safetensors file at all.
        try Data("not a checkpoint".utf8).write(to: dir.appendingPathComponent("model.safetensors"))
        #expect { _ = try BertClassifier.load(directory: dir) } throws: { "\($0)".contains("model.safetensors") }
    }

    @Test func invalidConfigsAndBatchesAreRejected() throws {
        var config = BertConfig(vocabSize: 10, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 3, intermediateSize: 8, numLabels: 1)
        #expect { try config.validate() } throws: { "\($0)".contains("num_attention_heads") }
        config.numAttentionHeads = 2
        config.hiddenAct = "relu"
        #expect { try config.validate() } throws: { "\($0)".contains("relu") }
        config.hiddenAct = "gelu"
        let model = try BertClassifier(config: config)
        let runner = try BertRunner(model: model, maxBatch: 2, maxLength: 4, training: false)
        let bad = TokenBatch(batchSize: 1, length: 4, tokenIds: [2, 11, 3, 1], validLength: [3])
        #expect { try runner.forward(bad) } throws: { "\($0)".contains("token id 11") }
        let tooLong = TokenBatch(batchSize: 1, length: 5, tokenIds: [2, 5, 5, 5, 3], validLength: [5])
        #expect { try runner.forward(tooLong) } throws: { "\($0)".contains("does not fit") }
        let zeroLength = TokenBatch(batchSize: 1, length: 2, tokenIds: [2, 3], validLength: [0])
        #expect { try runner.forward(zeroLength) } throws: { "\($0)".contains("valid length 0") }
        #expect { try runner.backward(labels: [0]) } throws: { "\($0)".contains("inference") }
    }

    /// Padding is masked: cutting a batch to its longest sequence changes no logit.
    @Test func paddingDoesNotChangeLogits() throws {
        let (model, _) = try BertClassifier.load(directory: fixtures.appendingPathComponent("tiny"))
        let runner = try BertRunner(model: model, maxBatch: 2, maxLength: 12, training: false)
        let short = TokenBatch(batchSize: 2, length: 5, tokenIds: [2, 7, 8, 9, 3, 2, 10, 3, 1, 1], validLength: [5, 3])
        let a = Array(try runner.forward(short))
        let padded = TokenBatch(batchSize: 2, length: 12,
                                tokenIds: [2, 7, 8, 9, 3] + [Int32](repeating: 1, count: 7) + [2, 10, 3] + [Int32](repeating: 1, count: 9),
                                validLength: [5, 3])
        let b = Array(try runner.forward(padded))
        let d = Discrepancy(a, b, atol: 1e-5, rtol: 1e-5)
        #expect(d.withinTolerance, "\(d)")
    }
}

/// What a fine-tuned model's checkpoint must hold, and what the start of a training run tolerates.
struct StrictLoadingTests {
    let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    func copyOfTiny(_ edit: (inout SafeTensorsWriter, BertClassifier) throws -> Void) throws -> URL {
        let (model, _) = try BertClassifier.load(directory: fixtures.appendingPathComponent("tiny"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strict-\(UUID().uuidString)")
        try model.save(directory: dir)
        var writer = try model.safetensors()
        try edit(&writer, model)
        try writer.write(to: dir.appendingPathComponent("model.safetensors"))
        return dir
    }

    @Test func aModelWithoutItsHeadIsNotAClassifier() throws {
        let encoder = fixtures.appendingPathComponent("tiny-encoder")
        #expect { _ = try BertClassifier.load(directory: encoder, numLabels: 3) } throws: { "\($0)".contains("no classifier head") }
        let (_, report) = try BertClassifier.load(directory: encoder, numLabels: 3, purpose: .fineTune(seed: 1))
        #expect(report.freshHead)
    }

    @Test func extraTensorsAreErrorsForUseAndListedForFineTuning() throws {
        let dir = try copyOfTiny { w, _ in try w.add("cls.predictions.bias", shape: [41], floats: [Float](repeating: 0, count: 41)) }
        #expect { _ = try BertClassifier.load(directory: dir) } throws: { "\($0)".contains("cls.predictions.bias") }
        let (_, report) = try BertClassifier.load(directory: dir, purpose: .fineTune(seed: 0))
        #expect(report.unusedKeys == ["cls.predictions.bias"])
    }

    /// Tensor names from the file are shown escaped in errors: an escape sequence or a line break in a
    /// name cannot reach the terminal (FileSafety.untrustedText).
    @Test func tensorNamesInErrorsAreEscaped() throws {
        let unused = try copyOfTiny { w, _ in try w.add("cls.\u{1B}[2J\nx", shape: [1], floats: [0]) }
        defer { try? FileManager.default.removeItem(at: unused) }
        #expect { _ = try BertClassifier.load(directory: unused) } throws: {
            "\($0)".contains("tensors the model does not use: cls.\\u{1B}[2J\\u{0A}x") && !"\($0)".contains("\u{1B}")
        }
        let layer = try copyOfTiny { w, _ in try w.add("bert.encoder.layer.9.\u{1B}]0;t\u{07}", shape: [1], floats: [0]) }
        defer { try? FileManager.default.removeItem(at: layer) }
        #expect { _ = try BertClassifier.load(directory: layer) } throws: {
            "\($0)".contains("tensor bert.encoder.layer.9.\\u{1B}]0;t\\u{07} belongs to an encoder layer") && !"\($0)".contains("\u{1B}")
        }
    }

    @Test func nonFiniteWeightsAreRefused() throws {
        for bad in [Float.nan, .infinity] {
            let dir = try copyOfTiny { w, model in
                var values = Array(model.weights.tensor("bert.pooler.dense.bias")!)
                values[5] = bad
                var fresh = SafeTensorsWriter()
                for entry in model.layout.entries {
                    let v = entry.name == "bert.pooler.dense.bias" ? values : Array(model.weights.tensor(entry.name)!)
                    try fresh.add(entry.name, shape: entry.shape, floats: v)
                }
                w = fresh
            }
            #expect { _ = try BertClassifier.load(directory: dir) } throws: {
                "\($0)".contains("bert.pooler.dense.bias") && "\($0)".contains("non-finite") && "\($0)".contains("element 5")
            }
        }
    }

    @Test func aFreshHeadIsSeededAndTheEncoderIsNotRedrawn() throws {
        let encoder = fixtures.appendingPathComponent("tiny-encoder")
        let (a, _) = try BertClassifier.load(directory: encoder, numLabels: 3, purpose: .fineTune(seed: 5))
        let (b, _) = try BertClassifier.load(directory: encoder, numLabels: 3, purpose: .fineTune(seed: 5))
        let (c, _) = try BertClassifier.load(directory: encoder, numLabels: 3, purpose: .fineTune(seed: 6))
        let head = { (m: BertClassifier) in Array(m.weights.tensor("classifier.weight")!) }
        #expect(head(a) == head(b) && head(a) != head(c))
        #expect(head(a).contains { $0 != 0 } && Array(a.weights.tensor("classifier.bias")!).allSatisfy { $0 == 0 })
    }

    @Test func forgedConfigSizesAreRefusedBeforeAllocating() throws {
        let base = BertConfig(vocabSize: 41, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 37,
                              maxPositionEmbeddings: 20, numLabels: 7)
        let forged: [(WritableKeyPath<BertConfig, Int>, Int, String)] = [
            (\.hiddenSize, 1_000_000_000, "hidden_size"), (\.vocabSize, 100_000_000, "vocab_size"),
            (\.intermediateSize, 1 << 40, "intermediate_size"), (\.maxPositionEmbeddings, 1 << 40, "max_position_embeddings"),
            (\.numHiddenLayers, 1_000_000, "num_hidden_layers"), (\.numLabels, 1 << 30, "labels"),
        ]
        for (path, value, field) in forged {
            var c = base
            c[keyPath: path] = value
            #expect { try c.validate() } throws: { "\($0)".contains(field) }
        }
        // Each size within its limit, the whole model too large: refused by the parameter count.
        var big = base
        (big.vocabSize, big.hiddenSize, big.numAttentionHeads) = (1 << 20, 1 << 14, 1)
        #expect { try big.validate() } throws: { "\($0)".contains("parameters") }
        // A config that fits its limits but not the weights: the shape error comes before the allocation.
        var wrongVocab = base
        wrongVocab.vocabSize = 1 << 20
        #expect {
            _ = try BertClassifier.load(weights: fixtures.appendingPathComponent("tiny/model.safetensors"), config: wrongVocab)
        } throws: { "\($0)".contains("word_embeddings") && "\($0)".contains("[1048576, 32]") }
        // An absurd batch is refused by the runner with the memory it would need.
        let model = try BertClassifier(config: base)
        #expect { _ = try BertRunner(model: model, maxBatch: 100_000_000, maxLength: 20, training: true) } throws: { "\($0)".contains("GB") }
    }
}

/// A checkpoint sharded as transformers writes large ones (`model.safetensors.index.json`).
struct ShardedCheckpointTests {
    let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    @Test func shardsLoadAsTheWholeFileDoes() throws {
        let (model, _) = try BertClassifier.load(directory: fixtures.appendingPathComponent("tiny"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sharded-\(UUID().uuidString)")
        try model.save(directory: dir)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("model.safetensors"))
        var first = SafeTensorsWriter(), second = SafeTensorsWriter()
        var map: [String: String] = [:]
        for (i, entry) in model.layout.entries.enumerated() {
            let values = Array(model.weights.tensor(entry.name)!)
            if i % 2 == 0 { try first.add(entry.name, shape: entry.shape, floats: values) } else { try second.add(entry.name, shape: entry.shape, floats: values) }
            map[entry.name] = i % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors"
        }
        try first.write(to: dir.appendingPathComponent("model-00001-of-00002.safetensors"))
        try second.write(to: dir.appendingPathComponent("model-00002-of-00002.safetensors"))
        let index = dir.appendingPathComponent("model.safetensors.index.json")
        try JSONSerialization.data(withJSONObject: ["metadata": ["total_size": 0], "weight_map": map]).write(to: index)
        let (loaded, _) = try BertClassifier.load(directory: dir)
        #expect(Array(UnsafeBufferPointer(start: loaded.weights.base, count: loaded.weights.count))
                == Array(UnsafeBufferPointer(start: model.weights.base, count: model.weights.count)))

        // A shard name that leaves the directory, and a tensor its shard does not hold, are refused.
        var evil = map
        evil["classifier.bias"] = "../model-00001-of-00002.safetensors"
        try JSONSerialization.data(withJSONObject: ["weight_map": evil]).write(to: index)
        #expect { _ = try BertClassifier.load(directory: dir) } throws: { "\($0)".contains("not a file name in the same directory") }
        var wrong = map
        wrong["classifier.bias"] = "model-00001-of-00002.safetensors"
        wrong["classifier.weight"] = "model-00001-of-00002.safetensors"
        try JSONSerialization.data(withJSONObject: ["weight_map": wrong]).write(to: index)
        #expect { _ = try BertClassifier.load(directory: dir) } throws: { "\($0)".contains("is not in its shard") }
        try Data("{".utf8).write(to: index)
        #expect { _ = try BertClassifier.load(directory: dir) } throws: { "\($0)".contains("not a weight index") }
    }
}

/// `pytorch_model.bin` in a model directory loads exactly as the same weights in safetensors
/// (fixtures of Scripts/make_torch_fixtures.py: a random BertForSequenceClassification, hidden 8).
struct PyTorchDirectoryTests {
    static let torchFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("TorchCheckpointTests/Fixtures")

    func directory(weights: String, as name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("torchdir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = BertConfig(vocabSize: 50, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 37,
                                maxPositionEmbeddings: 16, numLabels: 7)
        try config.configJSON().write(to: dir.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: Self.torchFixtures.appendingPathComponent(weights), to: dir.appendingPathComponent(name))
        return dir
    }

    func values(_ m: BertClassifier) -> [UInt32] {
        UnsafeBufferPointer(start: m.weights.base, count: m.weights.count).map(\.bitPattern)
    }

    @Test func pytorchCheckpointsLoadBitExactly() throws {
        let reference = try directory(weights: "bert.safetensors", as: "model.safetensors")
        let (want, _) = try BertClassifier.load(directory: reference, purpose: .fineTune(seed: 0))
        for file in ["pytorch_model.bin", "bert-legacy.bin"] {
            let (got, report) = try BertClassifier.load(directory: try directory(weights: file, as: "pytorch_model.bin"), purpose: .fineTune(seed: 0))
            #expect(values(got) == values(want), "\(file)")
            #expect(!report.freshHead, "\(file)")
        }
        // A plain BertModel (no prefix, no head): the encoder exactly, a fresh head.
        let (encoder, report) = try BertClassifier.load(directory: try directory(weights: "bertmodel-legacy.bin", as: "pytorch_model.bin"),
                                                        purpose: .fineTune(seed: 0))
        #expect(report.freshHead)
        for entry in want.layout.entries where entry.name.hasPrefix("bert.") {
            #expect(Array(encoder.weights.tensor(entry.name)!) == Array(want.weights.tensor(entry.name)!), "\(entry.name)")
        }
        // A hostile pickle in a model directory: the loader's error names the file and the global.
        let hostile = try directory(weights: "hostile-os-system.bin", as: "pytorch_model.bin")
        #expect { _ = try BertClassifier.load(directory: hostile) } throws: {
            let text = "\($0)"
            return text.contains("pytorch_model.bin") && text.contains("os.system") && text.components(separatedBy: "pytorch_model.bin").count == 2
        }
    }
}
