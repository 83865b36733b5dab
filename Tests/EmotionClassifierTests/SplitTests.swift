import Foundation
import Testing
@testable import EmotionClassifier

/// `Fixtures/split-reference.json`, written by `Scripts/check_split.py` from numpy (checked against sklearn).
struct SplitReference: Decodable {
    struct Case: Decodable {
        var count: Int?
        var keys: [Int]?
        var seed: UInt32
        var testFraction: Double
        var trainCount: Int
        var testCount: Int
        var trainChecksum: Int
        var testChecksum: Int
        var train: [Int]?
        var test: [Int]?
        var trainHead: [Int]?
        var trainTail: [Int]?
        var testHead: [Int]?
        var testTail: [Int]?

        /// Checks indices against this case: counts, checksums, and the full lists or their ends.
        func expectMatches(train actualTrain: [Int], test actualTest: [Int], sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(actualTrain.count == trainCount, sourceLocation: sourceLocation)
            #expect(actualTest.count == testCount, sourceLocation: sourceLocation)
            #expect(checksum(actualTrain) == trainChecksum, sourceLocation: sourceLocation)
            #expect(checksum(actualTest) == testChecksum, sourceLocation: sourceLocation)
            if let train, let test {
                #expect(actualTrain == train, sourceLocation: sourceLocation)
                #expect(actualTest == test, sourceLocation: sourceLocation)
            }
            if let trainHead, let trainTail, let testHead, let testTail {
                #expect(Array(actualTrain.prefix(trainHead.count)) == trainHead, sourceLocation: sourceLocation)
                #expect(Array(actualTrain.suffix(trainTail.count)) == trainTail, sourceLocation: sourceLocation)
                #expect(Array(actualTest.prefix(testHead.count)) == testHead, sourceLocation: sourceLocation)
                #expect(Array(actualTest.suffix(testTail.count)) == testTail, sourceLocation: sourceLocation)
            }
        }
    }

    struct SeedData: Decodable {
        var rows: Int
        var repeatedExact: Int
        var repeatedTrimmed: Int
        var randomOverlap: Int
        var dedup: Case
    }

    var checkedAgainstSklearn: Bool
    var random: [Case]
    var dedup: [Case]
    var seedData: SeedData?

    static func load() throws -> SplitReference {
        try JSONDecoder().decode(SplitReference.self, from: Data(contentsOf: fixtureURL("split-reference.json")))
    }

    /// The fixture's checksum: sum over 0-based positions p of (p + 1) * index[p].
    static func checksum(_ indices: [Int]) -> Int {
        indices.enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element }
    }
}

private func checksum(_ indices: [Int]) -> Int { SplitReference.checksum(indices) }

/// Examples whose texts are `texts`, labelled 0.
private func examples(_ texts: [String]) -> [Example] {
    texts.enumerated().map { Example(text: $1, label: 0, row: $0 + 1) }
}

@Suite struct SplitTests {
    /// MT19937's published first outputs for init_genrand(5489).
    @Test func mersenneTwisterReferenceOutputs() {
        var random = LegacyRandomState(seed: 5489)
        let outputs = (0..<5).map { _ in random.nextUInt32() }
        #expect(outputs == [3_499_211_612, 581_869_302, 3_890_346_734, 3_586_334_585, 545_404_204])
    }

    @Test func randomSplitMatchesNumpyAndSklearn() throws {
        let reference = try SplitReference.load()
        #expect(reference.checkedAgainstSklearn)
        #expect(reference.random.contains { $0.count == 19374 && $0.seed == 32 })
        for item in reference.random {
            let count = try #require(item.count)
            let indices = try DatasetSplit.sklearnIndices(count: count, testFraction: item.testFraction, seed: item.seed)
            item.expectMatches(train: indices.train, test: indices.test)
        }
    }

