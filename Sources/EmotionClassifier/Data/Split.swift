/// The random number generator of numpy's legacy `numpy.random.RandomState(seed)` (MT19937), with the
/// legacy bounded-integer and shuffle routines, so that splits match `sklearn.model_selection.train_test_split`.
public struct LegacyRandomState: Sendable {
    private static let stateLength = 624
    private static let shift = 397
    private var state: [UInt32]
    private var position: Int

    /// Seeds like `RandomState(seed)` for an integer seed (numpy's `mt19937_seed`, i.e. MT19937 `init_genrand`).
    public init(seed: UInt32) {
        state = [UInt32](repeating: 0, count: Self.stateLength)
        state[0] = seed
        for i in 1..<Self.stateLength {
            let previous = state[i - 1]
            state[i] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(i)
        }
        position = Self.stateLength
    }

    /// The next 32 random bits (MT19937 `genrand_int32`).
    public mutating func nextUInt32() -> UInt32 {
        if position == Self.stateLength { regenerate() }
        var y = state[position]
        position += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func regenerate() {
        let n = Self.stateLength
        for i in 0..<n {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % n] & 0x7FFF_FFFF)
            state[i] = state[(i + Self.shift) % n] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : 0x9908_B0DF)
        }
        position = 0
    }

    /// A uniform integer in `0...max` by masked rejection sampling (numpy's legacy `random_interval`).
    public mutating func interval(_ max: UInt64) -> UInt64 {
        guard max > 0 else { return 0 }
        let mask = UInt64.max >> max.leadingZeroBitCount
        while true {
            let value = max <= UInt64(UInt32.max)
                ? UInt64(nextUInt32()) & mask
                : (UInt64(nextUInt32()) << 32 | UInt64(nextUInt32())) & mask
            if value <= max { return value }
        }
    }

    /// Shuffles in place like the legacy `RandomState.shuffle` (Fisher-Yates from the end).
    public mutating func shuffle<Element>(_ elements: inout [Element]) {
        for i in elements.indices.dropFirst().reversed() {
            elements.swapAt(i, Int(interval(UInt64(i))))
        }
    }

    /// `RandomState.permutation(count)`: a shuffled `0..<count`.
    public mutating func permutation(_ count: Int) -> [Int] {
        var indices = Array(0..<count)
        shuffle(&indices)
        return indices
    }
}

/// How examples are divided into training and test sets.
public enum SplitMode: String, Sendable, Codable, CaseIterable {
    /// Row-level shuffle, identical to the seed's `train_test_split(..., shuffle=True, random_state=seed)`.
    case random
    /// Sentences that are identical after trimming whitespace stay on one side: distinct sentences are
    /// shuffled with the same generator and taken into the test set until it holds the requested share of rows.
    case dedup
    /// Runs of adjacent rows with the same label stay on one side. In the seed data a run is a
    /// dialogue (its turns are adjacent and share a label), so no test sentence has turns of its own
    /// dialogue in training: the honest measure for sentences from new conversations.
    case dialogue
}

/// Why a split could not be made.
public enum SplitError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The test fraction must lie strictly between 0 and 1.
    case invalidTestFraction(Double)
    /// The training or the test set would be empty.
    case tooFewExamples(count: Int)

    public var description: String {
        switch self {
        case .invalidTestFraction(let fraction): "test fraction must be between 0 and 1 (exclusive), got \(fraction)"
        case .tooFewExamples(let count): "cannot split \(count) example(s) into non-empty training and test sets"
        }
    }
}

/// A train/test split of a dataset, with each test example marked as seen or unseen in training.
public struct DatasetSplit: Sendable {
    /// How the split was made.
    public let mode: SplitMode
    /// The `RandomState` seed.
    public let seed: UInt32
    /// Requested share of rows in the test set.
    public let testFraction: Double
    /// Positions in the split's input examples, in training order.
    public let trainIndices: [Int]
    /// Positions in the split's input examples, in test order.
    public let testIndices: [Int]
    /// The training examples (`trainIndices` applied to the input).
    public let train: [Example]
    /// The test examples (`testIndices` applied to the input).
    public let test: [Example]
    /// For each test example: whether its sentence (trimmed, compared as Unicode scalars) also occurs in training.
    public let testSeenInTraining: [Bool]

