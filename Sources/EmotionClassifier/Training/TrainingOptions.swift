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
    /// Print a log line every this many batches (the seed's `log_interval`).
    public var logInterval = 200
    /// Seeds dropout (and a fresh model's initialization).
    public var seed: UInt64 = 42
    /// Cut each batch to its longest sentence instead of padding to `maxLength` (the seed pads).
    /// Padding is masked and the engine computes real tokens only, so this changes neither the
    /// result nor, much, the time; it only sizes the attention-probability blocks.
    public var cutPadding = true

    public init() {}

    /// Checks every value; the message names the option.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw TrainingError.invalidOption(message) } }
        try check(maxLength >= 2, "max length \(maxLength) must be at least 2 ([CLS] and [SEP])")
        try check(batchSize >= 1, "batch size \(batchSize) must be positive")
        try check(epochs >= 1, "epochs \(epochs) must be positive")
        try check(learningRate > 0 && learningRate.isFinite, "learning rate \(learningRate) must be positive")
        try check((0..<1).contains(warmupRatio), "warm-up ratio \(warmupRatio) must be in [0, 1)")
        try check(maxGradNorm > 0, "gradient clipping norm \(maxGradNorm) must be positive")
        try check(weightDecay >= 0, "weight decay \(weightDecay) must not be negative")
        try check((0..<1).contains(dropout), "dropout \(dropout) must be in [0, 1)")
        try check(logInterval >= 1, "log interval \(logInterval) must be positive")
    }
}

/// Why training could not start or continue.
public enum TrainingError: Error, CustomStringConvertible, Sendable {
    case invalidOption(String)
    case emptyData(String)
    case checkpoint(String)

    public var description: String {
        switch self {
        case .invalidOption(let m): return "invalid option: \(m)"
        case .emptyData(let m): return m
        case .checkpoint(let m): return "checkpoint: \(m)"
        }
    }
}
