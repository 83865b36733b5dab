import CKernels
import FileSafety
import Foundation
import Kernels
import SafeTensors

/// Hugging Face's `BertForSequenceClassification`: a BERT encoder, the tanh pooler over [CLS],
/// dropout, and a linear layer to K labels. Holds the weights; `BertRunner` runs it.
///
/// The architecture (`config`) is fixed at creation: the parameter layout and the weights are
/// derived from it. Run-time choices (dropout rates, training or inference) are given to the runner.
public final class BertClassifier: @unchecked Sendable {
    public let config: BertConfig
    public var numLabels: Int { config.numLabels }
    public let layout: ParameterLayout
    public let weights: ParameterBuffer

    /// A freshly initialized model, as transformers initializes one: normal(0, `initializerRange`)
    /// for matrices and embeddings (the padding row zero), LayerNorm weight 1 and bias 0, biases 0.
    public convenience init(config: BertConfig, seed: UInt64 = 0, initializerRange: Float = 0.02) throws {
        try self.init(config, zeroed: true)
        var rng = SeededGenerator(seed: seed)
        for entry in layout.entries { initialize(entry, rng: &rng, initializerRange: initializerRange) }
        let pad = config.padTokenId
        if (0..<config.vocabSize).contains(pad) {
            weights[layout.wordEmbeddings + pad * config.hiddenSize].update(repeating: 0, count: config.hiddenSize)
        }
    }

    /// Weights zero, or undefined for a loader that writes every one (nothing is drawn at random
    /// that a checkpoint then overwrites).
    private init(_ config: BertConfig, zeroed: Bool) throws {
        try config.validate()
        self.config = config
        self.layout = ParameterLayout(config: config)
        self.weights = ParameterBuffer(layout: layout, zeroed: zeroed)
    }

    private init(_ config: BertConfig, weights: ParameterBuffer) {
        self.config = config
        self.layout = weights.layout
        self.weights = weights
    }

    private func initialize(_ entry: ParameterLayout.Entry, rng: inout SeededGenerator, initializerRange: Float) {
        let p = weights[entry.offset]
        if entry.name.contains("LayerNorm.weight") {
            p.update(repeating: 1, count: entry.count)
        } else if entry.shape.count == 2 {
            for i in 0..<entry.count { p[i] = rng.nextGaussian() * initializerRange }
        }
    }

    /// What loading a checkpoint found besides the model's own tensors.
    public struct LoadReport: Sendable {
        /// Checkpoint tensors the model has no use for (e.g. a pre-training head), by name.
        public var unusedKeys: [String] = []
        /// True when the checkpoint had no classifier head and a fresh one was initialized.
        public var freshHead = false

        public init() {}
    }

    /// How strictly a checkpoint must match the model.
    public enum LoadPurpose: Sendable {
        /// A fine-tuned model used as it is (predict, evaluate, serve): every tensor present, the
        /// classifier head included, and no tensor the model does not use.
        case use
        /// The start of a training run: a missing classifier head is initialized (normal(0, 0.02)
        /// from `seed`) and unused tensors (e.g. a pre-training head) are listed in the report.
        case fineTune(seed: UInt64)
    }

    /// Loads a Hugging Face model directory: `config.json` and `model.safetensors`.
    ///
    /// `numLabels` overrides the config's label count (for fine-tuning a checkpoint on new labels:
    /// its head must then be absent or of that size).
    public static func load(directory: URL, numLabels: Int? = nil, purpose: LoadPurpose = .use,
                            storage: WeightStorage = .copy) throws -> (BertClassifier, LoadReport) {
        var config = try BertConfig.load(contentsOf: directory.appendingPathComponent("config.json"))
        if let numLabels { config.numLabels = numLabels }
        return try load(directory: directory, config: config, purpose: purpose, storage: storage)
    }

    /// Loads the weights of a model directory into a model of shape `config` (read from its
    /// `config.json` by the caller).
    public static func load(directory: URL, config: BertConfig, purpose: LoadPurpose = .use,
                            storage: WeightStorage = .copy) throws -> (BertClassifier, LoadReport) {
        let (source, file) = try CheckpointFiles.open(directory: directory)
        return try load(source, file: file, config: config, purpose: purpose, storage: storage)
    }

