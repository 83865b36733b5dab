import Foundation
import Kernels
import SafeTensors

/// Settings of the character n-gram baseline; the defaults are the reference pipeline's
/// (`TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=2)` +
/// `LogisticRegression(C=4, max_iter=2000)`).
public struct LinearOptions: Sendable, Codable, Equatable {
    /// Shortest and longest character n-gram.
    public var ngramRange: ClosedRange<Int> = 1...4
    public var lowercase = true
    /// `1 + ln(count)` instead of the count.
    public var sublinearTF = true
    /// Keep n-grams found in at least this many training sentences.
    public var minDF = 2
    /// Inverse regularization strength (larger: weaker penalty).
    public var C = 4.0
    public var maxIterations = 2000
    /// Stop when no gradient component exceeds this (scikit-learn's `tol`).
    public var tolerance = 1e-4

    public init() {}

    func validate() throws(LinearClassifierError) {
        guard C.isFinite, C > 0 else { throw .invalidOption("C must be a positive number, got \(C)") }
        guard minDF >= 1 else { throw .invalidOption("min_df must be at least 1, got \(minDF)") }
        guard maxIterations >= 1 else { throw .invalidOption("max_iter must be at least 1, got \(maxIterations)") }
        guard tolerance.isFinite, tolerance >= 0 else { throw .invalidOption("tol must be a non-negative number, got \(tolerance)") }
        _ = try CharNGramAnalyzer(ngramRange: ngramRange, lowercase: lowercase)
    }
}

/// Why the linear baseline could not be trained, used or loaded.
public enum LinearClassifierError: Error, Sendable, Equatable, CustomStringConvertible {
    case noExamples
    case emptyText(row: Int)
    case labelOutOfRange(row: Int, label: Int, labelCount: Int)
    case oneClassOnly(label: String)
    case tooFewExamples(label: String, count: Int)
    case emptyVocabulary(String)
    case invalidOption(String)
    case notFinite(String)
    /// A model directory that cannot be used; the message names the file.
    case invalidModel(String)

    public var description: String {
        switch self {
        case .noExamples: "no training sentences"
        case .emptyText(let row): "row \(row): the sentence is empty or only whitespace"
        case let .labelOutOfRange(row, label, count): "row \(row): label id \(label) is outside 0..<\(count)"
        case .oneClassOnly(let label): "every training sentence has the label \"\(label)\"; a classifier needs at least two classes"
        case let .tooFewExamples(label, count):
            "the class \"\(label)\" has \(count) training sentence\(count == 1 ? "" : "s"); every class needs at least 2"
        case .emptyVocabulary(let reason): "empty vocabulary: \(reason)"
        case .invalidOption(let reason): "invalid option: \(reason)"
        case .notFinite(let reason): "training failed: \(reason)"
        case .invalidModel(let reason): reason
        }
    }
}

/// How a linear model was trained (saved in its config.json under `training`).
public struct LinearTrainingSummary: Sendable, Codable, Equatable {
    public var examples: Int
    public var features: Int
    public var iterations: Int
    public var evaluations: Int
    public var converged: Bool
    public var stop: String
    /// Final objective in scikit-learn's scaling (mean log-loss + ‖W‖² / 2Cn).
    public var objective: Double
    /// Largest gradient component at the end.
    public var gradientMax: Double
    public var vectorizerSeconds: Double
    public var fitSeconds: Double
}

/// The character n-gram baseline: TF-IDF of `char_wb` n-grams and multinomial logistic regression.
///
/// A model directory holds `config.json` (`"classifier": "linear"`, the settings, `id2label`,
/// `label2id`, the training summary), `vocabulary.json` (`{"ngrams": [...]}`, the n-gram of each
/// feature column in column order, as scikit-learn's `get_feature_names_out()`), and
/// `model.safetensors` (`weight` classes × features, `bias`, `idf`, F32).
public final class LinearClassifier: SentenceClassifier {
    public let labels: LabelSet
    public var kind: String { "linear" }
    public let options: LinearOptions
    public let vectorizer: TfidfVectorizer
    /// `classes × features`, row-major.
    public let weights: [Float]
    public let bias: [Float]
    /// The same weights `features × classes`, for scoring.
    private let weightsByFeature: [Float]
    /// Present when trained in this process or saved with the model.
    public let training: LinearTrainingSummary?

    /// Number of features (n-gram columns).
    public var featureCount: Int { vectorizer.featureCount }

    init(labels: LabelSet, options: LinearOptions, vectorizer: TfidfVectorizer, weights: [Float], bias: [Float],
         training: LinearTrainingSummary?) {
        self.labels = labels
        self.options = options
        self.vectorizer = vectorizer
        self.weights = weights
        self.bias = bias
        self.training = training
        let k = labels.count, f = vectorizer.featureCount
        var byFeature = [Float](repeating: 0, count: k * f)
        for c in 0..<k { for j in 0..<f { byFeature[j * k + c] = weights[c * f + j] } }
        self.weightsByFeature = byFeature
    }

