import Foundation
import Testing
@testable import EmotionClassifier

/// `Fixtures/baseline-reference.json`, written by `Scripts/baseline_sklearn.py` (scikit-learn 1.9.1).
private struct BaselineReference: Decodable {
    struct NGramCase: Decodable { let text: String; let nfc: String; let ngrams: [String] }
    struct Row: Decodable { let columns: [Int]; let values: [Double] }
    struct TransformRow: Decodable { let text: String; let columns: [Int]; let values: [Double] }
    struct TFIDF: Decodable {
        let documents: [String]; let vocabulary: [String]; let idf: [Double]; let rows: [Row]; let transform: [TransformRow]
    }
    struct Fit: Decodable {
        let tol: Double; let coef: [[Double]]; let intercept: [Double]; let objective: Double; let iterations: Int
        let probabilities: [[Double]]?
    }
    struct Logistic: Decodable {
        let C: Double; let classes: Int; let x: [[Double]]; let y: [Int]; let tight: Fit; let `default`: Fit
        var matrix: SparseMatrix {
            var rowStart = [0], columns: [Int32] = [], values: [Double] = []
            for row in x {
                for (j, v) in row.enumerated() where v != 0 { columns.append(Int32(j)); values.append(v) }
                rowStart.append(columns.count)
            }
            return SparseMatrix(columnCount: x[0].count, rowStart: rowStart, columns: columns, values: values)
        }
    }
    let ngrams: [NGramCase]
    let tfidf: TFIDF
    let logistic: Logistic

    static func load() throws -> BaselineReference {
        try JSONDecoder().decode(BaselineReference.self, from: Data(contentsOf: fixtureURL("baseline-reference.json")))
    }
}

/// The seed CSV from `KOBERT_SEED_CSV` (the seed-split test is disabled without it).
private enum LinearSeedData {
    static var url: URL? {
        ProcessInfo.processInfo.environment["KOBERT_SEED_CSV"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
    }
}

private func example(_ text: String, _ label: Int, row: Int = 1) -> Example { Example(text: text, label: label, row: row) }

/// Two sentences per class of a 3-class set, enough to train.
private let tinyLabels = try! LabelSet(names: ["a", "b", "c"])
private let tinyExamples: [Example] = [
    ("좋아 정말 좋아", 0), ("너무 좋아요", 0), ("싫어 정말 싫어", 1), ("너무 싫어요", 1), ("그냥 그래", 2), ("그냥 보통이야", 2),
].enumerated().map { example($0.element.0, $0.element.1, row: $0.offset + 1) }

@Suite struct CharNGramTests {
    /// Each tricky string (Korean, runs of spaces, tabs/newlines, NBSP and other Unicode spaces, a
    /// zero-width space that is not a space, final sigma, dotted capital I, NFD Hangul, emoji, 1-char
    /// words) gives exactly scikit-learn's `char_wb` n-grams, compared as Unicode scalars.
    @Test func ngramsMatchScikitLearn() throws {
        let reference = try BaselineReference.load()
        let analyzer = try CharNGramAnalyzer(ngramRange: 1...4)
        let plain = try CharNGramAnalyzer(ngramRange: 1...4, lowercase: false)
        #expect(reference.ngrams.count >= 10)
        for c in reference.ngrams {
            #expect(plain.normalized(c.text) == scalars(c.nfc), "NFC of \(c.text.debugDescription)")
            let ours = analyzer.ngrams(c.text)
            #expect(scalars(ours) == scalars(c.ngrams), "n-grams of \(c.text.debugDescription)")
        }
    }

