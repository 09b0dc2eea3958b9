import Foundation
import Basics
import Evaluation

/// The charts of night.html (`sleepfold stage`): one hypnogram without an expert, and
/// the hypnodensity.
extension ReportSVG {
    /// Fill colour of each stage in the hypnodensity, in `Stage` order (W, N1, N2, N3, REM).
    static let stageColours = ["#f2c14e", "#9ec5e8", "#4a86c5", "#1f3f86", remColour]

    /// The left margin, plot width and time axis the night charts share, so the
    /// hypnogram and the hypnodensity line up epoch for epoch.
    private static let nightWidth = 1100.0, nightLeft = 92.0, nightRight = 18.0

    /// One predicted hypnogram as a step plot over 30-s epochs (W at the top, N3 at the
    /// bottom, REM as a thick bar), with a time axis in hours.
    static func stagedHypnogram(_ stages: [Stage]) -> String {
        let plotWidth = nightWidth - nightLeft - nightRight
        let level = 14.0, pad = 6.0, top = 2.0
        let panelHeight = 4 * level + 2 * pad
        let axisTop = top + panelHeight + 2
        let height = axisTop + 18
        let n = max(stages.count, 1)
        func x(_ epoch: Int) -> Double { nightLeft + plotWidth * Double(epoch) / Double(n) }
        func y(_ stage: Stage) -> Double { top + pad + level * Double(hypnogramOrder.firstIndex(of: stage) ?? 0) }

        var svg = "<svg class=\"hypnogram-plot\" viewBox=\"0 0 \(Int(nightWidth)) \(Int(height))\" role=\"img\">"
        svg += hypnogramPanel(name: "predicted", stages: stages.map { Optional($0) }, left: nightLeft, top: top,
                              width: plotWidth, height: panelHeight, x: x, y: y)
        return svg + timeAxis(epochs: n, top: axisTop) + "</svg>"
    }

    /// The hypnodensity: for every epoch a column of the five class probabilities stacked
    /// bottom-up in `Stage` order (W, N1, N2, N3, REM), each stage one filled step area,
    /// and a legend. `probabilities` is (epochs, 5) row-major.
    static func hypnodensity(_ probabilities: [Float], epochs: Int) -> String {
        let K = Stage.count
        let plotWidth = nightWidth - nightLeft - nightRight
        let top = 8.0, plotHeight = 120.0   // room above for the "100 %" label
        let axisTop = top + plotHeight + 2, legendTop = axisTop + 30
        let height = legendTop + 6
        let n = max(epochs, 1)
        func x(_ epoch: Int) -> Double { nightLeft + plotWidth * Double(epoch) / Double(n) }
        func y(_ share: Double) -> Double { top + plotHeight * (1 - min(max(share, 0), 1)) }

        var svg = "<svg class=\"hypnodensity-plot\" viewBox=\"0 0 \(Int(nightWidth)) \(Int(height))\" role=\"img\">"
        // Cumulative share below each stage's band, per epoch.
        var below = [Double](repeating: 0, count: epochs)
        for (k, stage) in Stage.allCases.enumerated() {
            var upper: [Double] = []
            upper.reserveCapacity(epochs)
            for e in 0..<epochs { upper.append(below[e] + Double(probabilities[e * K + k])) }
            // Step outline: along the top edge left to right, back along the bottom edge.
            var path = "M\(T.coordinate(x(0))),\(T.coordinate(y(below.first ?? 0)))"
            for e in 0..<epochs {
                path += "V\(T.coordinate(y(upper[e])))H\(T.coordinate(x(e + 1)))"
            }
            for e in stride(from: epochs - 1, through: 0, by: -1) {
                path += "V\(T.coordinate(y(below[e])))H\(T.coordinate(x(e)))"
            }
            svg += "<path class=\"density-\(stage.name)\" d=\"\(path)Z\" fill=\"\(stageColours[k])\" stroke=\"none\"/>"
            below = upper
        }
        svg += "<rect x=\"\(T.coordinate(nightLeft))\" y=\"\(T.coordinate(top))\" width=\"\(T.coordinate(plotWidth))\" height=\"\(T.coordinate(plotHeight))\" fill=\"none\" stroke=\"#d0d5dd\"/>"
        for share in [0.0, 0.5, 1.0] {
            svg += "<text x=\"\(T.coordinate(nightLeft - 4))\" y=\"\(T.coordinate(y(share) + 3))\" text-anchor=\"end\" class=\"tick\">\(Int(share * 100)) %</text>"
        }
        svg += "<text x=\"2\" y=\"\(T.coordinate(top + plotHeight / 2 + 4))\" class=\"panel-label\">probability</text>"
        svg += timeAxis(epochs: n, top: axisTop)
        var lx = nightLeft
        for (k, stage) in Stage.allCases.enumerated() {
            svg += "<rect x=\"\(T.coordinate(lx))\" y=\"\(T.coordinate(legendTop - 9))\" width=\"10\" height=\"10\" fill=\"\(stageColours[k])\"/>"
            svg += "<text x=\"\(T.coordinate(lx + 14))\" y=\"\(T.coordinate(legendTop))\" class=\"legend\">\(stage.name)</text>"
            lx += 60
        }
        return svg + "</svg>"
    }

    /// A time axis under a night chart: ticks every 15, 30, 60 or 120 minutes (at most
    /// about 12), labelled from the start of the night.
    private static func timeAxis(epochs n: Int, top axisTop: Double) -> String {
        let plotWidth = nightWidth - nightLeft - nightRight
        let minutes = Double(n) * 0.5
        let step = [15.0, 30, 60, 120, 240].first { minutes / $0 <= 12 } ?? 480
        var svg = "", tick = 0.0
        while tick <= minutes + 0.01 {
            let tx = nightLeft + plotWidth * tick / minutes
            let label = step >= 60 ? "\(Int(tick / 60)) h" : String(format: "%d:%02d", Int(tick) / 60, Int(tick) % 60)
            svg += "<line x1=\"\(T.coordinate(tx))\" x2=\"\(T.coordinate(tx))\" y1=\"\(T.coordinate(axisTop))\" y2=\"\(T.coordinate(axisTop + 4))\" stroke=\"#667085\"/>"
            svg += "<text x=\"\(T.coordinate(tx))\" y=\"\(T.coordinate(axisTop + 14))\" text-anchor=\"middle\" class=\"tick\">\(label)</text>"
            tick += step
        }
        return svg
    }
}
