/// Warnings about a dataset or split whose scores would mislead: printed before training or with an
/// evaluation, so that "macro-F1 1.0" on one class or "accuracy 0 on 0 sentences" is not taken at face
/// value.
public enum DataWarnings {
    /// Warnings about the classes present in `examples`.
    public static func classes(_ examples: [Example], labels: LabelSet) -> [String] {
        let present = Set(examples.map(\.label))
        guard present.count == 1, let only = present.first else { return [] }
        let name = only >= 0 && only < labels.count ? labels.names[only] : String(only)
        return ["only one class (\(name)) occurs in the data: accuracy and macro-F1 say nothing about the model"]
    }

    /// Warnings about a split: no test rows, or no test sentence unseen in training.
    public static func split(_ split: DatasetSplit) -> [String] {
        if split.test.isEmpty { return ["the test split is empty: there is nothing to score"] }
        if split.overlapCount == split.test.count {
            return ["every test sentence also occurs in the training rows: no test sentence is unseen, so there is no unseen-sentence score (--split dedup keeps identical sentences on one side)"]
        }
        return []
    }
}