    @Test func splitCarriesExamplesInIndexOrder() throws {
        let texts = (0..<10).map { "문장 \($0)" }
        let split = try DatasetSplit(examples: examples(texts))
        // numpy: RandomState(32).permutation(10) -> test [9, 1], train [2, 8, 3, 0, 4, 6, 5, 7].
        #expect(split.testIndices == [9, 1])
        #expect(split.trainIndices == [2, 8, 3, 0, 4, 6, 5, 7])
        #expect(split.test.map(\.row) == [10, 2])
        #expect(split.train.map(\.row) == [3, 9, 4, 1, 5, 7, 6, 8])
    }

    /// Test row 9 repeats training row 2 up to trailing whitespace; test row 1 is unique.
    @Test func overlapCountsTestSentencesSeenInTraining() throws {
        var texts = (0..<10).map { "문장 \($0)" }
        texts[2] = "같은 말이야."
        texts[9] = "같은 말이야. "
        let split = try DatasetSplit(examples: examples(texts))
        #expect(split.testIndices == [9, 1])
        #expect(split.testSeenInTraining == [true, false])
        #expect(split.overlapCount == 1)
        #expect(split.unseenTest.map(\.row) == [2])
    }

    @Test func dedupSplitMatchesPythonReference() throws {
        let reference = try SplitReference.load()
        for item in reference.dedup {
            let keys = try #require(item.keys)
            // Odd rows get surrounding whitespace, which grouping must ignore.
            let texts = keys.enumerated().map { $0.offset % 2 == 0 ? "문장 \($0.element)" : " 문장 \($0.element)\t" }
            let split = try DatasetSplit(examples: examples(texts), mode: .dedup, testFraction: item.testFraction,
                                         seed: item.seed)
            item.expectMatches(train: split.trainIndices, test: split.testIndices)
            #expect(split.overlapCount == 0)
            let trainKeys = Set(split.trainIndices.map { keys[$0] })
            #expect(split.testIndices.allSatisfy { !trainKeys.contains(keys[$0]) })
            let random = try DatasetSplit(examples: examples(texts), testFraction: item.testFraction, seed: item.seed)
            print("dedup seed \(item.seed): overlap \(split.overlapCount); random split overlap \(random.overlapCount)")
            #expect(random.overlapCount > 0)
        }
    }

    @Test func dialogueSplitKeepsLabelRunsTogether() throws {
        // Runs: [0, 1] fear, [2] angry, [3, 4, 5] fear, [6, 7] sadness.
        let labels = [0, 0, 2, 0, 0, 0, 3, 3]
        let rows = labels.enumerated().map { Example(text: "문장 \($0.offset)", label: $0.element, row: $0.offset + 1) }
        for seed in UInt32(0)..<20 {
            let split = try DatasetSplit(examples: rows, mode: .dialogue, testFraction: 0.25, seed: seed)
            let test = Set(split.testIndices)
            for run in [[0, 1], [3, 4, 5], [6, 7]] {
                #expect(run.allSatisfy(test.contains) || !run.contains(where: test.contains), "seed \(seed) splits run \(run)")
            }
            #expect(!split.train.isEmpty && !split.test.isEmpty)
        }
    }

    @Test func invalidSplitsAreRejected() {
        let three = examples(["가", "나", "다"])
        #expect(throws: SplitError.invalidTestFraction(0)) { try DatasetSplit(examples: three, testFraction: 0) }
        #expect(throws: SplitError.invalidTestFraction(1)) { try DatasetSplit(examples: three, testFraction: 1) }
        #expect(throws: SplitError.tooFewExamples(count: 1)) { try DatasetSplit(examples: examples(["가"])) }
        #expect(throws: SplitError.tooFewExamples(count: 0)) { try DatasetSplit(examples: []) }
        #expect(throws: SplitError.tooFewExamples(count: 3)) {
            try DatasetSplit(examples: examples(["같아", "같아 ", " 같아"]), mode: .dedup)
        }
    }
}
