import FileSafety
import Foundation

/// The architecture of a Hugging Face `BertConfig` (`config.json`): what the parameter layout and
/// the forward pass are derived from. Nothing of the application (label names, tokenizer, max length)
/// lives here; `configJSON(labels:extra:)` merges those in when a model is saved.
///
/// KoBERT (`skt/kobert-base-v1`): vocab 8002, hidden 768, 12 layers, 12 heads, intermediate 3072,
/// 512 positions, 2 token types, pad id 1, exact-erf GELU, LayerNorm eps 1e-12, dropout 0.1.
public struct BertConfig: Codable, Equatable, Sendable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var padTokenId: Int
    public var hiddenAct: String
    public var layerNormEps: Double
    /// Dropout rates as transformers stores them: the defaults of a training run, which may override
    /// them (`DropoutRates`); inference uses none.
    public var hiddenDropoutProb: Double
    public var attentionProbsDropoutProb: Double
    /// Dropout before the classifier; `nil` means `hiddenDropoutProb`, as in transformers.
    public var classifierDropout: Double?
    /// Rows of the classifier head: `len(id2label)` in config.json, else `num_labels`, else 2 (as
    /// transformers).
    public var numLabels: Int

    /// Defaults are transformers' `BertConfig` defaults (pad id 0, 512 positions, 2 token types).
    public init(
        vocabSize: Int, hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
        intermediateSize: Int, maxPositionEmbeddings: Int = 512, typeVocabSize: Int = 2,
        padTokenId: Int = 0, hiddenAct: String = "gelu", layerNormEps: Double = 1e-12,
        hiddenDropoutProb: Double = 0.1, attentionProbsDropoutProb: Double = 0.1,
        classifierDropout: Double? = nil, numLabels: Int = 2
    ) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.padTokenId = padTokenId
        self.hiddenAct = hiddenAct
        self.layerNormEps = layerNormEps
        self.hiddenDropoutProb = hiddenDropoutProb
        self.attentionProbsDropoutProb = attentionProbsDropoutProb
        self.classifierDropout = classifierDropout
        self.numLabels = numLabels
    }

    /// KoBERT's shape (`skt/kobert-base-v1`, pad id 1) with `numLabels` classes.
    public static func kobert(numLabels: Int) -> BertConfig {
        BertConfig(vocabSize: 8002, hiddenSize: 768, numHiddenLayers: 12, numAttentionHeads: 12,
                   intermediateSize: 3072, padTokenId: 1, numLabels: numLabels)
    }

    public var headSize: Int { hiddenSize / numAttentionHeads }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
        case maxPositionEmbeddings = "max_position_embeddings", typeVocabSize = "type_vocab_size"
        case padTokenId = "pad_token_id", hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps"
        case hiddenDropoutProb = "hidden_dropout_prob", attentionProbsDropoutProb = "attention_probs_dropout_prob"
        case classifierDropout = "classifier_dropout", id2label, numLabels = "num_labels"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 512
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? 2
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? 0
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "gelu"
        layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? 1e-12
        hiddenDropoutProb = try c.decodeIfPresent(Double.self, forKey: .hiddenDropoutProb) ?? 0.1
        attentionProbsDropoutProb = try c.decodeIfPresent(Double.self, forKey: .attentionProbsDropoutProb) ?? 0.1
        classifierDropout = try c.decodeIfPresent(Double.self, forKey: .classifierDropout)
        if let id2label = try c.decodeIfPresent([String: String].self, forKey: .id2label), !id2label.isEmpty {
            numLabels = id2label.count
        } else {
            numLabels = try c.decodeIfPresent(Int.self, forKey: .numLabels) ?? 2
        }
    }

    /// The architecture fields as transformers names them (no labels; see `configJSON`).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(typeVocabSize, forKey: .typeVocabSize)
        try c.encode(padTokenId, forKey: .padTokenId)
        try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encode(layerNormEps, forKey: .layerNormEps)
        try c.encode(hiddenDropoutProb, forKey: .hiddenDropoutProb)
        try c.encode(attentionProbsDropoutProb, forKey: .attentionProbsDropoutProb)
        try c.encodeIfPresent(classifierDropout, forKey: .classifierDropout)
        try c.encode(numLabels, forKey: .numLabels)
    }

    /// Reads `config.json`; errors name the file and the field.
    public static func load(contentsOf url: URL) throws -> BertConfig {
        try decode(try readFile(url), file: url)
    }

    /// A `config.json` larger than this is not one (transformers' are a few KB).
    public static let maxFileBytes = 4 << 20

    /// The bytes of a `config.json`, refused beyond `maxFileBytes`; errors name the file.
    public static func readFile(_ url: URL) throws -> Data {
        do { return Data(try ReadFile.bytes(url, limit: maxFileBytes)) } catch let error as FileSafetyError {
            throw BertError.checkpoint(file: url.path, message: "cannot read the config: \(error.message)")
        }
    }

    /// Decodes and validates the bytes of a `config.json` read from `url` (named in errors).
    public static func decode(_ data: Data, file url: URL) throws -> BertConfig {
        let config: BertConfig
        do {
            config = try JSONDecoder().decode(BertConfig.self, from: data)
        } catch let error as DecodingError {
            throw BertError.checkpoint(file: url.path, message: "cannot read BERT config: \(describe(error))")
        } catch {
            throw BertError.checkpoint(file: url.path, message: "cannot read BERT config: \(error.localizedDescription)")
        }
        do { try config.validate() } catch {
            throw BertError.checkpoint(file: url.path, message: "\(error)")
        }
        return config
    }

    /// The whole `config.json` of a `BertForSequenceClassification` that transformers'
    /// `from_pretrained` loads: the architecture, `id2label`/`label2id` (`labels`, or `LABEL_i`),
    /// and the application's own keys in `extra` (transformers keeps and ignores unknown keys).
    /// Sorted keys, indented.
    public func configJSON(labels: [String]? = nil, extra: [String: any Sendable] = [:]) throws -> Data {
        let names = labels ?? (0..<numLabels).map { "LABEL_\($0)" }
        guard names.count == numLabels else {
            throw BertError.invalidConfig("\(names.count) label names for a classifier of \(numLabels) labels")
        }
        guard var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(self)) as? [String: Any] else {
            throw BertError.invalidConfig("config did not encode as a JSON object")
        }
        object["num_labels"] = nil   // id2label says it
        object["model_type"] = "bert"
        object["architectures"] = ["BertForSequenceClassification"]
        object["id2label"] = Dictionary(uniqueKeysWithValues: names.enumerated().map { (String($0.offset), $0.element) })
        object["label2id"] = Dictionary(names.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: min)
        for (key, value) in extra { object[key] = value }
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// Limits on every size, so that a forged config is refused before anything is allocated.
    /// They are far above any BERT (KoBERT: 8,002 / 768 / 12 / 3,072 / 512).
    public enum Limits {
        public static let vocabSize = 1 << 20
        public static let hiddenSize = 1 << 14
        public static let layers = 256
        public static let intermediateSize = 1 << 16
        public static let positions = 1 << 16
        public static let typeVocabSize = 1 << 10
        public static let labels = 1 << 14
        /// Parameters of the whole model (2^31: 8 GiB of float32).
        public static let parameters = 1 << 31
    }

    /// The number of parameters the layout of this config holds (nil on overflow).
    public var parameterCount: Int? {
        func mul(_ a: Int, _ b: Int) -> Int? { let (r, o) = a.multipliedReportingOverflow(by: b); return o ? nil : r }
        func add(_ xs: Int?...) -> Int? {
            var sum = 0
            for x in xs { guard let x else { return nil }; let (r, o) = sum.addingReportingOverflow(x); if o { return nil }; sum = r }
            return sum
        }
        let C = hiddenSize, I = intermediateSize
        let perLayer = add(mul(4 * C, C), 4 * C, mul(2 * I, C), I, C, 4 * C)
        return add(mul(vocabSize + maxPositionEmbeddings + typeVocabSize, C), 2 * C,
                   perLayer.flatMap { mul($0, numHiddenLayers) }, mul(C, C), C, mul(numLabels, C), numLabels)
    }

    /// Checks the shape is one this engine runs; the message names the offending field.
    public func validate() throws {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw BertError.invalidConfig(message()) }
        }
        func range(_ name: String, _ value: Int, _ lo: Int, _ hi: Int) throws {
            try check((lo...hi).contains(value), "\(name) \(value) is outside \(lo)...\(hi)")
        }
        try range("vocab_size", vocabSize, 1, Limits.vocabSize)
        try range("hidden_size", hiddenSize, 1, Limits.hiddenSize)
        try range("num_hidden_layers", numHiddenLayers, 0, Limits.layers)
        try range("intermediate_size", intermediateSize, 1, Limits.intermediateSize)
        try range("max_position_embeddings", maxPositionEmbeddings, 1, Limits.positions)
        try range("type_vocab_size", typeVocabSize, 1, Limits.typeVocabSize)
        try range("num_attention_heads", numAttentionHeads, 1, hiddenSize)
        try range("number of labels (id2label)", numLabels, 1, Limits.labels)
        try check(hiddenSize % numAttentionHeads == 0,
                  "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads)")
        try check((0..<vocabSize).contains(padTokenId) || padTokenId == -1, "pad_token_id \(padTokenId) is outside the vocabulary of \(vocabSize)")
        try check(hiddenAct == "gelu", "hidden_act \"\(hiddenAct)\" is not supported (only \"gelu\", the exact erf form)")
        try check(layerNormEps.isFinite && layerNormEps > 0 && layerNormEps < 1, "layer_norm_eps \(layerNormEps) must be in (0, 1)")
        for (name, p) in [("hidden_dropout_prob", hiddenDropoutProb), ("attention_probs_dropout_prob", attentionProbsDropoutProb),
                          ("classifier_dropout", classifierDropout ?? 0)] {
            try check(p >= 0 && p < 1, "\(name) \(p) is outside [0, 1)")
        }
        try check((parameterCount ?? .max) <= Limits.parameters,
                  "the model would hold \(parameterCount.map(String.init) ?? "too many") parameters, more than the limit of \(Limits.parameters)")
    }
}

