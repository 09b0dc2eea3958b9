import Foundation
import Basics
import Recordings
import Evaluation

/// The inline SVG charts of report.html: hypnograms, per-class bars and training
/// curves. Each function returns one `<svg>` element sized by its viewBox (it
/// scales with the page), with all text escaped.
enum ReportSVG {
    typealias T = HTMLText

    // MARK: Hypnogram

    /// Rows of a hypnogram from top to bottom, as sleep medicine draws them:
    /// W, REM, N1, N2, N3 (deeper sleep lower).
    static let hypnogramOrder: [Stage] = [.wake, .rem, .n1, .n2, .n3]

    /// Colour of REM periods, drawn as a thick bar as is customary.
    static let remColour = "#b42318"
    /// Colour of the marks of epochs where the prediction disagrees with the expert.
    static let disagreementColour = "#f08c00"

    /// One night: the expert's stages (top panel) above the predicted stages (bottom
    /// panel) as step plots over 30-s epochs, epochs where they differ marked by a
    /// band behind the prediction and a strip below it, and a time axis in hours.
    ///
    /// - Parameters:
    ///   - truth: the expert stage of each epoch (nil where the night has no prediction).
    ///   - predicted: the predicted stage of each epoch, same length.
    static func hypnogram(truth: [Stage?], predicted: [Stage?]) -> String {
        let width = 1100.0, left = 92.0, right = 18.0
        let plotWidth = width - left - right
        let level = 11.0, panelPad = 5.0
        let panelHeight = 4 * level + 2 * panelPad
        let expertTop = 2.0, predictedTop = expertTop + panelHeight + 6
        let stripTop = predictedTop + panelHeight + 3, stripHeight = 7.0
        let axisTop = stripTop + stripHeight + 2
        let height = axisTop + 18
        let n = max(truth.count, predicted.count, 1)
        func x(_ epoch: Int) -> Double { left + plotWidth * Double(epoch) / Double(n) }

        var svg = "<svg class=\"hypnogram-plot\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        // Disagreements: runs of consecutive epochs where both exist and differ.
        var runs: [(start: Int, end: Int)] = []
        for epoch in 0..<n {
            let t = epoch < truth.count ? truth[epoch] : nil
            let p = epoch < predicted.count ? predicted[epoch] : nil
            guard let t, let p, t != p else { continue }
            if let last = runs.last, last.end == epoch {
                runs[runs.count - 1].end = epoch + 1
            } else {
                runs.append((epoch, epoch + 1))
            }
        }
        for run in runs {
            let x0 = T.coordinate(x(run.start)), w = T.coordinate(max(x(run.end) - x(run.start), 0.6))
            svg += "<rect class=\"differ-band\" x=\"\(x0)\" y=\"\(T.coordinate(predictedTop))\" width=\"\(w)\" height=\"\(T.coordinate(panelHeight))\" fill=\"\(disagreementColour)\" fill-opacity=\"0.22\"/>"
            svg += "<rect class=\"differ\" x=\"\(x0)\" y=\"\(T.coordinate(stripTop))\" width=\"\(w)\" height=\"\(T.coordinate(stripHeight))\" fill=\"\(disagreementColour)\"/>"
        }

        for (name, top, stages) in [("expert", expertTop, truth), ("predicted", predictedTop, predicted)] {
            func y(_ stage: Stage) -> Double {
                top + panelPad + level * Double(hypnogramOrder.firstIndex(of: stage) ?? 0)
            }
            svg += hypnogramPanel(name: name, stages: stages, left: left, top: top, width: plotWidth,
                                  height: panelHeight, x: x, y: y)
        }
        svg += "<text x=\"2\" y=\"\(T.coordinate(stripTop + stripHeight))\" class=\"panel-label\">differ</text>"
        svg += "<rect x=\"\(T.coordinate(left))\" y=\"\(T.coordinate(stripTop))\" width=\"\(T.coordinate(plotWidth))\" height=\"\(T.coordinate(stripHeight))\" fill=\"none\" stroke=\"#d0d5dd\"/>"

        // Time axis: ticks every 15, 30, 60 or 120 minutes, at most about 12 of them.
        let minutes = Double(n) * 0.5
        let step = [15.0, 30, 60, 120, 240].first { minutes / $0 <= 12 } ?? 480
        var tick = 0.0
        while tick <= minutes + 0.01 {
            let tx = left + plotWidth * tick / minutes
            let label = step >= 60 ? "\(Int(tick / 60)) h" : String(format: "%d:%02d", Int(tick) / 60, Int(tick) % 60)
            svg += "<line x1=\"\(T.coordinate(tx))\" x2=\"\(T.coordinate(tx))\" y1=\"\(T.coordinate(axisTop))\" y2=\"\(T.coordinate(axisTop + 4))\" stroke=\"#667085\"/>"
            svg += "<text x=\"\(T.coordinate(tx))\" y=\"\(T.coordinate(axisTop + 14))\" text-anchor=\"middle\" class=\"tick\">\(label)</text>"
            tick += step
        }
        return svg + "</svg>"
    }

