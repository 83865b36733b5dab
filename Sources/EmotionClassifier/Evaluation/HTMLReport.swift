import Foundation

extension TrainingReport {
    /// A self-contained HTML page (inline CSS and SVG, no external assets): settings, training curves,
    /// metrics for all and unseen test rows, per-class tables and confusion matrices.
    public func htmlPage() -> String {
        let epochs = history.map { String($0.epoch) }
        let lossChart = LineChart(
            title: "Training loss", xLabels: epochs,
            series: [.init(name: "train loss", color: "#c05621", values: history.map(\.trainLoss))],
            yRange: nil)
        var accuracySeries: [LineChart.Series] = [
            .init(name: "train accuracy", color: "#2b6cb0", values: history.map(\.trainAccuracy)),
            .init(name: "test accuracy", color: "#2f855a", values: history.map(\.testAccuracy)),
        ]
        if history.contains(where: { $0.unseenTestAccuracy != nil }) {
            accuracySeries.append(.init(name: "unseen test accuracy", color: "#805ad5",
                                        values: history.map { $0.unseenTestAccuracy ?? .nan }))
        }
        let accuracyChart = LineChart(title: "Accuracy", xLabels: epochs, series: accuracySeries, yRange: 0...1)

        var body: [String] = []
        body.append("<h1>Emotion classifier training report</h1>")
        body.append(HTML.table(header: ["Setting", "Value"], rows: settingsRows, className: "settings"))
        body.append("<h2>Training curves</h2>")
        body.append(history.isEmpty ? "<p>No epochs recorded.</p>" : "")
        body.append("<div class=\"charts\">\(lossChart.svg())\(accuracyChart.svg())</div>")
        body.append(HTML.table(
            header: ["Epoch", "Train loss", "Train accuracy", "Test accuracy", "Unseen test accuracy", "Seconds"],
            rows: history.map { epoch in
                [String(epoch.epoch), HTML.number(epoch.trainLoss), HTML.number(epoch.trainAccuracy),
                 HTML.number(epoch.testAccuracy), epoch.unseenTestAccuracy.map { HTML.number($0) } ?? "–",
                 HTML.number(epoch.seconds, digits: 1)]
            }))
        if let evaluation {
            let subsets = [("All test rows", evaluation.all), ("Unseen in training", evaluation.unseen)]
            body.append("<h2>Test metrics</h2>")
            body.append(HTML.table(
                header: ["Rows", "Count", "Accuracy", "Macro F1"],
                rows: subsets.map {
                    [$0.0, String($0.1.count), HTML.number($0.1.accuracy), HTML.number($0.1.macroF1)]
                }))
            for (title, metrics) in subsets {
                body.append("<h2>\(HTML.escape(title))</h2>")
                body.append(HTML.table(
                    header: ["Label", "Precision", "Recall", "F1", "Support"],
                    rows: metrics.perClass.map {
                        [$0.label, HTML.number($0.precision), HTML.number($0.recall), HTML.number($0.f1),
                         String($0.support)]
                    }))
                body.append(ConfusionMatrixChart(title: "Confusion matrix: \(title)", labels: config.data.labels,
                                                 counts: metrics.confusion).svg())
            }
        } else {
            body.append("<p>No test metrics recorded.</p>")
        }
        if let baseline, let evaluation {
            body.append("<h2>BERT beside the character n-gram baseline</h2>")
            body.append("<p>\(HTML.escape(baseline.comparison(with: evaluation))). The baseline: TF-IDF of character "
                        + "\(baseline.options.ngramRange.lowerBound)–\(baseline.options.ngramRange.upperBound)-grams within words "
                        + "(\(baseline.features) features) and logistic regression (C \(baseline.options.C)), fitted on the same "
                        + "training rows in \(HTML.number(baseline.fitSeconds, digits: 1)) s and scored on the same test rows.</p>")
            body.append(HTML.table(
                header: ["Model", "Accuracy (all)", "Macro F1 (all)", "Accuracy (unseen)", "Macro F1 (unseen)"],
                rows: [("BERT", evaluation), ("Character n-gram baseline", baseline.evaluation)].map { name, e in
                    [name, HTML.number(e.all.accuracy), HTML.number(e.all.macroF1),
                     e.unseen.count > 0 ? HTML.number(e.unseen.accuracy) : "–", e.unseen.count > 0 ? HTML.number(e.unseen.macroF1) : "–"]
                }))
            body.append(GroupedBarChart(title: "Per-class F1, all test rows", labels: config.data.labels,
                                        series: [("BERT", "#2b6cb0", evaluation.all.perClass.map(\.f1)),
                                                 ("baseline", "#c05621", baseline.evaluation.all.perClass.map(\.f1))]).svg())
        }

        return """
        <!DOCTYPE html>
        <html lang="ko">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Emotion classifier training report</title>
        <style>
        body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1a202c; padding: 0 1rem; }
        table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
        th, td { border: 1px solid #cbd5e0; padding: 0.25rem 0.6rem; text-align: right; }
        th:first-child, td:first-child { text-align: left; }
        th { background: #edf2f7; }
        table.settings td { text-align: left; }
        .charts { display: flex; flex-wrap: wrap; gap: 1rem; }
        svg { background: #fff; border: 1px solid #e2e8f0; }
        svg text { font-family: system-ui, sans-serif; }
        </style>
        </head>
        <body>
        \(body.filter { !$0.isEmpty }.joined(separator: "\n"))
        </body>
        </html>

        """
    }