/// A short description of a JSON decoding error: the field path and what was wrong.
func describe(_ error: DecodingError) -> String {
    func path(_ keys: [CodingKey]) -> String { keys.isEmpty ? "the top level" : keys.map(\.stringValue).joined(separator: ".") }
    switch error {
    case let .keyNotFound(key, ctx): return "missing field \(path(ctx.codingPath + [key]))"
    case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx): return "field \(path(ctx.codingPath)): \(ctx.debugDescription)"
    case let .dataCorrupted(ctx): return ctx.codingPath.isEmpty ? "not valid JSON" : "field \(path(ctx.codingPath)): \(ctx.debugDescription)"
    @unknown default: return "\(error)"
    }
}

/// Errors of the BERT engine; each message says what is wrong and where.
public enum BertError: Error, CustomStringConvertible, Sendable {
    case invalidConfig(String)
    case checkpoint(file: String, message: String)
    case invalidBatch(String)
    /// A training step produced a non-finite loss or gradient; no weight was changed.
    case diverged(step: Int, loss: Float, gradNorm: Float)

    public var description: String {
        switch self {
        case let .diverged(step, loss, norm): return "training diverged at step \(step + 1): loss \(loss), gradient norm \(norm)"
        case .invalidConfig(let m): return "invalid BERT config: \(m)"
        case .checkpoint(let file, let m): return "\(file): \(m)"
        case .invalidBatch(let m): return "invalid batch: \(m)"
        }
    }
}
