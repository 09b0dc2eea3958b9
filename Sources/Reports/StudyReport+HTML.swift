import Foundation
import Basics
import Evaluation

extension StudyReport {
    /// study.html: the study as one self-contained page (inline CSS and SVG, no
    /// script, nothing loaded) — the arms, the seed-experiment table, each arm
    /// against the baseline with a plot of the per-fold differences, the leakage of
    /// test-fold selection, utilisation, then `sections` in the order given.
    ///
    /// - Parameter sections: sections to append (e.g. one per arm).
    /// - Returns: the page; every name and id from the input escaped.
    public func html(appending sections: [StudyHTMLSection] = []) -> String {
        var page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        page += "<title>\(T.escape(title))</title>\n<style>\n\(Self.studyStyle)"
        for section in sections where !section.style.isEmpty {
            // A style sheet cannot be closed from inside a rule, whatever the caller passes.
            page += section.style.replacingOccurrences(of: "</", with: "<\\/") + "\n"
        }
        page += "</style>\n</head>\n<body>\n"
        page += "<header>\n<h1>\(T.escape(title))</h1>\n"
        page += "<p class=\"subtitle\">sleepfold \(T.escape(sleepfoldVersion)) · \(subjects) subjects · \(folds) subject-wise folds, "
        page += "the same for every run · baseline <strong>\(T.escape(baseline))</strong></p>\n</header>\n<main>\n"
        page += htmlArms()
        page += htmlSeeds()
        page += htmlComparisons()
        page += htmlLeakage()
        page += htmlUtilisation()
        for section in sections {
            page += "<section id=\"\(T.escape(section.id))\" class=\"appended\">\n<h2>\(T.escape(section.title))</h2>\n"
            page += section.body + "\n</section>\n"
        }
        page += "</main>\n<footer>Written by sleepfold \(T.escape(sleepfoldVersion)) (study.json schema \(schemaVersion)). "
        page += "Scores in percent, kappa as a fraction, differences in percentage points; – marks an undefined value. "
        page += "The same numbers are in study.md and study.json.</footer>\n</body>\n</html>\n"
        return page
    }

    /// Writes study.html to `url` atomically.
    public func writeHTML(to url: URL, appending sections: [StudyHTMLSection] = []) throws(SleepfoldError) {
        try AtomicFile.write(Data(html(appending: sections).utf8), to: url)
    }

    private typealias T = HTMLText

    // MARK: Sections

    private func htmlArms() -> String {
        var html = "<section id=\"arms\">\n<h2>Arms</h2>\n<ul class=\"arms\">\n"
        for arm in arms {
            html += "<li data-arm=\"\(T.escape(arm.name))\"><strong>\(T.escape(arm.name))</strong>"
            html += arm.name == baseline ? " <span class=\"tag\">baseline</span>" : ""
            html += ": \(T.escape(Self.describe(arm))); runs "
            html += arm.runs.map { "<code>\(T.escape($0.directory))</code>" + ($0.paperDirectory.map { " + <code>\(T.escape($0))</code>" } ?? "") }
                .joined(separator: ", ")
            html += "</li>\n"
        }
        return html + "</ul>\n</section>\n"
    }

