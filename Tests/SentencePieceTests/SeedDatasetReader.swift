// The seed dataset's sentences for the whole-dataset golden tests, read with the project's own
// CSV/cp949 loader (EmotionClassifier). Only the test target depends on it; the SentencePiece
// library stays independent.
import EmotionClassifier
import Foundation

enum SeedDatasetReader {
    /// `<package root>/../shared/data/emotion-dialogue-5th-2.csv`.
    static var url: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("shared/data/emotion-dialogue-5th-2.csv")
    }

    /// The utterance column of every data row, in file order.
    static func sentences() throws -> [String] {
        let data = try EmotionDataset.load(contentsOf: url, encoding: .cp949)
        precondition(data.skipped.isEmpty)
        return data.examples.map(\.text)
    }
}