    /// Loads weights from a safetensors file into a model of shape `config`.
    ///
    /// Every tensor's shape is checked against the config, and every value must be finite, before
    /// the model is used; shapes are checked before anything is allocated. A `BertModel` checkpoint
    /// (keys without `bert.`) and TF-era LayerNorm names (`gamma`/`beta`) load too.
    public static func load(weights url: URL, config: BertConfig, purpose: LoadPurpose = .use) throws -> (BertClassifier, LoadReport) {
        try load(try CheckpointFiles.openSingle(url), file: url, config: config, purpose: purpose)
    }

    /// Loads the tensors of `file` (named in errors) into a model of shape `config`.
    public static func load(_ file: TensorSource, file url: URL, config: BertConfig, purpose: LoadPurpose = .use,
                            storage: WeightStorage = .copy) throws -> (BertClassifier, LoadReport) {
        func fail(_ message: String) -> BertError { .checkpoint(file: url.path, message: message) }
        try config.validate()
        let layout = ParameterLayout(config: config)
        let names = Set(file.names)
        let hasPrefix = names.contains("bert.embeddings.word_embeddings.weight")
        guard hasPrefix || names.contains("embeddings.word_embeddings.weight") else {
            throw fail("no BERT embeddings: expected bert.embeddings.word_embeddings.weight or embeddings.word_embeddings.weight")
        }
        // Which checkpoint tensor each parameter comes from, and its shape: all checked before the
        // (possibly large) parameter buffer is allocated.
        var sources: [(entry: ParameterLayout.Entry, key: String)] = []
        var missingHead: [String] = []
        for entry in layout.entries {
            let isHead = entry.name.hasPrefix("classifier.")
            var candidates = [hasPrefix || isHead ? entry.name : String(entry.name.dropFirst(5))]
            if entry.name.hasSuffix("LayerNorm.weight") { candidates.append(candidates[0].replacingOccurrences(of: "LayerNorm.weight", with: "LayerNorm.gamma")) }
            if entry.name.hasSuffix("LayerNorm.bias") { candidates.append(candidates[0].replacingOccurrences(of: "LayerNorm.bias", with: "LayerNorm.beta")) }
            guard let key = candidates.first(where: names.contains) else {
                if isHead { missingHead.append(entry.name); continue }
                throw fail("missing tensor \(candidates[0])")
            }
            let shape = file.shape(key) ?? []
            guard shape == entry.shape else {
                let hint = isHead ? " (a head for \(shape.first ?? 0) labels; the model has \(config.numLabels))" : ""
                throw fail("tensor \(key) has shape \(shape), the config expects \(entry.shape)\(hint)")
            }
            sources.append((entry, key))
        }
        let used = Set(sources.map(\.key))
        let unused = names.subtracting(used).filter { !$0.hasSuffix("position_ids") }.sorted()
        // Encoder layers beyond the config's count mean the config and the weights disagree.
        let layerPrefix = hasPrefix ? "bert.encoder.layer." : "encoder.layer."
        if let extra = unused.first(where: { $0.hasPrefix(layerPrefix) }) {
            throw fail("tensor \(untrustedText(extra)) belongs to an encoder layer the config (num_hidden_layers \(config.numHiddenLayers)) does not have")
        }
        var report = LoadReport()
        switch purpose {
        case .use:
            guard missingHead.isEmpty else {
                throw fail("no classifier head (\(missingHead.joined(separator: ", "))): this is not a fine-tuned classifier")
            }
            guard unused.isEmpty else {
                throw fail("\(unused.count) tensors the model does not use: \(unused.prefix(5).map { untrustedText($0) }.joined(separator: ", "))\(unused.count > 5 ? ", ..." : "")")
            }
        case .fineTune:
            guard missingHead.isEmpty || missingHead.count == 2 else {
                throw fail("classifier.weight and classifier.bias must both be present")
            }
            report.freshHead = !missingHead.isEmpty
            report.unusedKeys = unused
        }

        if storage == .mapped, let offset = mappableOffset(file, sources, layout),
           let safetensors = file as? SafeTensorsFile {
            let model = BertClassifier(config, weights: try ParameterBuffer(layout: layout, mappingFile: safetensors.name, offset: offset))
            if let (key, index, value) = firstNonFinite(model.weights, sources) {
                throw fail("tensor \(key) holds a non-finite value (\(value)) at element \(index)")
            }
            return (model, report)
        }
        // Every value is written below: copied from the checkpoint, or a fresh head.
        let model = try BertClassifier(config, zeroed: false)
        for (entry, key) in sources {
            let destination = UnsafeMutableBufferPointer(start: model.weights[entry.offset], count: entry.count)
            do { try file.copyFloats(key, into: destination) } catch let error as BertError {
                throw error
            } catch {
                throw fail(withoutFile(error, url.path))
            }
            if let (key, index, value) = firstNonFinite(model.weights, [(entry, key)]) {
                throw fail("tensor \(key) holds a non-finite value (\(value)) at element \(index)")
            }
        }
        if case .fineTune(let seed) = purpose, report.freshHead {
            var rng = SeededGenerator(seed: seed)
            for entry in layout.entries where entry.name.hasPrefix("classifier.") {
                model.weights[entry.offset].update(repeating: 0, count: entry.count)
                model.initialize(entry, rng: &rng, initializerRange: 0.02)
            }
        }
        return (model, report)
    }

