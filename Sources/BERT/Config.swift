import Foundation

/// The fields of a Hugging Face `BertConfig` (`config.json`) this engine uses.
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
    public var hiddenDropoutProb: Double
    public var attentionProbsDropoutProb: Double
    /// Dropout before the classifier; `nil` means `hiddenDropoutProb`, as in transformers.
    public var classifierDropout: Double?
    /// Label names by id, as strings of integers ("0": "fear"); empty for an encoder-only config.
    public var id2label: [String: String]
    /// Which token pipeline produced the ids this model was trained on ("gluonnlp" or "kobert-hf");
    /// stored in config.json as `tokenizer_pipeline` (an extra key transformers keeps and ignores).
    public var tokenizerPipeline: String?
    /// The maximum sequence length used in training, stored as `max_len`.
    public var maxLength: Int?

    public init(
        vocabSize: Int, hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
        intermediateSize: Int, maxPositionEmbeddings: Int = 512, typeVocabSize: Int = 2,
        padTokenId: Int = 1, hiddenAct: String = "gelu", layerNormEps: Double = 1e-12,
        hiddenDropoutProb: Double = 0.1, attentionProbsDropoutProb: Double = 0.1,
        classifierDropout: Double? = nil, labels: [String] = []
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
        self.id2label = Dictionary(uniqueKeysWithValues: labels.enumerated().map { (String($0.offset), $0.element) })
    }

    /// KoBERT's shape (`skt/kobert-base-v1`) with the given labels.
    public static func kobert(labels: [String]) -> BertConfig {
        BertConfig(vocabSize: 8002, hiddenSize: 768, numHiddenLayers: 12, numAttentionHeads: 12,
                   intermediateSize: 3072, labels: labels)
    }

    /// Label names in id order (empty when the config has none).
    public var labels: [String] {
        get { (0..<id2label.count).map { id2label[String($0)] ?? "LABEL_\($0)" } }
        set { id2label = Dictionary(uniqueKeysWithValues: newValue.enumerated().map { (String($0.offset), $0.element) }) }
    }

    public var headSize: Int { hiddenSize / numAttentionHeads }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
        case maxPositionEmbeddings = "max_position_embeddings", typeVocabSize = "type_vocab_size"
        case padTokenId = "pad_token_id", hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps"
        case hiddenDropoutProb = "hidden_dropout_prob", attentionProbsDropoutProb = "attention_probs_dropout_prob"
        case classifierDropout = "classifier_dropout", id2label, label2id
        case tokenizerPipeline = "tokenizer_pipeline", maxLength = "max_len"
        case modelType = "model_type", architectures
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
        id2label = try c.decodeIfPresent([String: String].self, forKey: .id2label) ?? [:]
        tokenizerPipeline = try c.decodeIfPresent(String.self, forKey: .tokenizerPipeline)
        maxLength = try c.decodeIfPresent(Int.self, forKey: .maxLength)
    }

    /// Writes a config.json that `BertForSequenceClassification.from_pretrained` reads.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("bert", forKey: .modelType)
        try c.encode([id2label.isEmpty ? "BertModel" : "BertForSequenceClassification"], forKey: .architectures)
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
        if !id2label.isEmpty {
            try c.encode(id2label, forKey: .id2label)
            try c.encode(Dictionary(labels.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: min), forKey: .label2id)
        }
        try c.encodeIfPresent(tokenizerPipeline, forKey: .tokenizerPipeline)
        try c.encodeIfPresent(maxLength, forKey: .maxLength)
    }

    /// Reads `config.json`; errors name the file.
    public static func load(contentsOf url: URL) throws -> BertConfig {
        let config: BertConfig
        do {
            config = try JSONDecoder().decode(BertConfig.self, from: Data(contentsOf: url))
        } catch {
            throw BertError.checkpoint(file: url.path, message: "cannot read BERT config: \(error)")
        }
        try config.validate()
        return config
    }

    /// The JSON text of `config.json` (sorted keys, indented).
    public func jsonData() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }

    /// Checks the shape is one this engine runs; the message names the offending field.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw BertError.invalidConfig(message) }
        }
        try check(vocabSize > 0 && hiddenSize > 0 && numHiddenLayers >= 0 && intermediateSize > 0,
                  "vocab_size, hidden_size, intermediate_size must be positive and num_hidden_layers non-negative")
        try check(numAttentionHeads > 0 && hiddenSize % numAttentionHeads == 0,
                  "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads)")
        try check(maxPositionEmbeddings > 0 && typeVocabSize > 0, "max_position_embeddings and type_vocab_size must be positive")
        try check(hiddenAct == "gelu", "hidden_act \"\(hiddenAct)\" is not supported (only \"gelu\", the exact erf form)")
        for (name, p) in [("hidden_dropout_prob", hiddenDropoutProb), ("attention_probs_dropout_prob", attentionProbsDropoutProb),
                          ("classifier_dropout", classifierDropout ?? 0)] {
            try check(p >= 0 && p < 1, "\(name) \(p) is outside [0, 1)")
        }
        try check(id2label.keys.allSatisfy { Int($0).map { (0..<id2label.count).contains($0) } ?? false },
                  "id2label keys must be the integers 0..<\(id2label.count)")
        try check(Set(labels).count == labels.count, "id2label has duplicate label names")
    }
}

/// Errors of the BERT engine; each message says what is wrong and where.
public enum BertError: Error, CustomStringConvertible, Sendable {
    case invalidConfig(String)
    case checkpoint(file: String, message: String)
    case invalidBatch(String)

    public var description: String {
        switch self {
        case .invalidConfig(let m): return "invalid BERT config: \(m)"
        case .checkpoint(let file, let m): return "\(file): \(m)"
        case .invalidBatch(let m): return "invalid batch: \(m)"
        }
    }
}
