import Foundation
import Testing
@testable import EmotionClassifier

@Suite struct ReportTests {
    /// A small report with two epochs and final metrics; one label needs HTML escaping.
    func sampleReport(trainLoss: Double = 0.25) throws -> TrainingReport {
        let labels = try LabelSet(names: ["<joy & \"fun\">", "gloom"])
        let examples = (0..<10).map { Example(text: "문장 \($0 % 6)", label: $0 % 2, row: $0 + 1) }
        let dataset = EmotionDataset(examples: examples, labels: labels, source: "sample.csv")
        let split = try DatasetSplit(examples: dataset.examples)
        let evaluation = try Evaluation(split: split, predicted: [1, 0], labels: labels)
        return TrainingReport(
            config: .init(data: .init(dataset), split: .init(split), model: "kobert-base",
                          training: TrainingOptions()),
            history: [
                .init(epoch: 1, trainLoss: 0.9, trainAccuracy: 0.6, testAccuracy: 0.5, seconds: 12.5),
                .init(epoch: 2, trainLoss: trainLoss, trainAccuracy: 0.9, testAccuracy: 0.75,
                      unseenTestAccuracy: 0.7, seconds: 11),
            ],
            evaluation: evaluation,
            timing: .init(loadSeconds: 0.5, trainSeconds: 23.5, evaluationSeconds: 1, totalSeconds: 25))
    }

    @Test func jsonRoundTrip() throws {
        let report = try sampleReport()
        let directory = try temporaryDirectory()
        let files = try report.write(to: directory)
        let decoded = try TrainingReport.read(from: files.json)
        #expect(decoded == report)
        #expect(decoded.config.split?.overlapCount == report.config.split?.overlapCount)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(leftovers == ["report.html", "report.json"])
    }

    @Test func nonFiniteLossSurvivesJSON() throws {
        let report = try sampleReport(trainLoss: .nan)
        let json = String(decoding: try report.jsonData(), as: UTF8.self)
        #expect(json.contains("\"NaN\""))
        let directory = try temporaryDirectory()
        let decoded = try TrainingReport.read(from: report.write(to: directory).json)
        #expect(decoded.history[1].trainLoss.isNaN)
    }

    @Test func htmlIsSelfContainedWithChartsAndEscapedText() throws {
        let report = try sampleReport()
        let html = try String(contentsOf: report.write(to: temporaryDirectory()).html, encoding: .utf8)
        let svgCount = html.components(separatedBy: "<svg").count - 1
        #expect(svgCount == 4)  // loss, accuracy, two confusion matrices
        #expect(html.contains("<polyline"))
        #expect(html.contains("&lt;joy &amp; &quot;fun&quot;&gt;"))
        #expect(!html.contains("<joy"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("<link"))
        #expect(!html.contains("src="))
        #expect(html.contains("<td>Unseen in training</td>"))
    }

    @Test func htmlWithoutHistoryOrMetrics() throws {
        var report = try sampleReport()
        report.history = []
        report.evaluation = nil
        let html = report.htmlPage()
        #expect(html.contains("No epochs recorded."))
        #expect(html.contains("No test metrics recorded."))
        #expect(html.contains("<svg"))
    }

    @Test func writingIntoAFileFails() throws {
        let file = try temporaryFile("not a directory")
        #expect(throws: ReportError.self) { try sampleReport().write(to: file) }
    }

    @Test func escapesAllSpecialCharacters() {
        #expect(HTML.escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;")
    }
}