    /// The expert and the predicted stage of each epoch of one night, indexed by
    /// epoch: `hypnogram`'s input. A missing epoch is nil (a gap in the plot), a
    /// duplicate keeps the first prediction.
    static func nightStages(_ predictions: [Prediction]) -> (truth: [Stage?], predicted: [Stage?]) {
        let length = (predictions.map(\.epoch).max() ?? -1) + 1
        var truth = [Stage?](repeating: nil, count: length), predicted = [Stage?](repeating: nil, count: length)
        for p in predictions where truth[p.epoch] == nil {
            truth[p.epoch] = p.truth
            predicted[p.epoch] = p.predicted
        }
        return (truth, predicted)
    }

    /// One labelled hypnogram panel: its frame, a grid line and label per stage, the
    /// step plot (a horizontal segment per run of one stage, vertical joins between
    /// adjacent runs, a gap where epochs are missing; class `steps-NAME`) and REM as
    /// thick bars. `x` maps an epoch to its left edge, `y` a stage to its line.
    static func hypnogramPanel(name: String, stages: [Stage?], left: Double, top: Double, width plotWidth: Double,
                               height panelHeight: Double, x: (Int) -> Double, y: (Stage) -> Double) -> String {
        var svg = ""
        svg += "<rect x=\"\(T.coordinate(left))\" y=\"\(T.coordinate(top))\" width=\"\(T.coordinate(plotWidth))\" height=\"\(T.coordinate(panelHeight))\" fill=\"none\" stroke=\"#d0d5dd\"/>"
        for stage in hypnogramOrder {
            svg += "<line x1=\"\(T.coordinate(left))\" x2=\"\(T.coordinate(left + plotWidth))\" y1=\"\(T.coordinate(y(stage)))\" y2=\"\(T.coordinate(y(stage)))\" stroke=\"#eef0f3\"/>"
            svg += "<text x=\"\(T.coordinate(left - 4))\" y=\"\(T.coordinate(y(stage) + 3))\" text-anchor=\"end\" class=\"stage-label\">\(stage.name)</text>"
        }
        svg += "<text x=\"2\" y=\"\(T.coordinate(top + panelHeight / 2 + 4))\" class=\"panel-label\">\(name)</text>"

        let stageRuns = Self.runs(stages)
        var path = "", previousEnd = -1
        for run in stageRuns {
            path += run.start == previousEnd ? "V\(T.coordinate(y(run.stage)))" : "M\(T.coordinate(x(run.start))),\(T.coordinate(y(run.stage)))"
            path += "H\(T.coordinate(x(run.end)))"
            previousEnd = run.end
        }
        if !path.isEmpty {
            svg += "<path class=\"steps-\(name)\" d=\"\(path)\" fill=\"none\" stroke=\"#1d2939\" stroke-width=\"1\"/>"
        }
        for run in stageRuns where run.stage == .rem {
            svg += "<line x1=\"\(T.coordinate(x(run.start)))\" x2=\"\(T.coordinate(max(x(run.end), x(run.start) + 0.8)))\" y1=\"\(T.coordinate(y(.rem)))\" y2=\"\(T.coordinate(y(.rem)))\" stroke=\"\(remColour)\" stroke-width=\"4\"/>"
        }
        return svg
    }

