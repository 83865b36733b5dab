import Foundation
import Testing
@testable import EmotionClassifier

/// The built-in sample (`EmotionDataset.builtInSample`) and the held-out list `Examples/eval-sentences.csv`:
/// both load completely, have the promised size, and the quick start's demo sentences and the evaluation
/// sentences are not near-copies of any sample sentence (else the quick start's scores would flatter the model).
@Suite struct SampleDataTests {
    /// The two sentences of the README's quick start.
    static let demoSentences = ["오늘 정말 행복한 하루였어", "길에서 큰 개가 짖어서 너무 무서웠어"]

    /// `Examples/eval-sentences.csv`, found from this file's path (Tests/EmotionClassifierTests/ -> root).
    static let evalListURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Examples/eval-sentences.csv")

    /// Number of data records (header excluded) the CSV parser sees, to show that every one became an example.
    static func recordCount(_ url: URL) throws -> Int {
        try CSVParser.parse(String(contentsOf: url, encoding: .utf8)).count - 1
    }

    @Test func sampleLoadsEveryRowWithAtLeast300PerEmotion() throws {
        let url = EmotionDataset.builtInSample
        // Without skipInvalid, any bad row (unknown label, empty text, broken quoting) throws.
        let sample = try EmotionDataset.load(contentsOf: url, encoding: .utf8)
        #expect(sample.skipped.isEmpty)
        #expect(sample.examples.count == (try Self.recordCount(url)))
        let counts = sample.labelCounts
        print("built-in sample: \(sample.examples.count) rows;", zip(sample.labels.names, counts).map { "\($0) \($1)" })
        for (name, count) in zip(sample.labels.names, counts) {
            #expect(count >= 300, "\(name): only \(count) sentences in the built-in sample")
        }
    }

    @Test func evalListLoadsEveryRowWithTenPerEmotion() throws {
        let url = Self.evalListURL
        let eval = try EmotionDataset.load(contentsOf: url, encoding: .utf8)
        #expect(eval.skipped.isEmpty)
        #expect(eval.examples.count == (try Self.recordCount(url)))
        #expect(eval.labelCounts == Array(repeating: 10, count: 7))
        let raw = try Data(contentsOf: url)
        #expect(raw.starts(with: Array("발화문,상황\n".utf8)))
    }

    @Test func noDemoOrEvalSentenceIsNearCopyOfTheSample() throws {
        let sample = try EmotionDataset.loadBuiltInSample()
        let eval = try EmotionDataset.load(contentsOf: Self.evalListURL, encoding: .utf8)
        let index = NearCopyIndex(sample.examples.map(\.text))
        let queries = Self.demoSentences.map { ("demo", $0) } + eval.examples.map { ("eval row \($0.row)", $0.text) }
        var worst = 0.0
        for (name, text) in queries {
            let hits = index.nearCopies(of: text)
            for hit in hits {
                Issue.record("\(name) \"\(text)\" is a near-copy of sample row \(hit.index + 1) \"\(sample.examples[hit.index].text)\" (\(hit.reason))")
            }
            worst = max(worst, index.highestSimilarity(to: text))
        }
        print("highest 3-gram Jaccard similarity of a demo or eval sentence to a sample sentence: \(worst)")
    }

    @Test func sampleHasNoNearDuplicates() throws {
        let texts = try EmotionDataset.loadBuiltInSample().examples.map(\.text)
        let index = NearCopyIndex(texts)
        for (i, text) in texts.enumerated() {
            for hit in index.nearCopies(of: text) where hit.index > i {
                Issue.record("sample rows \(i + 1) and \(hit.index + 1) are near-duplicates (\(hit.reason)): \"\(text)\" / \"\(texts[hit.index])\"")
            }
        }
    }

    /// The check itself can fail: edited copies are caught, unrelated sentences are not.
    @Test func nearCopyCheckCatchesEditedCopies() {
        let index = NearCopyIndex(["길에서 큰 개가 짖어서 너무 무서웠어", "내일은 오전 아홉 시에 회의가 하나 있어."])
        // Same text after NFC and without spaces and punctuation.
        #expect(index.nearCopies(of: "길에서, 큰개가 짖어서 너무 무서웠어!!").map(\.reason) == ["same text without spaces and punctuation"])
        let decomposed = "길에서 큰 개가 짖어서 너무 무서웠어".decomposedStringWithCanonicalMapping
        #expect(!decomposed.unicodeScalars.elementsEqual("길에서 큰 개가 짖어서 너무 무서웠어".unicodeScalars))
        #expect(index.nearCopies(of: decomposed).map(\.index) == [0])
        // One word changed: 3-gram similarity stays at or above 0.5.
        #expect(index.nearCopies(of: "길에서 큰 개가 짖어서 정말 무서웠어").map(\.index) == [0])
        #expect(index.nearCopies(of: "내일은 오전 열 시에 회의가 하나 있어").map(\.index) == [1])
        // Different sentences sharing a few words are fine.
        #expect(index.nearCopies(of: "밤에 고양이가 울어서 너무 무서웠어").isEmpty)
        #expect(index.nearCopies(of: "오늘 정말 행복한 하루였어").isEmpty)
        #expect(NearCopyIndex.jaccard(NearCopyIndex.trigrams("가나다라"), NearCopyIndex.trigrams("가나다마")) == 1.0 / 3.0)
    }