    /// The byte offset in the file at which the tensors of `sources` lie as float32, back to back in
    /// the layout's order and from its first element, 64-byte aligned: the parameter buffer can then
    /// be the file's pages. Nil otherwise (another order, another dtype, a head to initialize, not a
    /// single safetensors file, a big-endian machine).
    private static func mappableOffset(_ file: TensorSource, _ sources: [(entry: ParameterLayout.Entry, key: String)],
                                       _ layout: ParameterLayout) -> Int? {
        #if _endian(little)
        guard let file = file as? SafeTensorsFile, sources.count == layout.entries.count,
              let first = sources.first.flatMap({ file.info($0.key) }) else { return nil }
        let start = file.dataSectionOffset + first.byteRange.lowerBound
        guard start % 64 == 0 else { return nil }
        for (entry, key) in sources {
            guard let info = file.info(key), info.dtype == .F32,
                  info.byteRange.lowerBound - first.byteRange.lowerBound == entry.offset * 4,
                  info.byteRange.count == entry.count * 4 else { return nil }
        }
        return start
        #else
        return nil
        #endif
    }

    /// The first value of `sources` in `weights` that is not finite: its tensor, index and value.
    /// One vectorized pass (a sum of squares in Double is finite exactly when every value is) over
    /// the cores; the element is looked for only in a tensor that fails it.
    private static func firstNonFinite(_ weights: ParameterBuffer, _ sources: [(entry: ParameterLayout.Entry, key: String)]) -> (String, Int, Float)? {
        let lo = sources.map(\.entry.offset).min() ?? 0
        let hi = sources.map { $0.entry.offset + $0.entry.count }.max() ?? 0
        let chunks = max(1, (hi - lo + (1 << 20) - 1) >> 20)
        var finite = [Bool](repeating: true, count: chunks)
        finite.withUnsafeMutableBufferPointer { flags in
            parallelFor(chunks, minChunk: 8) { range in
                for c in range {
                    let a = lo + (c << 20), b = min(hi, a + (1 << 20))
                    flags[c] = kb_sum_squares(weights[a], b - a).isFinite
                }
            }
        }
        guard finite.contains(false) else { return nil }
        for (entry, key) in sources {
            let values = UnsafeBufferPointer(start: weights[entry.offset], count: entry.count)
            if let bad = values.firstIndex(where: { !$0.isFinite }) { return (key, bad, values[bad]) }
        }
        return nil
    }

    /// The weights as safetensors with Hugging Face names (what `from_pretrained` loads), in the
    /// parameter layout's order with the data section 4096-byte aligned, so that a later load with
    /// `WeightStorage.mapped` can use the file's pages as they are.
    public func safetensors() throws -> SafeTensorsWriter {
        var writer = SafeTensorsWriter(order: .asAdded, dataAlignment: 4096)
        for entry in layout.entries {
            try writer.add(entry.name, shape: entry.shape,
                           floats: UnsafeBufferPointer(start: weights[entry.offset], count: entry.count))
        }
        return writer
    }

    /// Saves `config.json` and `model.safetensors` into `directory` (created if needed), each
    /// atomically, in the layout `BertForSequenceClassification.from_pretrained` loads. `labels` and
    /// `extra` are merged into config.json (see `BertConfig.configJSON`).
    public func save(directory: URL, labels: [String]? = nil, extra: [String: any Sendable] = [:]) throws {
        let json = try config.configJSON(labels: labels, extra: extra)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try safetensors().write(to: directory.appendingPathComponent("model.safetensors"))
        try AtomicFile.write(json, to: directory.appendingPathComponent("config.json"))
    }
}