    /// Runs of consecutive epochs of one stage; nil epochs end a run.
    static func runs(_ stages: [Stage?]) -> [(start: Int, end: Int, stage: Stage)] {
        var runs: [(start: Int, end: Int, stage: Stage)] = []
        for (epoch, stage) in stages.enumerated() {
            guard let stage else { continue }
            if let last = runs.last, last.end == epoch, last.stage == stage {
                runs[runs.count - 1].end = epoch + 1
            } else {
                runs.append((epoch, epoch + 1, stage))
            }
        }
        return runs
    }

    // MARK: Per-class bars

    /// Colours of the precision, recall and F1 bars.
    static let scoreColours = ["#9ec5e8", "#4a86c5", "#1f3f86"]

    /// Grouped bars of precision, recall and F1 (0–100 %) for each stage.
    static func classBars(_ metrics: Metrics) -> String {
        let width = 520.0, height = 280.0, left = 36.0, right = 6.0, top = 40.0, bottom = 24.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func y(_ value: Double) -> Double { top + plotHeight * (1 - value) }
        var svg = "<svg class=\"class-bars\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        for fraction in [0.0, 0.25, 0.5, 0.75, 1.0] {
            svg += "<line x1=\"\(T.coordinate(left))\" x2=\"\(T.coordinate(width - right))\" y1=\"\(T.coordinate(y(fraction)))\" y2=\"\(T.coordinate(y(fraction)))\" stroke=\"\(fraction == 0 ? "#667085" : "#eaecf0")\"/>"
            svg += "<text x=\"\(T.coordinate(left - 4))\" y=\"\(T.coordinate(y(fraction) + 3))\" text-anchor=\"end\" class=\"tick\">\(Int(fraction * 100))</text>"
        }
        let names = ["precision", "recall", "F1"]
        for (i, name) in names.enumerated() {
            let lx = left + 8 + Double(i) * 90
            svg += "<rect x=\"\(T.coordinate(lx))\" y=\"6\" width=\"10\" height=\"10\" fill=\"\(scoreColours[i])\"/>"
            svg += "<text x=\"\(T.coordinate(lx + 14))\" y=\"15\" class=\"legend\">\(name)</text>"
        }
        let group = plotWidth / Double(Stage.count), bar = group * 0.24
        for (index, stage) in Stage.allCases.enumerated() {
            let scores = metrics[stage]
            let values = [scores.precision, scores.recall, scores.f1]
            let x0 = left + group * Double(index) + (group - 3 * bar) / 2
            for (i, value) in values.enumerated() {
                let v = value.isFinite ? min(max(value, 0), 1) : 0
                let bx = x0 + Double(i) * bar
                svg += "<rect x=\"\(T.coordinate(bx + 1))\" y=\"\(T.coordinate(y(v)))\" width=\"\(T.coordinate(bar - 2))\" height=\"\(T.coordinate(plotHeight * v))\" fill=\"\(scoreColours[i])\"><title>\(stage.name) \(names[i]) \(T.percent(v)) %</title></rect>"
                svg += "<text x=\"\(T.coordinate(bx + bar / 2))\" y=\"\(T.coordinate(y(v) - 3))\" text-anchor=\"middle\" class=\"bar-value\">\(Int((v * 100).rounded()))</text>"
            }
            svg += "<text x=\"\(T.coordinate(left + group * (Double(index) + 0.5)))\" y=\"\(T.coordinate(height - 8))\" text-anchor=\"middle\" class=\"axis-label\">\(stage.name)</text>"
        }
        return svg + "</svg>"
    }

    // MARK: Line chart

    /// One line of a chart: a value (or nil) per epoch.
    struct Series {
        var name: String
        var colour: String
        var dashed: Bool
        var values: [(epoch: Int, value: Double?)]
    }

    /// A small line chart over training epochs with a dashed line at `marker`
    /// (the chosen epoch). The y range is `yRange`, or 0 to the largest value.
    static func lineChart(title: String, series: [Series], epochs: Int, marker: Int?,
                          yRange: ClosedRange<Double>? = nil) -> String {
        let width = 300.0, height = 150.0, left = 38.0, right = 8.0, top = 20.0, bottom = 22.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let values = series.flatMap { $0.values.compactMap(\.value) }.filter(\.isFinite)
        let range: ClosedRange<Double> = yRange ?? 0...max(values.max() ?? 1, 1e-9) * 1.08
        let span = range.upperBound - range.lowerBound
        let lastEpoch = max(epochs, 1)
        func x(_ epoch: Int) -> Double {
            lastEpoch == 1 ? left + plotWidth / 2 : left + plotWidth * Double(epoch - 1) / Double(lastEpoch - 1)
        }
        func y(_ value: Double) -> Double {
            top + plotHeight * (1 - (min(max(value, range.lowerBound), range.upperBound) - range.lowerBound) / span)
        }
        var svg = "<svg class=\"line-chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        svg += "<text x=\"\(T.coordinate(left))\" y=\"12\" class=\"chart-title\">\(T.escape(title))</text>"
        for fraction in [0.0, 0.5, 1.0] {
            let value = range.lowerBound + span * fraction
            svg += "<line x1=\"\(T.coordinate(left))\" x2=\"\(T.coordinate(width - right))\" y1=\"\(T.coordinate(y(value)))\" y2=\"\(T.coordinate(y(value)))\" stroke=\"\(fraction == 0 ? "#98a2b3" : "#eaecf0")\"/>"
            svg += "<text x=\"\(T.coordinate(left - 4))\" y=\"\(T.coordinate(y(value) + 3))\" text-anchor=\"end\" class=\"tick\">\(String(format: span < 0.1 ? "%.3f" : "%.2f", value))</text>"
        }
        let ticks = Array(Set([1, (lastEpoch + 1) / 2, lastEpoch])).sorted()
        for epoch in ticks {
            svg += "<text x=\"\(T.coordinate(x(epoch)))\" y=\"\(T.coordinate(height - 8))\" text-anchor=\"middle\" class=\"tick\">\(epoch)</text>"
        }
        if let marker, marker >= 1, marker <= lastEpoch {
            svg += "<line class=\"chosen\" x1=\"\(T.coordinate(x(marker)))\" x2=\"\(T.coordinate(x(marker)))\" y1=\"\(T.coordinate(top))\" y2=\"\(T.coordinate(top + plotHeight))\" stroke=\"#667085\" stroke-dasharray=\"3 3\"/>"
        }
        var legendX = width - right
        for line in series.reversed() {
            let label = T.escape(line.name)
            legendX -= Double(line.name.count) * 6.2 + 24
            svg += "<line x1=\"\(T.coordinate(legendX))\" x2=\"\(T.coordinate(legendX + 12))\" y1=\"9\" y2=\"9\" stroke=\"\(line.colour)\" stroke-width=\"2\"\(line.dashed ? " stroke-dasharray=\"4 2\"" : "")/>"
            svg += "<text x=\"\(T.coordinate(legendX + 15))\" y=\"12\" class=\"legend\">\(label)</text>"
        }
        for line in series {
            var path = "", penDown = false
            for point in line.values {
                guard let value = point.value, value.isFinite else { penDown = false; continue }
                path += "\(penDown ? "L" : "M")\(T.coordinate(x(point.epoch))),\(T.coordinate(y(value)))"
                penDown = true
            }
            guard !path.isEmpty else { continue }
            svg += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(line.colour)\" stroke-width=\"1.6\"\(line.dashed ? " stroke-dasharray=\"4 2\"" : "")/>"
            if lastEpoch <= 40 {
                for point in line.values {
                    guard let value = point.value, value.isFinite else { continue }
                    svg += "<circle cx=\"\(T.coordinate(x(point.epoch)))\" cy=\"\(T.coordinate(y(value)))\" r=\"1.8\" fill=\"\(line.colour)\"/>"
                }
            }
        }
        return svg + "</svg>"
    }
}
