import Foundation
import Basics
import Evaluation

extension ReportSVG {
    /// Colours of seeds in the difference plot (cycled when there are more seeds).
    static let seedColours = ["#1f3f86", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285"]

    /// One row of the difference plot: an arm's paired differences against the baseline.
    struct DifferenceRow {
        var label: String
        var pairs: [PairedDifferences.Pair]
        var mean: Double?
    }

    /// Paired per-fold differences arm − baseline, one row per arm: a dot per
    /// (fold, seed) pair at its difference (coloured by seed, spread vertically by
    /// seed so equal values stay visible), a bar at the mean, and the zero line.
    /// The x axis is symmetric around zero, in percentage points (`percent`) or in
    /// the score's own units.
    static func differences(_ rows: [DifferenceRow], seeds: [UInt64], percent: Bool) -> String {
        let width = 760.0, left = 140.0, right = 20.0, top = 26.0, rowHeight = 30.0, bottom = 30.0
        let plotWidth = width - left - right
        let height = top + rowHeight * Double(max(rows.count, 1)) + bottom
        let unit = percent ? 100.0 : 1.0

        // Half-width of the axis: the largest |difference|, at least 0.5 pp (0.005), with a margin.
        let largest = rows.flatMap { $0.pairs.map { abs($0.difference) } }.filter(\.isFinite).max() ?? 0
        let half = max(largest, 0.005) * 1.1
        func x(_ value: Double) -> Double { left + plotWidth * (min(max(value, -half), half) + half) / (2 * half) }
        // Tick step: the smallest of 1, 2, 5 × 10^k giving at most 4 ticks each side.
        let step = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1].first { half / $0 <= 4 } ?? 1

        var svg = "<svg class=\"difference-plot\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        // Legend: one colour per seed, and the mean bar.
        var legendX = left
        for (index, seed) in seeds.enumerated() {
            svg += "<circle cx=\"\(T.coordinate(legendX + 5))\" cy=\"10\" r=\"4\" fill=\"\(seedColours[index % seedColours.count])\"/>"
            svg += "<text x=\"\(T.coordinate(legendX + 13))\" y=\"14\" class=\"legend\">seed \(seed)</text>"
            legendX += 70
        }
        svg += "<line x1=\"\(T.coordinate(legendX))\" x2=\"\(T.coordinate(legendX))\" y1=\"4\" y2=\"16\" stroke=\"#101828\" stroke-width=\"2.5\"/>"
        svg += "<text x=\"\(T.coordinate(legendX + 6))\" y=\"14\" class=\"legend\">mean</text>"

        let plotBottom = top + rowHeight * Double(rows.count)
        var tick = -(half / step).rounded(.down) * step
        while tick <= half + 1e-12 {
            let tx = x(tick), isZero = abs(tick) < step / 2
            svg += "<line x1=\"\(T.coordinate(tx))\" x2=\"\(T.coordinate(tx))\" y1=\"\(T.coordinate(top))\" y2=\"\(T.coordinate(plotBottom))\" stroke=\"\(isZero ? "#667085" : "#eaecf0")\"\(isZero ? " class=\"zero\"" : "")/>"
            let label = isZero ? "0" : String(format: percent ? "%+.1f" : "%+.3f", tick * unit)
            svg += "<text x=\"\(T.coordinate(tx))\" y=\"\(T.coordinate(plotBottom + 14))\" text-anchor=\"middle\" class=\"tick\">\(label)</text>"
            tick += step
        }
        svg += "<text x=\"\(T.coordinate(left + plotWidth / 2))\" y=\"\(T.coordinate(plotBottom + 27))\" text-anchor=\"middle\" class=\"tick\">"
        svg += "arm − baseline\(percent ? " (percentage points)" : "")</text>"

        let seedIndex = Dictionary(uniqueKeysWithValues: seeds.enumerated().map { ($1, $0) })
        for (r, row) in rows.enumerated() {
            let centre = top + rowHeight * (Double(r) + 0.5)
            svg += "<line x1=\"\(T.coordinate(left))\" x2=\"\(T.coordinate(width - right))\" y1=\"\(T.coordinate(centre + rowHeight / 2))\" y2=\"\(T.coordinate(centre + rowHeight / 2))\" stroke=\"#f2f4f7\"/>"
            svg += "<text x=\"\(T.coordinate(left - 6))\" y=\"\(T.coordinate(centre + 4))\" text-anchor=\"end\" class=\"axis-label\">\(T.escape(row.label))</text>"
            for pair in row.pairs {
                let index = seedIndex[pair.seed] ?? 0
                // Seeds side by side vertically, centred on the row.
                let offset = (Double(index) - Double(seeds.count - 1) / 2) * min(6, (rowHeight - 10) / Double(max(seeds.count, 1)))
                let value = String(format: percent ? "%+.2f pp" : "%+.3f", pair.difference * unit)
                svg += "<circle class=\"pair\" cx=\"\(T.coordinate(x(pair.difference)))\" cy=\"\(T.coordinate(centre + offset))\" r=\"3.2\" "
                svg += "fill=\"\(seedColours[index % seedColours.count])\" fill-opacity=\"0.8\"><title>fold \(pair.fold), seed \(pair.seed): \(value)</title></circle>"
            }
            if let mean = row.mean, mean.isFinite {
                svg += "<line class=\"mean\" x1=\"\(T.coordinate(x(mean)))\" x2=\"\(T.coordinate(x(mean)))\" y1=\"\(T.coordinate(centre - rowHeight * 0.4))\" y2=\"\(T.coordinate(centre + rowHeight * 0.4))\" stroke=\"#101828\" stroke-width=\"2.5\"/>"
            }
        }
        return svg + "</svg>"
    }
}
