import Foundation
import SafeTensors

/// config.json of a linear model.
struct LinearConfig: Codable {
    var classifier: String
    var analyzer: String
    var ngramRange: [Int]
    var lowercase: Bool
    var unicodeNormalization: String
    var sublinearTF: Bool
    var smoothIDF: Bool
    var norm: String
    var minDF: Int
    var C: Double
    var maxIterations: Int
    var tolerance: Double
    var featureCount: Int
    var numLabels: Int
    var id2label: [String: String]
    var label2id: [String: Int]
    var labelSet: LabelSet?
    var training: LinearTrainingSummary?

    enum CodingKeys: String, CodingKey {
        case classifier, analyzer, lowercase, norm, C, id2label, label2id, training
        case ngramRange = "ngram_range", unicodeNormalization = "unicode_normalization", sublinearTF = "sublinear_tf"
        case smoothIDF = "smooth_idf", minDF = "min_df", maxIterations = "max_iter", tolerance = "tol"
        case featureCount = "feature_count", numLabels = "num_labels", labelSet = "label_set"
    }
}

private struct Vocabulary: Codable {
    var ngrams: [String]
}

extension LinearClassifier {
    static let configFile = "config.json"
    static let vocabularyFile = "vocabulary.json"
    static let weightsFile = "model.safetensors"
    /// Larger files are refused before reading.
    static let maxConfigBytes = 4 << 20
    static let maxVocabularyBytes = 1 << 30
    static let maxFeatures = 50_000_000