    private func htmlSeeds() -> String {
        var html = "<section id=\"seeds\">\n<h2>Seed experiment</h2>\n"
        html += "<p class=\"note\">Each seed's run pooled over its folds; mean ± sample sd over seeds. Selections: "
        html += presentSelections.map { "<strong>\($0.rawValue)</strong> — \(T.escape(Self.describe($0)))" }.joined(separator: "; ")
        html += ".</p>\n<div class=\"wide\">\n<table class=\"numbers seeds\">\n<thead><tr>"
        for name in ["arm", "model", "batch", "parameters", "FLOPs/sample", "selection", "accuracy", "macro-F1", "κ"]
            + Stage.allCases.map({ "F1 \($0.name)" }) {
            html += "<th>\(name)</th>"
        }
        html += "</tr></thead>\n<tbody>\n"
        for arm in arms {
            let selections = Selection.allCases.filter { arm.pooled[$0] != nil }
            let span = max(selections.count, 1)
            let head = "<th rowspan=\"\(span)\">\(T.escape(arm.name))</th><td rowspan=\"\(span)\">\(T.escape(arm.model))</td>"
                + "<td rowspan=\"\(span)\">\(arm.batchSize)</td><td rowspan=\"\(span)\">\(Self.parameters(arm.parameters))</td>"
                + "<td rowspan=\"\(span)\">\(Self.flops(arm.flopsPerSample))</td>"
            if selections.isEmpty {
                html += "<tr class=\"arm-start\">\(head)<td colspan=\"9\" class=\"note\">no predictions</td></tr>\n"
            }
            for (index, selection) in selections.enumerated() {
                let scores = arm.pooled[selection]!
                let leaky = selection == .testOracle || selection == .paper
                html += "<tr\(index == 0 ? " class=\"arm-start\"" : "") data-arm=\"\(T.escape(arm.name))\" data-selection=\"\(selection.rawValue)\">"
                html += index == 0 ? head : ""
                html += "<td class=\"selection\(leaky ? " bad" : "")\">\(selection.rawValue)</td>"
                var cells = [Self.format(scores.accuracy, .accuracy), Self.format(scores.macroF1, .macroF1), Self.format(scores.kappa, .kappa)]
                cells += scores.perClassF1.map { Self.format($0, .macroF1) }
                html += cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
            }
        }
        return html + "</tbody>\n</table>\n</div>\n</section>\n"
    }

    private func htmlComparisons() -> String {
        var html = "<section id=\"comparisons\">\n<h2>Against the baseline (\(T.escape(baseline)))</h2>\n"
        guard !comparisons.isEmpty else {
            let why = arms.count < 2 ? "the study has one arm" : "no other arm shares a selection with the baseline"
            return html + "<p class=\"note\">No comparison: \(why).</p>\n</section>\n"
        }
        html += "<p class=\"note\">Per-fold differences arm − baseline over (fold, seed) pairs, each fold scored on its own test "
        html += "predictions; the Wilcoxon signed-rank test of them (two-sided), its p adjusted by Holm across the arms of each "
        html += "selection and score; and the pooled difference (each seed's run pooled over its folds, mean over seeds) with "
        html += "a 95 % percentile bootstrap interval that resamples subjects.</p>\n"
        let seeds = arms.first?.runs.map(\.seed) ?? []
        for selection in Self.comparedSelections where comparisons.contains(where: { $0.selection == selection }) {
            html += "<h3>Selection \(selection.rawValue)</h3>\n<div class=\"wide\">\n<table class=\"numbers comparisons\">\n<thead><tr>"
            for name in ["arm", "score", "pairs", "mean Δ", "median Δ", "W", "p", "Holm p", "pooled Δ", "95 % interval", "replicates"] {
                html += "<th>\(name)</th>"
            }
            html += "</tr></thead>\n<tbody>\n"
            for score in Self.comparedScores {
                for c in comparisons(selection, score) {
                    let b = c.bootstrap
                    let excludesZero = (b.low ?? 0) > 0 || (b.high ?? 0) < 0
                    var cells = ["<th>\(T.escape(c.arm))</th>", "<td>\(Self.describe(score))</td>", "<td>\(c.pairs)</td>",
                                 "<td>\(Self.signed(c.meanDifference, score))</td>", "<td>\(Self.signed(c.medianDifference, score))</td>",
                                 "<td>\(c.wilcoxon.p == nil ? "–" : String(format: "%g", c.wilcoxon.statistic))</td>",
                                 "<td>\(Self.pValue(c.wilcoxon.p))</td>",
                                 "<td class=\"holm\(c.holmP.map { $0 < 0.05 } ?? false ? " significant" : "")\">\(Self.pValue(c.holmP))</td>"]
                    cells += ["<td>\(Self.signed(b.estimate, score))</td>",
                              "<td\(excludesZero ? " class=\"significant\"" : "")>[\(Self.signed(b.low, score)), \(Self.signed(b.high, score))]</td>",
                              "<td>\(b.definedReplicates) of \(b.replicates)</td>"]
                    html += "<tr data-arm=\"\(T.escape(c.arm))\" data-score=\"\(score.rawValue)\">" + cells.joined() + "</tr>\n"
                }
            }
            html += "</tbody>\n</table>\n</div>\n"
            for score in Self.comparedScores {
                let rows = comparisons(selection, score).map {
                    ReportSVG.DifferenceRow(label: $0.arm, pairs: $0.differences, mean: $0.meanDifference)
                }
                guard !rows.isEmpty else { continue }
                html += "<figure class=\"differences\" data-selection=\"\(selection.rawValue)\" data-score=\"\(score.rawValue)\">\n"
                html += "<figcaption>Per-fold \(Self.describe(score)) differences against \(T.escape(baseline)), selection "
                html += "\(selection.rawValue): a dot per (fold, seed), the bar at their mean.</figcaption>\n"
                html += ReportSVG.differences(rows, seeds: seeds, percent: score != .kappa) + "\n</figure>\n"
            }
        }
        return html + "</section>\n"
    }

    private func htmlLeakage() -> String {
        var html = "<section id=\"leakage\">\n<h2>Leakage of test-fold selection</h2>\n"
        guard !leakage.isEmpty else {
            return html + "<p class=\"note\">No arm has both the validation selection and test-oracle or paper predictions.</p>\n</section>\n"
        }
        html += "<p class=\"note\">Pooled scores of a leaky selection minus the validation selection's, mean ± sd over seeds. "
        html += "<strong>test-oracle − validation</strong> is the selection leakage alone (the same trained models); "
        html += "<strong>paper − validation</strong> adds training on the subjects validation holds out.</p>\n"
        html += "<table class=\"numbers leakage\">\n<thead><tr><th>arm</th><th>difference</th><th>accuracy</th><th>macro-F1</th><th>κ</th></tr></thead>\n<tbody>\n"
        for l in leakage {
            html += "<tr data-arm=\"\(T.escape(l.arm))\" data-selection=\"\(l.selection.rawValue)\"><th>\(T.escape(l.arm))</th>"
            html += "<td>\(l.selection.rawValue) − \(l.reference.rawValue)</td><td>\(Self.signed(l.accuracy, .accuracy))</td>"
            html += "<td>\(Self.signed(l.macroF1, .macroF1))</td><td>\(Self.signed(l.kappa, .kappa))</td></tr>\n"
        }
        return html + "</tbody>\n</table>\n</section>\n"
    }

    private func htmlUtilisation() -> String {
        var html = "<section id=\"utilisation\">\n<h2>Utilisation</h2>\n<table class=\"setup\">\n<tbody>\n"
        func row(_ key: String, _ value: String) { html += "<tr><th>\(key)</th><td>\(value)</td></tr>\n" }
        row("Workers", String(workers))
        row("Makespan", "\(Self.duration(makespanSeconds)) (first task sent to last result journaled)")
        row("LPT lower bound", "\(Self.duration(lptLowerBoundSeconds)) (max of the longest task and total task time / workers)")
        row("Makespan / bound", makespanOverLPT.map { String(format: "%.2f", $0) } ?? "–")
        for arm in arms {
            let walls = arm.runs.compactMap(\.wallSeconds)
            let total: Double? = walls.isEmpty ? nil : walls.reduce(0, +)
            row("Training time of \(T.escape(arm.name))", "\(Self.duration(total)) over \(walls.count) of \(arm.runs.count) runs")
        }
        return html + "</tbody>\n</table>\n</section>\n"
    }

    // MARK: Style

    /// The page's CSS: system fonts, print-friendly, no external resources (the
    /// look of report.html).
    static let studyStyle = """
    :root { color-scheme: light; }
    body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
           color: #101828; background: #fff; margin: 0; }
    header, main, footer { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
    header { padding-top: 20px; }
    h1 { font-size: 22px; margin: 0 0 6px; }
    h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #eaecf0; }
    h3 { font-size: 15px; margin: 18px 0 8px; }
    .subtitle { color: #475467; margin: 0; }
    .bad { color: #b42318; font-weight: 600; }
    .note { color: #475467; font-size: 13px; max-width: 900px; }
    .tag { background: #eef4ff; color: #1f3f86; border-radius: 4px; padding: 0 5px; font-size: 12px; }
    .arms li { margin: 3px 0; }
    code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
    table { border-collapse: collapse; }
    .setup th { text-align: left; color: #475467; font-weight: 500; padding: 3px 16px 3px 0; vertical-align: top; }
    .setup td { padding: 3px 0; }
    .numbers { font-size: 13px; }
    .numbers th, .numbers td { padding: 3px 7px; border-bottom: 1px solid #eaecf0; text-align: right; white-space: nowrap; }
    .numbers thead th { color: #475467; font-weight: 600; border-bottom: 1px solid #98a2b3; }
    .numbers tbody th { text-align: left; vertical-align: top; }
    .numbers td[rowspan] { vertical-align: top; }
    .numbers tr.arm-start th, .numbers tr.arm-start td { border-top: 1px solid #98a2b3; }
    .numbers td.selection { text-align: left; }
    .significant { font-weight: 650; }
    .wide { overflow-x: auto; }
    figure { margin: 8px 0 16px; }
    figcaption { font-size: 13px; color: #344054; margin-bottom: 2px; }
    .difference-plot { width: 100%; max-width: 760px; display: block; }
    svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #344054; }
    .tick, .legend { font-size: 10px; }
    .axis-label { font-size: 12px; font-weight: 600; }
    footer { color: #667085; font-size: 12px; padding-top: 16px; padding-bottom: 28px; }
    @media print { figure, tr { break-inside: avoid; } }

    """
}
