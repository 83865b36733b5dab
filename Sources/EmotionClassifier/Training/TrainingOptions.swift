/// Hyperparameters of a training run. Defaults are the seed tutorial's.
public struct TrainingOptions: Codable, Sendable, Equatable {
    public var maxLength = 64
    public var batchSize = 64
    public var epochs = 5
    public var learningRate: Double = 5e-5
    public var warmupRatio = 0.1
    public var maxGradNorm: Double = 1
    public var weightDecay: Double = 0.01
    /// Dropout before the classifier (the seed's `dr_rate`).
    public var dropout = 0.5
    /// Seeds dropout (and a fresh model's initialization).
    public var seed: UInt64 = 42
    /// Cut each batch to its longest sentence instead of padding to `maxLength` (the seed pads).
    /// Padding is masked and the engine computes real tokens only, so this changes neither the
    /// result nor, much, the time; it only sizes the attention-probability blocks.
    public var cutPadding = true

    public init() {}

    /// The largest batch and sequence length accepted (far above the seed's 64 and 64).
    public static let batchSizeLimit = 4096
    public static let maxLengthLimit = 4096

    /// Checks every value; the message names the option.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw TrainingError.invalidOption(message) } }
        try check(maxLength >= 2, "max length \(maxLength) must be at least 2 ([CLS] and [SEP])")
        try check(maxLength <= Self.maxLengthLimit, "max length \(maxLength) is above \(Self.maxLengthLimit)")
        try check((1...Self.batchSizeLimit).contains(batchSize), "batch size \(batchSize) must be in 1...\(Self.batchSizeLimit)")
        try check((1...100_000).contains(epochs), "epochs \(epochs) must be in 1...100000")
        try check(learningRate > 0 && learningRate.isFinite, "learning rate \(learningRate) must be positive")
        try check((0..<1).contains(warmupRatio), "warm-up ratio \(warmupRatio) must be in [0, 1)")
        try check(maxGradNorm > 0, "gradient clipping norm \(maxGradNorm) must be positive")
        try check(weightDecay >= 0, "weight decay \(weightDecay) must not be negative")
        try check((0..<1).contains(dropout), "dropout \(dropout) must be in [0, 1)")
    }
}

/// Why training could not start or continue.
public enum TrainingError: Error, CustomStringConvertible, Sendable {
    case invalidOption(String)
    case emptyData(String)
    case checkpoint(String)
    /// The loss or the gradients stopped being finite.
    case diverged(String)

    public var description: String {
        switch self {
        case .diverged(let m): return "training diverged at \(m)"
        case .invalidOption(let m): return "invalid option: \(m)"
        case .emptyData(let m): return m
        case .checkpoint(let m): return "checkpoint: \(m)"
        }
    }
}