    /// Key/value rows describing the run.
    private var settingsRows: [[String]] {
        let data = config.data
        var rows = [
            ["Dataset", data.source],
            ["Encoding", data.encoding.rawValue],
            ["Columns (text, label)", "\(data.textColumn), \(data.labelColumn)" + (data.sheet.map { " (sheet \($0))" } ?? "")],
            ["Labels", data.labels.joined(separator: ", ")],
            ["Examples (skipped rows)", "\(data.exampleCount) (\(data.skippedRows))"],
        ]
        if let split = config.split {
            rows += [
                ["Split", "\(split.mode.rawValue), seed \(split.seed), test fraction \(split.testFraction)"],
                ["Train / test rows", "\(split.trainCount) / \(split.testCount)"],
                ["Test rows also in training", String(split.overlapCount)],
            ]
        } else {
            rows.append(["Split", "none: every row evaluated"])
        }
        rows.append(["Model", config.model])
        if let t = config.training {
            rows += [
                ["Max length, batch size, epochs", "\(t.maxLength), \(t.batchSize), \(t.epochs)"],
                ["Learning rate, warmup ratio", "\(t.learningRate), \(t.warmupRatio)"],
                ["Max grad norm, dropout, weight decay", "\(t.maxGradNorm), \(t.dropout), \(t.weightDecay)"],
                ["Seed, batches cut to their longest sentence", "\(t.seed), \(t.cutPadding)"],
            ]
        }
        return rows + [
            ["Time: load / train / evaluate / total (s)",
             [timing.loadSeconds, timing.trainSeconds, timing.evaluationSeconds, timing.totalSeconds]
                .map { HTML.number($0, digits: 1) }.joined(separator: " / ")],
        ]
    }
}

/// HTML text helpers.
enum HTML {
    /// Escapes text for use in element content and quoted attribute values.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// A number with a fixed count of decimals ("–" for NaN or infinity).
    static func number(_ value: Double, digits: Int = 4) -> String {
        value.isFinite ? String(format: "%.\(digits)f", value) : "–"
    }

    /// An SVG coordinate or length with one decimal.
    static func coordinate(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    /// An inline `<svg>` element of the given size holding `content`, labelled `title` for screen readers.
    static func svg(width: Double, height: Double, title: String, content: [String]) -> String {
        let w = coordinate(width), h = coordinate(height)
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\" "
            + "role=\"img\" aria-label=\"\(escape(title))\">\n" + content.joined(separator: "\n") + "\n</svg>"
    }

    /// A table, optionally with a CSS class; every cell is escaped.
    static func table(header: [String], rows: [[String]], className: String? = nil) -> String {
        let head = header.map { "<th>\(escape($0))</th>" }.joined()
        let body = rows.map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>" }.joined(separator: "\n")
        let classAttribute = className.map { " class=\"\(escape($0))\"" } ?? ""
        return "<table\(classAttribute)>\n<thead><tr>\(head)</tr></thead>\n<tbody>\n\(body)\n</tbody>\n</table>"
    }
}

/// An SVG line chart of per-epoch values.
struct LineChart {
    struct Series {
        var name: String
        var color: String
        /// One value per epoch; non-finite values are left out.
        var values: [Double]
    }