    /// No sample or eval sentence is a near-copy of a sentence of the seed dataset (they were written for
    /// this project). Needs the seed CSV, which is not in the repository.
    @Test(.enabled(if: SampleDataTests.seedURL != nil, "set KOBERT_SEED_CSV to the seed CSV"))
    func noSampleOrEvalSentenceIsNearCopyOfTheSeed() throws {
        let seedURL = try #require(Self.seedURL)
        let seed = try EmotionDataset.load(contentsOf: seedURL, skipInvalid: true)
        let index = NearCopyIndex(seed.examples.map(\.text))
        let sample = try EmotionDataset.loadBuiltInSample()
        let eval = try EmotionDataset.load(contentsOf: Self.evalListURL, encoding: .utf8)
        for (name, examples) in [("sample", sample.examples), ("eval", eval.examples)] {
            for example in examples {
                for hit in index.nearCopies(of: example.text).prefix(1) {
                    Issue.record("\(name) row \(example.row) \"\(example.text)\" is a near-copy of seed row \(seed.examples[hit.index].row) \"\(seed.examples[hit.index].text)\" (\(hit.reason))")
                }
            }
        }
    }

    static var seedURL: URL? {
        ProcessInfo.processInfo.environment["KOBERT_SEED_CSV"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
    }
}

/// Finds near-copies of a sentence among many: the same text after NFC without spaces, punctuation and symbols,
/// or a character 3-gram Jaccard similarity of at least `threshold` (on that normalized text).
struct NearCopyIndex {
    struct Hit: Equatable {
        var index: Int
        var reason: String
    }

    static let threshold = 0.5

    private let keys: [[UInt32]]
    private let grams: [Set<UInt64>]
    private var exact: [[UInt32]: [Int]] = [:]
    private var postings: [UInt64: [Int]] = [:]

    init(_ texts: [String]) {
        keys = texts.map(Self.normalized)
        grams = keys.map(Self.trigrams)
        for (i, key) in keys.enumerated() { exact[key, default: []].append(i) }
        for (i, set) in grams.enumerated() {
            for gram in set { postings[gram, default: []].append(i) }
        }
    }

    /// NFC, then every scalar that is not whitespace, punctuation or a symbol (compared as scalar values).
    static func normalized(_ text: String) -> [UInt32] {
        text.precomposedStringWithCanonicalMapping.unicodeScalars.filter { scalar in
            if scalar.properties.isWhitespace { return false }
            switch scalar.properties.generalCategory {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
                 .finalPunctuation, .otherPunctuation, .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol,
                 .control, .format:
                return false
            default:
                return true
            }
        }.map(\.value)
    }

    static func trigrams(_ text: String) -> Set<UInt64> { trigrams(normalized(text)) }

    /// Character 3-grams, each packed into 63 bits (a scalar value fits in 21); a text shorter than three
    /// characters is its own single gram (tagged so it cannot equal a 3-gram).
    static func trigrams(_ key: [UInt32]) -> Set<UInt64> {
        guard key.count >= 3 else {
            return [key.reduce(UInt64(1) << 63 | UInt64(key.count)) { $0 << 21 ^ UInt64($1) }]
        }
        var set = Set<UInt64>()
        for i in 0...(key.count - 3) {
            set.insert(UInt64(key[i]) << 42 | UInt64(key[i + 1]) << 21 | UInt64(key[i + 2]))
        }
        return set
    }

    static func jaccard(_ a: Set<UInt64>, _ b: Set<UInt64>) -> Double {
        let union = a.union(b).count
        return union == 0 ? 1 : Double(a.intersection(b).count) / Double(union)
    }

    /// Shared-gram counts of `query` with every indexed text that shares at least one gram.
    private func sharedCounts(_ query: Set<UInt64>) -> [Int: Int] {
        var shared: [Int: Int] = [:]
        for gram in query {
            for i in postings[gram] ?? [] { shared[i, default: 0] += 1 }
        }
        return shared
    }

    /// Indexed texts that `text` nearly copies (an indexed text identical to `text` counts too), by index.
    func nearCopies(of text: String) -> [Hit] {
        let key = Self.normalized(text)
        let query = Self.trigrams(key)
        var hits: [Int: String] = [:]
        for i in exact[key] ?? [] { hits[i] = "same text without spaces and punctuation" }
        for (i, shared) in sharedCounts(query) where hits[i] == nil {
            let similarity = Double(shared) / Double(query.count + grams[i].count - shared)
            if similarity >= Self.threshold {
                hits[i] = "3-gram Jaccard similarity \((similarity * 1000).rounded() / 1000)"
            }
        }
        return hits.sorted { $0.key < $1.key }.map { Hit(index: $0.key, reason: $0.value) }
    }

    /// The highest 3-gram Jaccard similarity of `text` to any indexed text.
    func highestSimilarity(to text: String) -> Double {
        let query = Self.trigrams(text)
        return sharedCounts(query).map { Double($0.value) / Double(query.count + grams[$0.key].count - $0.value) }
            .max() ?? 0
    }
}