    /// Writes `model.safetensors`, `vocabulary.json` and then `config.json` into `directory` (created if
    /// needed), each atomically. Refuses a directory whose config.json belongs to another kind of model.
    public func save(directory: URL) throws {
        let fm = FileManager.default
        do { try fm.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw LinearClassifierError.invalidModel("\(directory.path): cannot create the directory (\(error.localizedDescription))")
        }
        let configURL = directory.appendingPathComponent(Self.configFile)
        if fm.fileExists(atPath: configURL.path) {
            let existing = try? Self.readConfig(configURL)
            guard existing?.classifier == kind else {
                throw LinearClassifierError.invalidModel("\(configURL.path) exists and is not a linear model's; not overwriting it")
            }
        }
        var writer = SafeTensorsWriter(metadata: ["format": "pt", "classifier": kind])
        try writer.add("weight", shape: [labels.count, featureCount], floats: weights)
        try writer.add("bias", shape: [labels.count], floats: bias)
        try writer.add("idf", shape: [featureCount], floats: vectorizer.idf.map { Float($0) })
        try writer.write(to: directory.appendingPathComponent(Self.weightsFile))

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try Self.writeAtomically(encoder.encode(Vocabulary(ngrams: vectorizer.featureNames)),
                                 to: directory.appendingPathComponent(Self.vocabularyFile))
        let config = LinearConfig(
            classifier: kind, analyzer: "char_wb", ngramRange: [options.ngramRange.lowerBound, options.ngramRange.upperBound],
            lowercase: options.lowercase, unicodeNormalization: "NFC", sublinearTF: options.sublinearTF, smoothIDF: true,
            norm: "l2", minDF: options.minDF, C: options.C, maxIterations: options.maxIterations, tolerance: options.tolerance,
            featureCount: featureCount, numLabels: labels.count,
            id2label: Dictionary(uniqueKeysWithValues: labels.names.enumerated().map { (String($0.offset), $0.element) }),
            label2id: Dictionary(labels.names.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a }),
            labelSet: labels, training: training)
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try Self.writeAtomically(encoder.encode(config), to: configURL)
    }

    /// Loads a directory written by `save(directory:)`, checking that every part agrees: the settings
    /// are ones this code implements, the labels are consistent, the vocabulary has `feature_count`
    /// distinct n-grams within the n-gram range, and the tensors have the right shapes and finite values.
    public static func load(directory: URL) throws -> LinearClassifier {
        let configURL = directory.appendingPathComponent(configFile)
        let config = try readConfig(configURL)
        func bad(_ message: String) -> LinearClassifierError { .invalidModel("\(configURL.path): \(message)") }
        guard config.classifier == "linear" else { throw bad("\"classifier\" is \"\(config.classifier)\", not \"linear\"") }
        guard config.analyzer == "char_wb" else { throw bad("unsupported analyzer \"\(config.analyzer)\" (only char_wb)") }
        guard config.unicodeNormalization == "NFC" else { throw bad("unsupported unicode_normalization \"\(config.unicodeNormalization)\"") }
        guard config.smoothIDF, config.norm == "l2" else { throw bad("only smooth_idf true and norm \"l2\" are supported") }
        guard config.ngramRange.count == 2, config.ngramRange[0] <= config.ngramRange[1] else {
            throw bad("ngram_range must be [min, max], got \(config.ngramRange)")
        }
        var options = LinearOptions()
        options.ngramRange = config.ngramRange[0]...config.ngramRange[1]
        options.lowercase = config.lowercase
        options.sublinearTF = config.sublinearTF
        options.minDF = config.minDF
        options.C = config.C
        options.maxIterations = config.maxIterations
        options.tolerance = config.tolerance
        do { try options.validate() } catch { throw bad("\(error)") }
        let analyzer = try CharNGramAnalyzer(ngramRange: options.ngramRange, lowercase: options.lowercase)

        let k = config.numLabels, f = config.featureCount
        guard (2...100_000).contains(k) else { throw bad("num_labels \(k) is outside 2...100000") }
        guard (1...maxFeatures).contains(f) else { throw bad("feature_count \(f) is outside 1...\(maxFeatures)") }
        let labels = try labelSet(config, bad: bad)

        let vocabularyURL = directory.appendingPathComponent(vocabularyFile)
        let vocabulary: Vocabulary
        do {
            vocabulary = try JSONDecoder().decode(Vocabulary.self, from: try readFile(vocabularyURL, limit: maxVocabularyBytes))
        } catch let error as LinearClassifierError { throw error } catch {
            throw LinearClassifierError.invalidModel("\(vocabularyURL.path): not a vocabulary ({\"ngrams\": [...]}): \(error)")
        }
        guard vocabulary.ngrams.count == f else {
            throw LinearClassifierError.invalidModel("\(vocabularyURL.path): \(vocabulary.ngrams.count) n-grams but feature_count is \(f)")
        }
        var keys: [NGramKey] = []
        keys.reserveCapacity(f)
        for (column, ngram) in vocabulary.ngrams.enumerated() {
            guard let key = NGramKey(ngram) else {
                throw LinearClassifierError.invalidModel("\(vocabularyURL.path): n-gram \(column) has \(ngram.unicodeScalars.count) characters")
            }
            keys.append(key)
        }

        let weightsURL = directory.appendingPathComponent(weightsFile)
        func badWeights(_ message: String) -> LinearClassifierError { .invalidModel("\(weightsURL.path): \(message)") }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(contentsOf: weightsURL) } catch {
            throw badWeights("\(error)")
        }
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let info = file.info(name) else { throw badWeights("no tensor \"\(name)\"") }
            guard info.shape == shape else { throw badWeights("tensor \"\(name)\" has shape \(info.shape), expected \(shape)") }
            let values: [Float]
            do { values = try file.floats(name) } catch { throw badWeights("tensor \"\(name)\": \(error)") }
            if let i = values.firstIndex(where: { !$0.isFinite }) { throw badWeights("tensor \"\(name)\" has a non-finite value at \(i)") }
            return values
        }
        let weights = try tensor("weight", [k, f])
        let bias = try tensor("bias", [k])
        let idf = try tensor("idf", [f])
        if let j = idf.firstIndex(where: { $0 <= 0 }) { throw badWeights("idf of feature \(j) is \(idf[j]), not positive") }

        let vectorizer: TfidfVectorizer
        do {
            vectorizer = try TfidfVectorizer(analyzer: analyzer, sublinearTF: options.sublinearTF, features: keys,
                                             idf: idf.map { Double($0) })
        } catch {
            throw LinearClassifierError.invalidModel("\(vocabularyURL.path): \(error)")
        }
        return LinearClassifier(labels: labels, options: options, vectorizer: vectorizer, weights: weights, bias: bias,
                                training: config.training)
    }

    /// The labels of a config: `id2label` with keys exactly "0"..<num_labels, agreeing with `label2id`
    /// and with `label_set` when present.
    private static func labelSet(_ config: LinearConfig, bad: (String) -> LinearClassifierError) throws -> LabelSet {
        let k = config.numLabels
        guard config.id2label.count == k else { throw bad("id2label has \(config.id2label.count) entries, num_labels is \(k)") }
        var names: [String] = []
        for id in 0..<k {
            guard let name = config.id2label[String(id)] else { throw bad("id2label has no entry \"\(id)\"") }
            names.append(name)
        }
        for (name, id) in config.label2id {
            guard (0..<k).contains(id), names[id].unicodeScalars.elementsEqual(name.unicodeScalars) else {
                throw bad("label2id \"\(name)\": \(id) disagrees with id2label")
            }
        }
        if let set = config.labelSet {
            guard set.names.count == k, zip(set.names, names).allSatisfy({ $0.unicodeScalars.elementsEqual($1.unicodeScalars) }) else {
                throw bad("label_set names disagree with id2label")
            }
            return set
        }
        let seed = LabelSet.seed
        if names.count == seed.count, zip(names, seed.names).allSatisfy({ $0.unicodeScalars.elementsEqual($1.unicodeScalars) }) {
            return seed
        }
        do { return try LabelSet(names: names) } catch { throw bad("labels: \(error)") }
    }

    static func readConfig(_ url: URL) throws -> LinearConfig {
        let data = try readFile(url, limit: maxConfigBytes)
        do { return try JSONDecoder().decode(LinearConfig.self, from: data) } catch {
            throw LinearClassifierError.invalidModel("\(url.path): not a linear model configuration: \(error)")
        }
    }

    /// The bytes of a file no larger than `limit`.
    static func readFile(_ url: URL, limit: Int) throws -> Data {
        let size: Int
        do {
            size = try (FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? -1
        } catch {
            throw LinearClassifierError.invalidModel("\(url.path): cannot read (\(error.localizedDescription))")
        }
        guard size >= 0, size <= limit else {
            throw LinearClassifierError.invalidModel("\(url.path): \(size) bytes, more than the \(limit) allowed")
        }
        do { return try Data(contentsOf: url) } catch {
            throw LinearClassifierError.invalidModel("\(url.path): cannot read (\(error.localizedDescription))")
        }
    }

    /// Writes to a temporary file beside `url`, flushes it to disk and renames it over `url`.
    static func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw LinearClassifierError.invalidModel("\(url.path): cannot create \(temporary.lastPathComponent)")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            try handle.write(contentsOf: data)
            try handle.synchronize()
            guard rename(temporary.path, url.path) == 0 else {
                throw LinearClassifierError.invalidModel("\(url.path): cannot rename the temporary file (\(String(cString: strerror(errno))))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            if let error = error as? LinearClassifierError { throw error }
            throw LinearClassifierError.invalidModel("\(url.path): cannot write (\(error.localizedDescription))")
        }
    }
}
