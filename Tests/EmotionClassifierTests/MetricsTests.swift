import Testing
@testable import EmotionClassifier

/// Hand-computed example (the same numbers as sklearn 1.x with zero_division=0):
///   truth     = [0,0,0,0,1,1,2,2,2]
///   predicted = [0,0,1,3,1,0,2,2,1]
///   confusion = [[2,1,0,1,0],[1,1,0,0,0],[0,1,2,0,0],[0,0,0,0,0],[0,0,0,0,0]]
///   class a: P 2/3, R 2/4, F1 4/7; class b: P 1/3, R 1/2, F1 2/5; class c: P 2/2, R 2/3, F1 4/5;
///   class d: predicted once, never true: P 0/1, R 0/0 -> 0, F1 0; class e: absent, all 0.
///   accuracy 5/9; macro F1 over classes present in truth or predictions (a..d) = (4/7 + 2/5 + 4/5 + 0) / 4.
@Suite struct MetricsTests {
    let labels = ["a", "b", "c", "d", "e"]
    let truth = [0, 0, 0, 0, 1, 1, 2, 2, 2]
    let predicted = [0, 0, 1, 3, 1, 0, 2, 2, 1]

    @Test func handComputedExample() throws {
        let metrics = try ClassificationMetrics(truth: truth, predicted: predicted, labels: labels)
        #expect(metrics.confusion == [[2, 1, 0, 1, 0], [1, 1, 0, 0, 0], [0, 1, 2, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
        #expect(metrics.count == 9)
        #expect(metrics.perClass.map(\.support) == [4, 2, 3, 0, 0])
        #expect(metrics.perClass.map(\.predicted) == [3, 3, 2, 1, 0])

        let expected: [(String, Double, Double)] = [
            ("accuracy", metrics.accuracy, 5.0 / 9),
            ("macro F1", metrics.macroF1, (4.0 / 7 + 2.0 / 5 + 4.0 / 5 + 0) / 4),
            ("precision a", metrics.perClass[0].precision, 2.0 / 3), ("recall a", metrics.perClass[0].recall, 0.5),
            ("F1 a", metrics.perClass[0].f1, 4.0 / 7),
            ("precision b", metrics.perClass[1].precision, 1.0 / 3), ("recall b", metrics.perClass[1].recall, 0.5),
            ("F1 b", metrics.perClass[1].f1, 0.4),
            ("precision c", metrics.perClass[2].precision, 1), ("recall c", metrics.perClass[2].recall, 2.0 / 3),
            ("F1 c", metrics.perClass[2].f1, 0.8),
            ("precision d", metrics.perClass[3].precision, 0), ("recall d", metrics.perClass[3].recall, 0),
            ("F1 d", metrics.perClass[3].f1, 0),
            ("precision e", metrics.perClass[4].precision, 0), ("recall e", metrics.perClass[4].recall, 0),
            ("F1 e", metrics.perClass[4].f1, 0),
        ]
        let tolerance = 1e-12
        let worst = expected.map { ($0.0, abs($0.1 - $0.2)) }.max { $0.1 < $1.1 }!
        print("metrics: largest absolute error \(worst.1) (\(worst.0)), tolerance \(tolerance)")
        for (name, actual, reference) in expected {
            #expect(abs(actual - reference) <= tolerance, "\(name): \(actual) vs \(reference)")
        }
    }

    @Test func emptyInputIsAllZero() throws {
        let metrics = try ClassificationMetrics(truth: [], predicted: [], labels: labels)
        #expect(metrics.accuracy == 0)
        #expect(metrics.macroF1 == 0)
        #expect(metrics.perClass.allSatisfy { $0.precision == 0 && $0.recall == 0 && $0.f1 == 0 })
    }

    @Test func badInputIsRejected() {
        #expect(throws: MetricsError.lengthMismatch(truth: 2, predicted: 1)) {
            try ClassificationMetrics(truth: [0, 1], predicted: [0], labels: labels)
        }
        #expect(throws: MetricsError.classOutOfRange(id: 5, position: 1, classCount: 5)) {
            try ClassificationMetrics(truth: [0, 1], predicted: [0, 5], labels: labels)
        }
    }

    /// The unseen subset drops test rows whose sentence occurs in training.
    @Test func evaluationSplitsAllAndUnseen() throws {
        var texts = (0..<10).map { "문장 \($0)" }
        texts[9] = texts[2]  // split (n=10, seed 32): test rows [9, 1]; row 9 repeats training row 2
        let examples = texts.enumerated().map { Example(text: $1, label: $0 % 2, row: $0 + 1) }
        let split = try DatasetSplit(examples: examples)
        let labels = try LabelSet(names: ["even", "odd"])
        // truth for test rows [9, 1] is [1, 1]; predict [0, 1]
        let evaluation = try Evaluation(split: split, predicted: [0, 1], labels: labels)
        #expect(evaluation.all.count == 2)
        #expect(evaluation.all.accuracy == 0.5)
        #expect(evaluation.unseen.count == 1)
        #expect(evaluation.unseen.accuracy == 1)
        #expect(evaluation.unseen.confusion == [[0, 0], [0, 1]])
    }
}