    /// Trains on `examples` (labels are ids into `labels`).
    public static func train(_ examples: [Example], labels: LabelSet, options: LinearOptions = LinearOptions()) throws -> LinearClassifier {
        try options.validate()
        guard !examples.isEmpty else { throw LinearClassifierError.noExamples }
        var counts = [Int](repeating: 0, count: labels.count)
        for e in examples {
            guard (0..<labels.count).contains(e.label) else {
                throw LinearClassifierError.labelOutOfRange(row: e.row, label: e.label, labelCount: labels.count)
            }
            guard !e.text.unicodeScalars.allSatisfy(PythonText.isSpace) else { throw LinearClassifierError.emptyText(row: e.row) }
            counts[e.label] += 1
        }
        let present = counts.indices.filter { counts[$0] > 0 }
        if present.count == 1 { throw LinearClassifierError.oneClassOnly(label: labels.names[present[0]]) }
        if let c = counts.indices.first(where: { counts[$0] < 2 }) {
            throw LinearClassifierError.tooFewExamples(label: labels.names[c], count: counts[c])
        }

        let analyzer = try CharNGramAnalyzer(ngramRange: options.ngramRange, lowercase: options.lowercase)
        let start = Date()
        let (fitted, x) = try TfidfVectorizer.fit(examples.map(\.text), analyzer: analyzer, minDF: options.minDF,
                                                  sublinearTF: options.sublinearTF)
        let vectorized = Date()
        let model = MultinomialLogisticRegression.fit(
            x: x, y: examples.map(\.label), classes: labels.count, C: options.C,
            optimizer: LBFGS(maxIterations: options.maxIterations, gradientTolerance: options.tolerance))
        let fitted2 = Date()
        guard let result = model.result, result.stop != .notFinite, model.weights.allSatisfy(\.isFinite),
              model.intercepts.allSatisfy(\.isFinite) else {
            throw LinearClassifierError.notFinite("the objective or the weights became infinite or NaN")
        }
        let summary = LinearTrainingSummary(
            examples: examples.count, features: fitted.featureCount, iterations: result.iterations,
            evaluations: result.evaluations, converged: result.converged, stop: result.stop.rawValue,
            objective: result.value, gradientMax: result.gradientMax,
            vectorizerSeconds: vectorized.timeIntervalSince(start), fitSeconds: fitted2.timeIntervalSince(vectorized))
        // The model keeps F32 values (as saved), so a loaded model predicts exactly as this one.
        let vectorizer = try TfidfVectorizer(analyzer: analyzer, sublinearTF: options.sublinearTF, features: fitted.features,
                                             idf: fitted.idf.map { Double(Float($0)) })
        return LinearClassifier(labels: labels, options: options, vectorizer: vectorizer,
                                weights: model.weights.map { Float($0) }, bias: model.intercepts.map { Float($0) },
                                training: summary)
    }

    /// Class probabilities (softmax of `W x + b`) for each text, `batchSize` texts at a time, each
    /// batch on all cores. A text without any known n-gram gets the probabilities of the intercepts.
    public func predict(_ texts: [String], batchSize: Int = 1024) throws -> [Prediction] {
        guard batchSize >= 1 else { throw LinearClassifierError.invalidOption("batch size must be at least 1, got \(batchSize)") }
        var out: [Prediction] = []
        out.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            let chunk = Array(texts[start..<min(texts.count, start + batchSize)])
            let probabilities = self.probabilities(vectorizer.transform(chunk))
            for (text, p) in zip(chunk, probabilities) {
                var id = 0
                for c in p.indices where p[c] > p[id] { id = c }
                out.append(Prediction(text: text, id: id, label: labels.names[id], probabilities: p))
            }
            start += chunk.count
        }
        return out
    }

    /// The logits (`W x + b`) and probabilities of each text, computed as `predict` computes them
    /// (one batch, on all cores).
    public func scores(_ texts: [String]) -> [(logits: [Float], probabilities: [Float])] {
        scores(vectorizer.transform(texts))
    }

    /// Probabilities of each row of a feature matrix.
    func probabilities(_ x: SparseMatrix) -> [[Float]] {
        scores(x).map(\.probabilities)
    }

    /// Logits and probabilities of each row of a feature matrix.
    func scores(_ x: SparseMatrix) -> [(logits: [Float], probabilities: [Float])] {
        let k = labels.count
        var out = [(logits: [Float], probabilities: [Float])](repeating: ([], []), count: x.rowCount)
        out.withUnsafeMutableBufferPointer { out in
            weightsByFeature.withUnsafeBufferPointer { w in
                parallelFor(x.rowCount, minChunk: 128) { range in
                    var z = [Double](repeating: 0, count: k)
                    for r in range {
                        for c in 0..<k { z[c] = Double(bias[c]) }
                        for p in x.rowStart[r]..<x.rowStart[r + 1] {
                            let base = Int(x.columns[p]) * k, v = x.values[p]
                            for c in 0..<k { z[c] += v * Double(w[base + c]) }
                        }
                        out[r] = (z.map { Float($0) }, softmax(z).map { Float($0) })
                    }
                }
            }
        }
        return out
    }
}