    var title: String
    var xLabels: [String]
    var series: [Series]
    /// The value axis; nil scales from 0 to a little above the largest value.
    var yRange: ClosedRange<Double>?

    private let width = 520.0, height = 300.0
    private let left = 56.0, right = 16.0, top = 40.0, bottom = 44.0

    func svg() -> String {
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let largest = series.flatMap(\.values).filter(\.isFinite).max() ?? 0
        let range = yRange ?? 0...(largest > 0 ? largest * 1.1 : 1)
        func x(_ index: Int) -> Double {
            xLabels.count <= 1 ? left + plotWidth / 2 : left + plotWidth * Double(index) / Double(xLabels.count - 1)
        }
        func y(_ value: Double) -> Double {
            top + plotHeight * (1 - (value - range.lowerBound) / (range.upperBound - range.lowerBound))
        }
        let f = HTML.coordinate

        var parts: [String] = []
        parts.append("<text x=\"\(f(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(HTML.escape(title))</text>")
        for step in 0...5 {
            let value = range.lowerBound + (range.upperBound - range.lowerBound) * Double(step) / 5
            parts.append("<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(y(value)))\" y2=\"\(f(y(value)))\" stroke=\"#e2e8f0\"/>")
            parts.append("<text x=\"\(f(left - 6))\" y=\"\(f(y(value) + 4))\" text-anchor=\"end\" font-size=\"11\">\(HTML.number(value, digits: 2))</text>")
        }
        for (index, label) in xLabels.enumerated() {
            parts.append("<text x=\"\(f(x(index)))\" y=\"\(f(height - bottom + 16))\" text-anchor=\"middle\" font-size=\"11\">\(HTML.escape(label))</text>")
        }
        parts.append("<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\" font-size=\"12\">epoch</text>")
        parts.append("<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#a0aec0\"/>")
        for (number, line) in series.enumerated() {
            let points = line.values.enumerated().filter { $0.element.isFinite }
            let coordinates = points.map { "\(f(x($0.offset))),\(f(y($0.element)))" }.joined(separator: " ")
            parts.append("<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\"/>")
            for point in points {
                parts.append("<circle cx=\"\(f(x(point.offset)))\" cy=\"\(f(y(point.element)))\" r=\"3\" fill=\"\(line.color)\"><title>\(HTML.escape(line.name)), epoch \(HTML.escape(xLabels[point.offset])): \(HTML.number(point.element))</title></circle>")
            }
            let legendY = top + 14 + 16 * Double(number)
            parts.append("<rect x=\"\(f(left + 10))\" y=\"\(f(legendY - 9))\" width=\"10\" height=\"10\" fill=\"\(line.color)\"/>")
            parts.append("<text x=\"\(f(left + 26))\" y=\"\(f(legendY))\" font-size=\"11\">\(HTML.escape(line.name))</text>")
        }
        return HTML.svg(width: width, height: height, title: title, content: parts)
    }
}

/// An SVG heat map of a confusion matrix (rows = true class, columns = predicted class), shaded by the
/// share of each true class.
struct ConfusionMatrixChart {
    var title: String
    var labels: [String]
    var counts: [[Int]]

