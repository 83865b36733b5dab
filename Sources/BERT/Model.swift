import FileSafety
import Foundation
import Kernels
import SafeTensors

/// Hugging Face's `BertForSequenceClassification`: a BERT encoder, the tanh pooler over [CLS],
/// dropout, and a linear layer to K labels. Holds the weights; `BertRunner` runs it.
public final class BertClassifier: @unchecked Sendable {
    public var config: BertConfig
    public let numLabels: Int
    public let layout: ParameterLayout
    public let weights: ParameterBuffer

    /// A freshly initialized model, as transformers initializes one: normal(0, `initializerRange`)
    /// for matrices and embeddings (the padding row zero), LayerNorm weight 1 and bias 0, biases 0.
    public init(config: BertConfig, seed: UInt64 = 0, initializerRange: Float = 0.02) throws {
        try config.validate()
        guard !config.labels.isEmpty else { throw BertError.invalidConfig("a classifier needs id2label with at least one label") }
        self.config = config
        self.numLabels = config.labels.count
        self.layout = ParameterLayout(config: config, numLabels: numLabels)
        self.weights = ParameterBuffer(layout: layout)
        var rng = SeededGenerator(seed: seed)
        for entry in layout.entries {
            let p = weights[entry.offset]
            if entry.name.contains("LayerNorm.weight") {
                p.update(repeating: 1, count: entry.count)
            } else if entry.shape.count == 2 {
                for i in 0..<entry.count { p[i] = rng.nextGaussian() * initializerRange }
            }
        }
        let pad = config.padTokenId
        if (0..<config.vocabSize).contains(pad) {
            weights[layout.wordEmbeddings + pad * config.hiddenSize].update(repeating: 0, count: config.hiddenSize)
        }
    }

    /// What loading a checkpoint found besides the model's own tensors.
    public struct LoadReport: Sendable {
        /// Checkpoint tensors the model has no use for (e.g. a pre-training head), by name.
        public var unusedKeys: [String] = []
        /// True when the checkpoint was a plain `BertModel` and the classifier head is fresh.
        public var freshHead = false

        public init() {}
    }

    /// Loads a Hugging Face model directory: `config.json` and `model.safetensors`.
    ///
    /// A `BertForSequenceClassification` checkpoint loads whole. A plain `BertModel` checkpoint (keys
    /// without `bert.`, no classifier) loads as the encoder with a freshly initialized head for
    /// `labels` (required then, unless the config names its labels).
    public static func load(directory: URL, labels: [String]? = nil, seed: UInt64 = 0) throws -> (BertClassifier, LoadReport) {
        var config = try BertConfig.load(contentsOf: directory.appendingPathComponent("config.json"))
        if let labels { config.labels = labels }
        return try load(weights: directory.appendingPathComponent("model.safetensors"), config: config, seed: seed)
    }

    /// Loads weights from a safetensors file into a model of shape `config`.
    public static func load(weights url: URL, config: BertConfig, seed: UInt64 = 0) throws -> (BertClassifier, LoadReport) {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(contentsOf: url) } catch {
            // The SafeTensorsError names the file already: only its message, so the path is not printed twice.
            throw BertError.checkpoint(file: url.path, message: (error as? SafeTensorsError)?.message ?? "\(error)")
        }
        let names = Set(file.names)
        let hasPrefix = names.contains("bert.embeddings.word_embeddings.weight")
        guard hasPrefix || names.contains("embeddings.word_embeddings.weight") else {
            throw BertError.checkpoint(file: url.path, message: "no BERT embeddings: expected bert.embeddings.word_embeddings.weight or embeddings.word_embeddings.weight")
        }
        var config = config
        if config.labels.isEmpty { config.labels = (0..<2).map { "LABEL_\($0)" } }
        let model = try BertClassifier(config: config, seed: seed)
        var report = LoadReport()
        var used = Set<String>()

        for entry in model.layout.entries {
            let isHead = entry.name.hasPrefix("classifier.")
            // Hugging Face also accepts TF-era LayerNorm names (gamma/beta) and unprefixed BertModel keys.
            var candidates = [hasPrefix ? entry.name : String(entry.name.dropFirst(isHead ? 0 : 5))]
            if entry.name.hasSuffix("LayerNorm.weight") { candidates.append(candidates[0].replacingOccurrences(of: "LayerNorm.weight", with: "LayerNorm.gamma")) }
            if entry.name.hasSuffix("LayerNorm.bias") { candidates.append(candidates[0].replacingOccurrences(of: "LayerNorm.bias", with: "LayerNorm.beta")) }
            guard let key = candidates.first(where: names.contains) else {
                if isHead { report.freshHead = true; continue }
                throw BertError.checkpoint(file: url.path, message: "missing tensor \(candidates[0])")
            }
            guard let info = file.info(key), info.shape == entry.shape else {
                let shape = file.info(key)?.shape ?? []
                throw BertError.checkpoint(file: url.path, message: "tensor \(key) has shape \(shape), the config expects \(entry.shape)")
            }
            do {
                try file.copyFloats(key, into: UnsafeMutableBufferPointer(start: model.weights[entry.offset], count: entry.count))
            } catch {
                throw BertError.checkpoint(file: url.path, message: "\(error)")
            }
            used.insert(key)
        }
        if report.freshHead && names.contains(where: { $0.hasPrefix("classifier.") }) {
            throw BertError.checkpoint(file: url.path, message: "classifier.weight and classifier.bias must both be present")
        }
        report.unusedKeys = names.subtracting(used).filter { !$0.hasSuffix("position_ids") }.sorted()
        return (model, report)
    }

    /// The weights as safetensors with Hugging Face names (what `from_pretrained` loads).
    public func safetensors() throws -> SafeTensorsWriter {
        var writer = SafeTensorsWriter()
        for entry in layout.entries {
            try writer.add(entry.name, shape: entry.shape,
                           floats: UnsafeBufferPointer(start: weights[entry.offset], count: entry.count))
        }
        return writer
    }

    /// Saves `config.json` and `model.safetensors` into `directory` (created if needed), each
    /// atomically, in the layout `BertForSequenceClassification.from_pretrained` loads.
    public func save(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try safetensors().write(to: directory.appendingPathComponent("model.safetensors"))
        try AtomicFile.write(try config.jsonData(), to: directory.appendingPathComponent("config.json"))
    }
}
