// The seed dataset's sentences for the whole-dataset golden tests, read with the project's own
// CSV/cp949 loader (EmotionClassifier). Only the test target depends on it; the SentencePiece
// library stays independent.
import EmotionClassifier
import Foundation
import Testing

/// The seed tutorial's dataset (cp949, never in the repository), named by the environment variable
/// `KOBERT_SEED_CSV` (.ci/run sets it when `../shared/data/emotion-dialogue-5th-2.csv` exists). Tests that
/// need it are disabled, with that reason shown, when the variable is unset.
enum SeedData {
    static let url: URL? = ProcessInfo.processInfo.environment["KOBERT_SEED_CSV"]
        .flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
    static let skipReason: Comment = "set KOBERT_SEED_CSV to the seed CSV (emotion-dialogue-5th-2.csv)"
}

enum SeedDatasetReader {
    struct Unavailable: Error, CustomStringConvertible {
        var description: String { "KOBERT_SEED_CSV is not set" }
    }

    struct SkippedRows: Error, CustomStringConvertible {
        let summary: String
        var description: String { "the seed dataset had invalid rows: \(summary)" }
    }

    /// The utterance column of every data row, in file order.
    static func sentences() throws -> [String] {
        guard let url = SeedData.url else { throw Unavailable() }
        let data = try EmotionDataset.load(contentsOf: url, encoding: .cp949)
        if let summary = data.skippedSummary { throw SkippedRows(summary: summary) }
        return data.examples.map(\.text)
    }
}