    func svg() -> String {
        let cell = 56.0, left = 110.0, top = 110.0
        let size = cell * Double(labels.count)
        let width = left + size + 20, height = top + size + 20
        let f = HTML.coordinate

        var parts: [String] = []
        parts.append("<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">\(HTML.escape(title))</text>")
        parts.append("<text x=\"\(f(left + size / 2))\" y=\"40\" text-anchor=\"middle\" font-size=\"12\">predicted</text>")
        parts.append("<text x=\"12\" y=\"\(f(top - 8))\" font-size=\"12\">true</text>")
        for (index, label) in labels.enumerated() {
            let center = Double(index) * cell + cell / 2
            parts.append("<text x=\"\(f(left + center))\" y=\"\(f(top - 8))\" transform=\"rotate(-40 \(f(left + center)) \(f(top - 8)))\" font-size=\"11\">\(HTML.escape(label))</text>")
            parts.append("<text x=\"\(f(left - 8))\" y=\"\(f(top + center + 4))\" text-anchor=\"end\" font-size=\"11\">\(HTML.escape(label))</text>")
        }
        for (trueClass, row) in counts.enumerated() {
            let total = row.reduce(0, +)
            for (predictedClass, count) in row.enumerated() {
                let share = total == 0 ? 0 : Double(count) / Double(total)
                // White (share 0) to #2b6cb0 (share 1).
                let shade = { (full: Double) in Int((255 - (255 - full) * share).rounded()) }
                let fill = "rgb(\(shade(43)),\(shade(108)),\(shade(176)))"
                let x = left + Double(predictedClass) * cell, y = top + Double(trueClass) * cell
                let tooltip = "true \(labels[trueClass]), predicted \(labels[predictedClass]): \(count) (\(HTML.number(share * 100, digits: 1))% of true)"
                parts.append("<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(cell))\" height=\"\(f(cell))\" fill=\"\(fill)\" stroke=\"#cbd5e0\"><title>\(HTML.escape(tooltip))</title></rect>")
                parts.append("<text x=\"\(f(x + cell / 2))\" y=\"\(f(y + cell / 2 + 4))\" text-anchor=\"middle\" font-size=\"12\" fill=\"\(share > 0.5 ? "#fff" : "#1a202c")\">\(count)</text>")
            }
        }
        return HTML.svg(width: width, height: height, title: title, content: parts)
    }
}

/// An SVG bar chart of values in [0, 1], one group of bars per label, one bar per series.
struct GroupedBarChart {
    var title: String
    var labels: [String]
    var series: [(name: String, color: String, values: [Double])]

    func svg() -> String {
        let groupWidth = 24.0 * Double(max(1, series.count)) + 24, left = 48.0, top = 36.0, plot = 200.0
        let width = left + groupWidth * Double(labels.count) + 16, height = top + plot + 48
        var content = ["<text x=\"\(HTML.coordinate(left))\" y=\"20\" font-size=\"14\">\(HTML.escape(title))</text>"]
        for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
            let y = top + plot * (1 - tick)
            content.append("<line x1=\"\(HTML.coordinate(left))\" y1=\"\(HTML.coordinate(y))\" x2=\"\(HTML.coordinate(width - 16))\" y2=\"\(HTML.coordinate(y))\" stroke=\"#e2e8f0\"/>")
            content.append("<text x=\"\(HTML.coordinate(left - 6))\" y=\"\(HTML.coordinate(y + 4))\" font-size=\"11\" text-anchor=\"end\">\(HTML.number(tick, digits: 2))</text>")
        }
        for (g, label) in labels.enumerated() {
            let x0 = left + groupWidth * Double(g) + 12
            for (k, s) in series.enumerated() {
                let v = g < s.values.count && s.values[g].isFinite ? min(1, max(0, s.values[g])) : 0
                let h = plot * v
                content.append("<rect x=\"\(HTML.coordinate(x0 + 24 * Double(k)))\" y=\"\(HTML.coordinate(top + plot - h))\" width=\"20\" height=\"\(HTML.coordinate(h))\" fill=\"\(s.color)\"><title>\(HTML.escape(s.name)) \(HTML.escape(label)): \(HTML.number(v))</title></rect>")
            }
            content.append("<text x=\"\(HTML.coordinate(x0 + 12 * Double(series.count)))\" y=\"\(HTML.coordinate(top + plot + 16))\" font-size=\"11\" text-anchor=\"middle\">\(HTML.escape(label))</text>")
        }
        for (k, s) in series.enumerated() {
            let x = left + 110 * Double(k)
            content.append("<rect x=\"\(HTML.coordinate(x))\" y=\"\(HTML.coordinate(height - 20))\" width=\"12\" height=\"12\" fill=\"\(s.color)\"/>")
            content.append("<text x=\"\(HTML.coordinate(x + 16))\" y=\"\(HTML.coordinate(height - 10))\" font-size=\"12\">\(HTML.escape(s.name))</text>")
        }
        return HTML.svg(width: width, height: height, title: title, content: content)
    }
}