    /// Splits `examples`.
    /// - Parameters:
    ///   - mode: `.random` reproduces the seed exactly; `.dedup` keeps repeated sentences on one side.
    ///   - testFraction: share of rows for testing (the seed's `test_size = 0.2`).
    ///   - seed: the seed's `random_state = 32`.
    public init(examples: [Example], mode: SplitMode = .random, testFraction: Double = 0.2,
                seed: UInt32 = 32) throws(SplitError)
    {
        let indices: (train: [Int], test: [Int])
        switch mode {
        case .random:
            indices = try Self.sklearnIndices(count: examples.count, testFraction: testFraction, seed: seed)
        case .dedup:
            indices = try Self.groupedIndices(keys: examples.map { SentenceKey($0.text, trimmed: true) },
                                              testFraction: testFraction, seed: seed)
        case .dialogue:
            var run = 0
            let runs = examples.indices.map { i in
                if i > 0 && examples[i].label != examples[i - 1].label { run += 1 }
                return run
            }
            indices = try Self.groupedIndices(keys: runs, testFraction: testFraction, seed: seed)
        }
        self.mode = mode
        self.seed = seed
        self.testFraction = testFraction
        trainIndices = indices.train
        testIndices = indices.test
        train = indices.train.map { examples[$0] }
        test = indices.test.map { examples[$0] }
        let trainSentences = Set(train.map { SentenceKey($0.text, trimmed: true) })
        testSeenInTraining = test.map { trainSentences.contains(SentenceKey($0.text, trimmed: true)) }
    }

    /// Number of test rows whose sentence also occurs in training.
    public var overlapCount: Int { testSeenInTraining.count { $0 } }

    /// The test examples whose sentences do not occur in training.
    public var unseenTest: [Example] {
        zip(test, testSeenInTraining).filter { !$0.1 }.map(\.0)
    }

    /// The indices `sklearn.model_selection.train_test_split(range(count), test_size=testFraction,
    /// shuffle=True, random_state=seed)` selects: `n_test = ceil(testFraction * count)`,
    /// `perm = RandomState(seed).permutation(count)`, test = `perm[:n_test]`, train = the rest, in order.
    public static func sklearnIndices(count: Int, testFraction: Double, seed: UInt32) throws(SplitError)
        -> (train: [Int], test: [Int])
    {
        let testCount = try testRowCount(count: count, testFraction: testFraction)
        var random = LegacyRandomState(seed: seed)
        let permutation = random.permutation(count)
        return (Array(permutation[testCount...]), Array(permutation[..<testCount]))
    }

    /// Group-level split: groups (equal keys) in order of first appearance are permuted with
    /// `RandomState(seed)`; whole groups go to the test set until it has `ceil(testFraction * count)` rows.
    /// Rows keep file order within a group.
    static func groupedIndices<Key: Hashable>(keys: [Key], testFraction: Double, seed: UInt32) throws(SplitError)
        -> (train: [Int], test: [Int])
    {
        let targetTestCount = try testRowCount(count: keys.count, testFraction: testFraction)
        var groupOfKey: [Key: Int] = [:]
        var groups: [[Int]] = []
        for (index, key) in keys.enumerated() {
            if let group = groupOfKey[key] {
                groups[group].append(index)
            } else {
                groupOfKey[key] = groups.count
                groups.append([index])
            }
        }
        var random = LegacyRandomState(seed: seed)
        var train: [Int] = []
        var test: [Int] = []
        for group in random.permutation(groups.count) {
            if test.count < targetTestCount {
                test += groups[group]
            } else {
                train += groups[group]
            }
        }
        guard !train.isEmpty else { throw .tooFewExamples(count: keys.count) }
        return (train, test)
    }

    /// sklearn's `n_test = ceil(test_size * n_samples)`, checking that both sides are non-empty.
    private static func testRowCount(count: Int, testFraction: Double) throws(SplitError) -> Int {
        guard testFraction > 0, testFraction < 1 else { throw .invalidTestFraction(testFraction) }
        let testCount = Int((testFraction * Double(count)).rounded(.up))
        guard testCount >= 1, count - testCount >= 1 else { throw .tooFewExamples(count: count) }
        return testCount
    }
}