    @Test func shortWordsAndRanges() throws {
        // " a " has 3 scalars: with n = 3 it is counted once and n = 4 adds nothing (scikit-learn's break).
        let analyzer = try CharNGramAnalyzer(ngramRange: 1...4)
        #expect(scalars(analyzer.ngrams("a")) == scalars([" ", "a", " ", " a", "a ", " a "]))
        let fours = try CharNGramAnalyzer(ngramRange: 4...4)
        #expect(scalars(fours.ngrams("a bc")) == scalars([" a ", " bc "]))
        #expect(analyzer.ngrams(" \t\n").isEmpty)
        #expect(throws: LinearClassifierError.self) { try CharNGramAnalyzer(ngramRange: 0...4) }
        #expect(throws: LinearClassifierError.self) { try CharNGramAnalyzer(ngramRange: 1...7) }
        // Packed keys order as Python orders strings (code points, prefix first) and round-trip.
        let words = ["", " ", " a", "a", "a ", "ab", "abc", "abcd", "b", "가", "가나", "😀"].compactMap(NGramKey.init)
        #expect(words.map(\.string) == words.sorted().map(\.string))
        #expect(words.map(\.string) == ["", " ", " a", "a", "a ", "ab", "abc", "abcd", "b", "가", "가나", "😀"].dropFirst().map { $0 })
        let six = "\u{0}\u{10FFFF}가😀 z"
        #expect(scalars(NGramKey(six)!.string) == scalars(six))
    }
}

@Suite struct TfidfTests {
    /// Vocabulary (min_df 2, column order), smooth idf, sublinear tf and L2 rows as scikit-learn's
    /// `TfidfVectorizer`, within 1e-12 (both in double precision).
    @Test func tfidfMatchesScikitLearn() throws {
        let reference = try BaselineReference.load().tfidf
        let analyzer = try CharNGramAnalyzer(ngramRange: 1...4)
        let (vectorizer, x) = try TfidfVectorizer.fit(reference.documents, analyzer: analyzer, minDF: 2, sublinearTF: true)
        #expect(scalars(vectorizer.featureNames) == scalars(reference.vocabulary))
        #expect(vectorizer.idf.count == reference.idf.count)
        for (a, b) in zip(vectorizer.idf, reference.idf) { #expect(abs(a - b) <= 1e-12) }
        #expect(x.rowCount == reference.rows.count)
        func check(_ row: [(column: Int, value: Double)], _ columns: [Int], _ values: [Double], _ what: String) {
            #expect(row.map(\.column) == columns, "\(what) columns")
            for (a, b) in zip(row.map(\.value), values) { #expect(abs(a - b) <= 1e-12, "\(what) value") }
        }
        for (r, ref) in reference.rows.enumerated() { check(x.row(r), ref.columns, ref.values, "row \(r)") }
        let t = vectorizer.transform(reference.transform.map(\.text))
        for (r, ref) in reference.transform.enumerated() { check(t.row(r), ref.columns, ref.values, "transform \(ref.text)") }
        #expect(vectorizer.transform([" \t "]).row(0).isEmpty)  // no n-gram at all: an all-zero row
    }

    @Test func transposeIsTheTranspose() {
        let m = SparseMatrix(columnCount: 3, rowStart: [0, 2, 2, 3], columns: [0, 2, 1], values: [1, 2, 3])
        let t = m.transposed()
        #expect(t.rowStart == [0, 1, 2, 3])
        #expect(t.columns == [0, 2, 0])
        #expect(t.values == [1, 3, 2])
        #expect(t.transposed() == m)
    }
}

@Suite struct LogisticRegressionTests {
    /// A 40 × 6 three-class problem: with a tight tolerance our L-BFGS reaches scikit-learn's
    /// `LogisticRegression(C=0.7, tol=1e-12)` coefficients within 1e-6 and its objective within 1e-12
    /// (relative); its probabilities within 1e-7.
    @Test func optimizerReachesScikitLearnsOptimum() throws {
        let ref = try BaselineReference.load().logistic
        let x = ref.matrix
        let model = MultinomialLogisticRegression.fit(x: x, y: ref.y, classes: ref.classes, C: ref.C,
                                                      optimizer: LBFGS(maxIterations: 10_000, gradientTolerance: 1e-10))
        let result = try #require(model.result)
        #expect(result.converged)
        for c in 0..<ref.classes {
            for j in 0..<x.columnCount { #expect(abs(model.weights[c * x.columnCount + j] - ref.tight.coef[c][j]) <= 1e-6) }
            #expect(abs(model.intercepts[c] - ref.tight.intercept[c]) <= 1e-6)
        }
        #expect(abs(result.value - ref.tight.objective) <= 1e-12 * abs(ref.tight.objective))
        #expect(abs(model.objective(x: x, y: ref.y, C: ref.C) - ref.tight.objective) <= 1e-12 * abs(ref.tight.objective))
        let probabilities = model.probabilities(x)
        for (p, q) in zip(probabilities, try #require(ref.tight.probabilities)) {
            for (a, b) in zip(p, q) { #expect(abs(a - b) <= 1e-7) }
        }
    }

    /// At scikit-learn's default tolerance (1e-4 on the largest gradient component) both stop near the
    /// optimum: coefficients within 5e-3 of the tight solution (the bound ‖g‖·C·n/… allows ~3e-3),
    /// objective within 1e-6 of it, in a comparable number of iterations.
    @Test func defaultToleranceStopsNearTheOptimum() throws {
        let ref = try BaselineReference.load().logistic
        let x = ref.matrix
        let model = MultinomialLogisticRegression.fit(x: x, y: ref.y, classes: ref.classes, C: ref.C)
        let result = try #require(model.result)
        #expect(result.converged)
        #expect(result.gradientMax <= 1e-4)
        for c in 0..<ref.classes {
            for j in 0..<x.columnCount { #expect(abs(model.weights[c * x.columnCount + j] - ref.tight.coef[c][j]) <= 5e-3) }
        }
        #expect(result.value - ref.tight.objective <= 1e-6)
        #expect(result.iterations <= 3 * ref.default.iterations + 5)
    }

    /// The gradient is the objective's: central differences within 1e-7 (absolute) at a random point,
    /// with 3 classes (one SIMD vector of lanes), 6 (two) and 11 (the generic loop).
    @Test(arguments: [3, 6, 11]) func gradientMatchesFiniteDifferences(classes: Int) throws {
        let ref = try BaselineReference.load().logistic
        let objective = Objective(x: ref.matrix, y: ref.y.enumerated().map { ($0.offset * 7 + $0.element) % classes },
                                  classes: classes, C: ref.C)
        var rng = SplitMix(seed: UInt64(classes))
        let theta = (0..<objective.parameterCount).map { _ in Double(Int(rng.next() % 2001) - 1000) / 1000 }
        var grad = theta
        func value(_ t: [Double]) -> Double {
            var g = t
            return t.withUnsafeBufferPointer { tp in g.withUnsafeMutableBufferPointer { objective.evaluate(tp, $0) } }
        }
        _ = theta.withUnsafeBufferPointer { tp in grad.withUnsafeMutableBufferPointer { objective.evaluate(tp, $0) } }
        // The value against a plain dense computation of (1/n) Σ -log softmax + ‖W‖²/(2Cn), relative 1e-12.
        let S = objective.stride, n = ref.x.count, f = ref.x[0].count
        #expect(S % 4 == 0 && S >= classes && S < classes + 4)
        var naive = 0.0
        for (i, row) in ref.x.enumerated() {
            let z = (0..<classes).map { c in theta[f * S + c] + (0..<f).reduce(0.0) { $0 + row[$1] * theta[$1 * S + c] } }
            let m = z.max()!
            naive += log(z.reduce(0.0) { $0 + exp($1 - m) }) - (z[objective.y[i]] - m)
        }
        let squares = (0..<f).reduce(0.0) { s, j in s + (0..<S).reduce(0.0) { $0 + theta[j * S + $1] * theta[j * S + $1] } }
        naive = naive / Double(n) + squares / (2 * ref.C * Double(n))
        #expect(abs(value(theta) - naive) <= 1e-12 * abs(naive))
        let h = 1e-5
        for i in theta.indices {
            var plus = theta, minus = theta
            plus[i] += h
            minus[i] -= h
            let numeric = (value(plus) - value(minus)) / (2 * h)
            #expect(abs(numeric - grad[i]) <= 1e-7, "component \(i)")
        }
    }

    /// The parallel objective gives bit for bit the serial one (rows and features are each computed by
    /// one thread; sums run in a fixed order), on a problem large enough to be split.
    @Test func parallelObjectiveIsExactlySerial() throws {
        var rng = SplitMix(seed: 5)
        let n = 2_000, f = 3_000, k = 5
        var rowStart = [0], columns: [Int32] = [], values: [Double] = []
        for _ in 0..<n {
            let picks = Set((0..<12).map { _ in Int32(rng.next() % UInt64(f)) }).sorted()
            for c in picks { columns.append(c); values.append(Double(rng.next() % 1000) / 1000) }
            rowStart.append(columns.count)
        }
        let x = SparseMatrix(columnCount: f, rowStart: rowStart, columns: columns, values: values)
        let y = (0..<n).map { _ in Int(rng.next() % UInt64(k)) }
        var parallel = Objective(x: x, y: y, classes: k, C: 2)
        let theta = (0..<parallel.parameterCount).map { _ in Double(Int(rng.next() % 2001) - 1000) / 1000 }
        var serial = parallel
        serial.parallel = false
        parallel.parallel = true
        var g1 = theta, g2 = theta
        let v1 = theta.withUnsafeBufferPointer { t in g1.withUnsafeMutableBufferPointer { parallel.evaluate(t, $0) } }
        let v2 = theta.withUnsafeBufferPointer { t in g2.withUnsafeMutableBufferPointer { serial.evaluate(t, $0) } }
        #expect(v1.bitPattern == v2.bitPattern)
        #expect(g1.map(\.bitPattern) == g2.map(\.bitPattern))
        let big = (0..<100_000).map { Double($0 % 97) * 1e-3 + 1e-9 * Double($0) }
        // The same fixed order on one thread: per block four interleaved sums, blocks added in order.
        let sequential = stride(from: 0, to: big.count, by: Vector.block).map { (b: Int) -> Double in
            var s: [Double] = [0, 0, 0, 0]
            let end = min(big.count, b + Vector.block)
            var i = b
            while i + 4 <= end { for l in 0..<4 { s[l] += big[i + l] * big[i + l] }; i += 4 }
            while i < end { s[0] += big[i] * big[i]; i += 1 }
            return (s[0] + s[1]) + (s[2] + s[3])
        }.reduce(0.0, +)
        #expect(Vector.dot(big, big).bitPattern == sequential.bitPattern)
    }
}

private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct LinearClassifierTests {
    /// Trained on the built-in sample, saved and loaded: identical probabilities (bit for bit), labels
    /// and settings; the directory has the files and config keys the format promises.
    @Test func saveLoadRoundTrip() throws {
        let dataset = try DataOptions().load()
        let model = try LinearClassifier.train(dataset.examples, labels: dataset.labels)
        #expect(model.kind == "linear")
        let training = try #require(model.training)
        #expect(training.converged)
        let dir = try temporaryDirectory().appendingPathComponent("linear")
        try model.save(directory: dir)
        for file in ["config.json", "vocabulary.json", "model.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path))
        }
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as? [String: Any])
        #expect(config["classifier"] as? String == "linear")
        #expect(config["analyzer"] as? String == "char_wb")
        #expect(config["ngram_range"] as? [Int] == [1, 4])
        #expect(config["min_df"] as? Int == 2)
        #expect(config["feature_count"] as? Int == model.featureCount)
        #expect((config["id2label"] as? [String: String])?["5"] == "happiness")

        let loaded = try LinearClassifier.load(directory: dir)
        #expect(loaded.labels == model.labels)
        #expect(loaded.options == model.options)
        #expect(loaded.training == model.training)
        #expect(scalars(loaded.vectorizer.featureNames) == scalars(model.vectorizer.featureNames))
        let texts = dataset.examples.prefix(100).map(\.text) + ["", "처음 보는 문장", "xyz"]
        let a = try model.predict(texts, batchSize: 7)
        let b = try loaded.predict(texts, batchSize: 1000)
        #expect(a == b)
        #expect(a.allSatisfy { abs($0.probabilities.reduce(0, +) - 1) < 1e-5 && $0.probabilities.count == 7 })
        // It learned the sample: training accuracy well above chance (1/7).
        let correct = zip(try model.predict(dataset.examples.map(\.text), batchSize: 64), dataset.examples).filter { $0.0.id == $0.1.label }.count
        #expect(Double(correct) / Double(dataset.examples.count) > 0.9)

        // Through the protocol, as the CLI will use it.
        let classifier = try loadSentenceClassifier(directory: dir)
        #expect(try classifier.predict(texts, batchSize: 64) == a)
        #expect(classifier.kind == "linear")
        #expect(try classifier.predict(["좋아"], batchSize: 1).count == 1)
        #expect(try model.predict([], batchSize: 4).isEmpty)
        #expect(throws: LinearClassifierError.self) { try model.predict(["a"], batchSize: 0) }
    }

    @Test func saveRefusesAnotherModelsDirectory() throws {
        let model = try LinearClassifier.train(tinyExamples, labels: tinyLabels, options: {
            var o = LinearOptions(); o.minDF = 1; return o }())
        let dir = try temporaryDirectory()
        let bertConfig = Data(#"{"model_type": "bert"}"#.utf8)
        try bertConfig.write(to: dir.appendingPathComponent("config.json"))
        #expect(throws: LinearClassifierError.self) { try model.save(directory: dir) }
        #expect(try Data(contentsOf: dir.appendingPathComponent("config.json")) == bertConfig)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path))
        try Data(#"{"classifier": "forest"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        #expect(throws: EmotionModelError.self) { try loadSentenceClassifier(directory: dir) }
        // Overwriting its own earlier save is fine; custom labels survive.
        let own = try temporaryDirectory()
        try model.save(directory: own)
        try model.save(directory: own)
        #expect(try LinearClassifier.load(directory: own).labels == tinyLabels)
    }

    @Test func badTrainingInput() throws {
        func fails(_ examples: [Example], _ expected: LinearClassifierError, options: LinearOptions = LinearOptions()) {
            #expect(throws: expected) { try LinearClassifier.train(examples, labels: tinyLabels, options: options) }
        }
        fails([], .noExamples)
        fails(tinyExamples + [example(" \t\u{3000}", 0, row: 9)], .emptyText(row: 9))
        fails(tinyExamples + [example("x", 3, row: 8)], .labelOutOfRange(row: 8, label: 3, labelCount: 3))
        fails(tinyExamples.filter { $0.label == 1 }, .oneClassOnly(label: "b"))
        fails(Array(tinyExamples.dropLast()), .tooFewExamples(label: "c", count: 1))
        fails(tinyExamples.filter { $0.label != 2 }, .tooFewExamples(label: "c", count: 0))
        var high = LinearOptions()
        high.minDF = 7
        fails(tinyExamples, .emptyVocabulary("no n-gram occurs in 7 or more of the 6 documents (min_df 7); lower min_df or add data"),
              options: high)
        for change in [{ (o: inout LinearOptions) in o.C = 0 }, { $0.C = .nan }, { $0.minDF = 0 }, { $0.maxIterations = 0 },
                       { $0.tolerance = -1 }, { $0.ngramRange = 0...2 }] {
            var o = LinearOptions()
            change(&o)
            #expect(throws: LinearClassifierError.self) { try LinearClassifier.train(tinyExamples, labels: tinyLabels, options: o) }
        }
        #expect(LinearClassifierError.tooFewExamples(label: "c", count: 1).description.contains("\"c\" has 1 training sentence;"))
    }

    /// A saved model with one part damaged is refused with a message naming the file.
    @Test func damagedModelDirectoriesAreRefused() throws {
        var options = LinearOptions()
        options.minDF = 1
        let model = try LinearClassifier.train(tinyExamples, labels: tinyLabels, options: options)
        let original = try temporaryDirectory()
        try model.save(directory: original)
        _ = try LinearClassifier.load(directory: original)

        func damaged(_ file: String, expect fragment: String, named: String? = nil, _ change: (inout Data) throws -> Void) throws {
            let dir = try temporaryDirectory()
            for name in ["config.json", "vocabulary.json", "model.safetensors"] {
                try FileManager.default.copyItem(at: original.appendingPathComponent(name), to: dir.appendingPathComponent(name))
            }
            let url = dir.appendingPathComponent(file)
            var data = try Data(contentsOf: url)
            try change(&data)
            try data.write(to: url)
            do {
                _ = try LinearClassifier.load(directory: dir)
                Issue.record("\(file) damaged (\(fragment)) was accepted")
            } catch {
                let message = "\(error)"
                #expect(message.contains(named ?? file) && message.contains(fragment), "\(message)")
            }
        }
        func editJSON(_ edit: @escaping (inout [String: Any]) -> Void) -> (inout Data) throws -> Void {
            { data in
                var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
                edit(&object)
                data = try JSONSerialization.data(withJSONObject: object)
            }
        }
        try damaged("config.json", expect: "not \"linear\"", editJSON { $0["classifier"] = "bert" })
        try damaged("config.json", expect: "feature_count", editJSON { $0["feature_count"] = -3 })
        try damaged("config.json", expect: "n-grams but feature_count", named: "vocabulary.json", editJSON { $0["feature_count"] = (($0["feature_count"] as? Int) ?? 0) + 1 })
        try damaged("config.json", expect: "id2label has no entry", editJSON { $0["id2label"] = ["0": "a", "1": "b", "7": "c"] })
        try damaged("config.json", expect: "label2id", editJSON { $0["label2id"] = ["a": 1] })
        try damaged("config.json", expect: "analyzer", editJSON { $0["analyzer"] = "word" })
        try damaged("config.json", expect: "C must be", editJSON { $0["C"] = -1 })
        try damaged("config.json", expect: "not a linear model configuration") { $0 = Data("{".utf8) }
        try damaged("vocabulary.json", expect: "occurs twice") { data in
            var v = try JSONSerialization.jsonObject(with: data) as! [String: [String]]
            v["ngrams"]![1] = v["ngrams"]![0]
            data = try JSONSerialization.data(withJSONObject: v)
        }
        try damaged("vocabulary.json", expect: "characters") { data in
            var v = try JSONSerialization.jsonObject(with: data) as! [String: [String]]
            v["ngrams"]![0] = "abcdefg"
            data = try JSONSerialization.data(withJSONObject: v)
        }
        try damaged("vocabulary.json", expect: "not a vocabulary") { $0 = Data("[1, 2]".utf8) }
        try damaged("model.safetensors", expect: "non-finite") { data in
            // The last 4 bytes are the last float of the last tensor in name order (weight).
            data.replaceSubrange((data.count - 4)..<data.count, with: [0x00, 0x00, 0xC0, 0x7F])
        }
        try damaged("model.safetensors", expect: "model.safetensors") { $0 = $0.prefix($0.count - 3) }
        // A missing file.
        let missing = try temporaryDirectory()
        #expect(throws: LinearClassifierError.self) { try LinearClassifier.load(directory: missing) }
    }
}

@Suite struct LinearSeedTests {
    /// The reference pipeline on the seed split: accuracy and macro-F1 within 0.5 points of
    /// scikit-learn's (`Scripts/baseline_sklearn.json`). Prints timings and agreement.
    @Test(.enabled(if: LinearSeedData.url != nil, "set KOBERT_SEED_CSV to the seed CSV"))
    func seedSplitMatchesScikitLearn() throws {
        struct Reference: Decodable {
            let accuracy: Double, macroF1: Double, unseenAccuracy: Double, unseenMacroF1: Double
            let trainTotalSeconds: Double, predictSentencesPerSecond: Double, features: Int, testPredictions: String
        }
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: packageRoot.appendingPathComponent("Scripts/baseline_sklearn.json")))
        let (dataset, split) = try DataOptions(file: LinearSeedData.url).loadSplit()
        #expect(split.train.count == 15_499)
        func cpuSeconds() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
        }
        let start = Date(), cpuStart = cpuSeconds()
        let model = try LinearClassifier.train(split.train, labels: dataset.labels)
        let trainSeconds = Date().timeIntervalSince(start), trainCPU = cpuSeconds() - cpuStart
        let predictStart = Date()
        let predictions = try model.predict(split.test.map(\.text), batchSize: 1024)
        let predictSeconds = Date().timeIntervalSince(predictStart)
        let evaluation = try Evaluation(split: split, predicted: predictions.map(\.id), labels: dataset.labels)
        let sklearnIds = reference.testPredictions.compactMap { $0.wholeNumberValue }
        let agreement = Double(zip(sklearnIds, predictions).filter { $0.0 == $0.1.id }.count) / Double(predictions.count)
        let t = try #require(model.training)
        print(String(format: "linear seed split: accuracy %.4f (sklearn %.4f), macro-F1 %.4f (%.4f), unseen %.4f / %.4f (%.4f / %.4f); "
                     + "%d features (sklearn %d), %d iterations, converged %@; train %.2f s, CPU %.2f s (vectorizer %.2f, fit %.2f; sklearn %.2f); "
                     + "predict %.0f sentences/s (sklearn %.0f); agreement with sklearn %.4f",
                     evaluation.all.accuracy, reference.accuracy, evaluation.all.macroF1, reference.macroF1,
                     evaluation.unseen.accuracy, evaluation.unseen.macroF1, reference.unseenAccuracy, reference.unseenMacroF1,
                     model.featureCount, reference.features, t.iterations, "\(t.converged)", trainSeconds, trainCPU, t.vectorizerSeconds,
                     t.fitSeconds, reference.trainTotalSeconds, Double(predictions.count) / predictSeconds,
                     reference.predictSentencesPerSecond, agreement))
        #expect(model.featureCount == reference.features)
        #expect(abs(evaluation.all.accuracy - reference.accuracy) <= 0.005)
        #expect(abs(evaluation.all.macroF1 - reference.macroF1) <= 0.005)
        #expect(abs(evaluation.unseen.accuracy - reference.unseenAccuracy) <= 0.005)
        #expect(t.converged)
    }
}
