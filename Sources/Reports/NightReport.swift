import Foundation
import Basics
import Evaluation

/// night.html of `sleepfold stage`: one self-contained page (inline CSS and SVG, no
/// network) with a night's hypnogram, its hypnodensity and its sleep statistics, and,
/// when an expert scored the night, the expert's hypnogram above the predicted one and
/// the agreement between the two.
public struct NightReport: Sendable {
    /// The page's heading (the night's name).
    public var title: String
    /// Facts about the night and the models, in order ("channel" → "EEG Fpz-Cz (100 Hz)").
    public var facts: [(name: String, value: String)]
    /// The predicted stage of each epoch.
    public var stages: [Stage]
    /// Class probabilities, (epochs, 5) row-major in `Stage` order.
    public var probabilities: [Float]
    /// Sleep statistics of the predicted hypnogram.
    public var statistics: SleepStatistics
    /// The expert's stage of each epoch (nil where unscored), when there is an expert.
    public var expert: [Stage?]?
    /// The expert's sleep statistics, when the expert scored every epoch.
    public var expertStatistics: SleepStatistics?
    /// Agreement of the prediction with the expert over the epochs the expert scored.
    public var agreement: Metrics?

    public init(title: String, facts: [(name: String, value: String)], stages: [Stage], probabilities: [Float],
                statistics: SleepStatistics, expert: [Stage?]? = nil, expertStatistics: SleepStatistics? = nil,
                agreement: Metrics? = nil) {
        self.title = title
        self.facts = facts
        self.stages = stages
        self.probabilities = probabilities
        self.statistics = statistics
        self.expert = expert
        self.expertStatistics = expertStatistics
        self.agreement = agreement
    }

    private typealias T = HTMLText

    /// The whole page.
    public func html() -> String {
        var page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        page += "<title>\(T.escape(title)) · sleepfold stage</title>\n<style>\n\(Report.htmlStyle)\(Self.style)</style>\n</head>\n<body>\n"
        page += "<header>\n<h1>\(T.escape(title))</h1>\n"
        page += "<p class=\"subtitle\">staged by sleepfold \(T.escape(sleepfoldVersion)) · \(T.count(stages.count)) epochs of 30 s</p>\n</header>\n<main>\n"
        page += "<section id=\"night\">\n<table class=\"setup\">\n"
        for fact in facts { page += "<tr><th>\(T.escape(fact.name))</th><td>\(T.escape(fact.value))</td></tr>\n" }
        page += "</table>\n</section>\n"

        page += "<section id=\"hypnogram\">\n<h2>Hypnogram</h2>\n<div class=\"hypnogram\">\n"
        if let expert {
            page += ReportSVG.hypnogram(truth: expert, predicted: stages.map { Optional($0) })
            page += "\n</div>\n<p class=\"note\">Expert above, predicted below; epochs where they differ are marked in orange.</p>\n"
        } else {
            page += ReportSVG.stagedHypnogram(stages) + "\n</div>\n"
        }
        page += "</section>\n"

        page += "<section id=\"hypnodensity\">\n<h2>Hypnodensity</h2>\n<div class=\"hypnogram\">\n"
        page += ReportSVG.hypnodensity(probabilities, epochs: stages.count)
        page += "\n</div>\n<p class=\"note\">Each epoch's class probabilities stacked (W at the bottom, REM at the top); "
        page += "the predicted stage is the most probable one.</p>\n</section>\n"

        page += htmlStatistics()
        if let agreement { page += htmlAgreement(agreement) }
        page += "</main>\n<footer>sleepfold \(T.escape(sleepfoldVersion)) · statistics as YASA 0.8.1's sleep_statistics defines them</footer>\n"
        page += "</body>\n</html>\n"
        return page
    }

    /// Writes night.html to `url` atomically.
    public func write(to url: URL) throws(SleepfoldError) {
        try AtomicFile.write(Data(html().utf8), to: url)
    }

    // MARK: Sections

