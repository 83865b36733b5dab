import Foundation
import Testing
@testable import EmotionClassifier

/// The seed tutorial's dataset (cp949, outside the repository). Expected numbers come from its README and
/// from `Scripts/check_split.py` (`seedData` in the split fixture).
@Suite(.enabled(if: SeedData.url != nil, "set KOBERT_SEED_CSV to the seed CSV (emotion-dialogue-5th-2.csv)"))
struct SeedDataTests {
    @Test func seedDatasetLoadsAndSplitsLikeTheSeed() throws {
        let reference = try #require(SplitReference.load().seedData, "fixture lacks seedData; rerun Scripts/check_split.py")
        let dataset = try EmotionDataset.load(contentsOf: try #require(SeedData.url))
        #expect(dataset.encoding == .cp949)
        #expect(dataset.examples.count == 19374)
        #expect(dataset.examples.count == reference.rows)
        #expect(dataset.skipped.isEmpty)
        #expect(scalars(dataset.examples[0].text) == scalars("헐! 나 이벤트에 당첨 됐어."))
        #expect(dataset.examples[0].label == 5)

        // README: happiness 4548, angry 3263, neutral 3253, sadness 2848, disgust 2321, surprise 1755, fear 1386.
        let readmeCounts = ["fear": 1386, "surprise": 1755, "angry": 3263, "sadness": 2848, "neutral": 3253,
                            "happiness": 4548, "disgust": 2321]
        #expect(dataset.labelCounts == dataset.labels.names.map { readmeCounts[$0]! })

        #expect(dataset.repeatedRowCount() == 3237)
        #expect(dataset.repeatedRowCount(trimmingWhitespace: true) == reference.repeatedTrimmed)

        let split = try DatasetSplit(examples: dataset.examples)
        #expect(split.train.count == 15499)
        #expect(split.test.count == 3875)
        #expect(split.overlapCount == reference.randomOverlap)
        print("seed split: \(split.train.count)/\(split.test.count), \(split.overlapCount) test rows seen in training")

        let dedup = try DatasetSplit(examples: dataset.examples, mode: .dedup)
        reference.dedup.expectMatches(train: dedup.trainIndices, test: dedup.testIndices)
        #expect(dedup.overlapCount == 0)

        // Dialogue split: every run of same-label adjacent rows (8,476 in this file) on one side.
        let dialogue = try DatasetSplit(examples: dataset.examples, mode: .dialogue)
        let testSet = Set(dialogue.testIndices)
        var runs = 1
        for i in 1..<dataset.examples.count where dataset.examples[i].label != dataset.examples[i - 1].label {
            runs += 1
        }
        #expect(runs == 8476)
        for i in 1..<dataset.examples.count where dataset.examples[i].label == dataset.examples[i - 1].label {
            #expect(testSet.contains(i) == testSet.contains(i - 1), "rows \(i - 1) and \(i) of one run are split")
        }
        #expect(dialogue.trainIndices.count + dialogue.testIndices.count == dataset.examples.count)
        #expect(abs(Double(dialogue.testIndices.count) / Double(dataset.examples.count) - 0.2) < 0.01)
        print("dialogue split: \(dialogue.train.count)/\(dialogue.test.count), \(dialogue.overlapCount) test rows seen in training")
    }
}