    private func htmlStatistics() -> String {
        var html = "<section id=\"statistics\">\n<h2>Sleep statistics</h2>\n"
        html += "<table class=\"numbers statistics\">\n<thead><tr><th></th><th>predicted</th>"
        if expertStatistics != nil { html += "<th>expert</th>" }
        html += "</tr></thead>\n<tbody>\n"
        func row(_ name: String, _ value: (SleepStatistics) -> String) {
            html += "<tr><th>\(T.escape(name))</th><td>\(value(statistics))</td>"
            if let expertStatistics { html += "<td>\(value(expertStatistics))</td>" }
            html += "</tr>\n"
        }
        func minutes(_ v: Double?) -> String { v.map { String(format: "%.1f min", $0) } ?? "–" }
        func percent(_ v: Double?) -> String { v.map { String(format: "%.1f %%", $0) } ?? "–" }
        row("time in bed") { minutes($0.tib) }
        row("total sleep time") { minutes($0.tst) }
        row("sleep efficiency") { percent($0.se) }
        row("sleep onset latency") { minutes($0.sol) }
        row("wake after sleep onset") { minutes($0.waso) }
        row("REM latency (from sleep onset)") { s in minutes(s.latREM.flatMap { l in s.sol.map { l - $0 } }) }
        row("N1") { "\(minutes($0.n1)) · \(percent($0.percentN1)) of TST" }
        row("N2") { "\(minutes($0.n2)) · \(percent($0.percentN2)) of TST" }
        row("N3") { "\(minutes($0.n3)) · \(percent($0.percentN3)) of TST" }
        row("REM") { "\(minutes($0.rem)) · \(percent($0.percentREM)) of TST" }
        row("awakenings") { "\($0.awakenings)" }
        row("stage shifts") { "\($0.stageShifts)" }
        html += "</tbody>\n</table>\n"
        html += "<p class=\"note\">Definitions of YASA's <code>sleep_statistics</code> (docs/sleep-statistics.md): latencies "
        html += "from the first epoch, sleep efficiency = TST / time in bed, awakenings = sleep → wake changes.</p>\n</section>\n"
        return html
    }

    private func htmlAgreement(_ m: Metrics) -> String {
        var html = "<section id=\"agreement\">\n<h2>Agreement with the expert</h2>\n<div class=\"cards\">\n"
        for (name, value) in [("accuracy", T.percent(m.accuracy) + " %"), ("macro-F1", T.percent(m.macroF1) + " %"),
                              ("Cohen's kappa", T.fraction(m.kappa))] {
            html += "<div class=\"card\"><div class=\"card-name\">\(name)</div><div class=\"card-value\">\(value)</div>"
            html += "<div class=\"card-spread\">\(T.count(m.epochs)) scored epochs</div></div>\n"
        }
        html += "</div>\n<table class=\"confusion\">\n<thead><tr><th class=\"corner\">expert \\ predicted</th>"
        for stage in Stage.allCases { html += "<th>\(stage.name)</th>" }
        html += "<th>total</th></tr></thead>\n<tbody>\n"
        for truth in Stage.allCases {
            let support = m.confusion.support(truth)
            html += "<tr><th>\(truth.name)</th>"
            for predicted in Stage.allCases {
                let count = m.confusion[truth, predicted]
                let share = support == 0 ? 0 : Double(count) / Double(support)
                let v = min(max(share, 0), 1)
                func channel(_ low: Double) -> Int { Int((255 - (255 - low) * v).rounded()) }
                html += "<td class=\"cm\(truth == predicted ? " diagonal" : "")\" data-count=\"\(count)\" "
                html += "style=\"background:rgb(\(channel(24)),\(channel(70)),\(channel(140)));color:\(share > 0.55 ? "#fff" : "#101828")\">"
                html += "<span class=\"cm-count\">\(T.count(count))</span><span class=\"cm-share\">\(support == 0 ? "–" : T.percent(share) + " %")</span></td>"
            }
            html += "<td class=\"total\">\(T.count(support))</td></tr>\n"
        }
        html += "</tbody>\n</table>\n</section>\n"
        return html
    }

    static let style = """
    .hypnodensity-plot { width: 100%; display: block; }
    .statistics td { text-align: right; }

    """
}
