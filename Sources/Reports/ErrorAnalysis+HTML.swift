import Foundation
import Basics
import Evaluation

extension ErrorAnalysis {
    /// The error analysis as one `<section>` of an HTML page: epochs at transitions
    /// against stable epochs, the most frequent confusions with where in the night
    /// they fall (a heat row over the five fifths of the night), and the worst nights,
    /// each with its hypnogram (expert above predicted).
    ///
    /// report.html shows it for the run; a page comparing several runs can show one
    /// per run, with its own `id` and `title`. The page must carry
    /// `ErrorAnalysis.htmlStyle` in its CSS (report.html does).
    ///
    /// - Parameters:
    ///   - predictions: the predictions the analysis was made of (more do no harm);
    ///     only those of the worst nights are used, to draw their hypnograms. A worst
    ///     night without predictions here gets its scores but no hypnogram.
    ///   - id: the section's element id (an anchor), escaped.
    ///   - title: the section's heading, escaped.
    ///   - headingLevel: the heading's level (2 = `<h2>`), clamped to 1…5; the
    ///     section's subheadings are one level lower.
    /// - Returns: the section; every piece of user text (ids, titles) escaped.
    public func htmlSection(predictions: [Prediction], id: String = "errors", title: String = "Error analysis",
                            headingLevel: Int = 2) -> String {
        let level = min(max(headingLevel, 1), 5), sub = level + 1
        var html = "<section id=\"\(T.escape(id))\" class=\"error-analysis\">\n<h\(level)>\(T.escape(title))</h\(level)>\n"
        let all = allMetrics
        guard all.epochs > 0 else {
            return html + "<p class=\"note\">No predictions yet.</p>\n</section>\n"
        }

        // Headline: how much of the error sits at transitions, against how many epochs they are.
        let transitionShare = Double(transitions.epochs) / Double(all.epochs)
        html += "<p>\(T.count(errors)) of \(T.count(all.epochs)) epochs are wrong. "
        if let share = transitionErrorShare {
            html += "<strong>\(T.percent(share)) % of the errors</strong> fall at a stage transition, "
            html += "which is where \(T.percent(transitionShare)) % of the epochs are.</p>\n"
        } else {
            html += "\(T.percent(transitionShare)) % of the epochs are at a stage transition.</p>\n"
        }

        html += "<h\(sub)>At transitions and in stable stretches</h\(sub)>\n"
        html += "<table class=\"numbers transitions\">\n<thead><tr><th></th><th>epochs</th><th>share of epochs</th>"
        html += "<th>accuracy</th><th>macro-F1</th><th>κ</th><th>errors</th><th>share of errors</th></tr></thead>\n<tbody>\n"
        for (name, m) in [("at a transition", transitions), ("stable", stable), ("all", all)] {
            let wrong = m.epochs - m.confusion.correct
            html += "<tr\(name == "all" ? " class=\"sum\"" : "")><th>\(name)</th><td>\(T.count(m.epochs))</td>"
            html += "<td>\(T.percent(Double(m.epochs) / Double(all.epochs)))</td><td>\(T.percent(m.accuracy))</td>"
            html += "<td>\(T.percent(m.macroF1))</td><td>\(T.fraction(m.kappa))</td><td>\(T.count(wrong))</td>"
            html += "<td>\(errors == 0 ? "–" : T.percent(Double(wrong) / Double(errors)))</td></tr>\n"
        }
        html += "</tbody>\n</table>\n"
        html += "<p class=\"note\">An epoch is at a transition when the expert's stage of the epoch just before or just after "
        html += "it is another one; the first and last epochs of a night are compared with their one neighbour, and an epoch "
        html += "without a prediction is no neighbour. All other epochs are stable. Scores in percent, κ as a fraction.</p>\n"

        html += htmlConfusions(sub)
        html += htmlWorstNights(sub, predictions)
        return html + "</section>\n"
    }

    /// The CSS the section needs besides report.html's own (tables, notes, hypnograms).
    public static let htmlStyle = """
    .error-analysis .transitions tr.sum th, .error-analysis .transitions tr.sum td { border-top: 1px solid #98a2b3; font-weight: 600; }
    .confusions td.fifth { width: 62px; text-align: center; border: 2px solid #fff; padding: 3px 2px; }
    .confusions .stage-pair { text-align: left; font-weight: 600; }
    .error-analysis thead th:first-child { text-align: left; }
    .worst-night { margin-top: 10px; }
    .worst-night svg { width: 100%; display: block; }
    .error-analysis .cm-count { display: block; font-size: 15px; font-weight: 600; }
    .error-analysis .cm-share { display: block; font-size: 11.5px; }
    .error-analysis svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #344054; }

    """

    private typealias T = HTMLText

    /// The five fifths' column names.
    private static let fifthNames = ["1st fifth", "2nd fifth", "3rd fifth", "4th fifth", "last fifth"]

    /// Transitions and stable epochs together: the scores of all analysed epochs.
    private var allMetrics: Metrics {
        var confusion = transitions.confusion
        confusion.add(stable.confusion)
        return Metrics(confusion: confusion)
    }

    private func htmlConfusions(_ level: Int) -> String {
        var html = "<h\(level)>Most frequent confusions</h\(level)>\n"
        guard !topConfusions.isEmpty else {
            return html + "<p class=\"note\">No errors.</p>\n"
        }
        html += "<table class=\"numbers confusions\">\n<thead><tr><th>expert → predicted</th><th>epochs</th><th>share of errors</th>"
        for name in Self.fifthNames { html += "<th>\(name)</th>" }
        html += "<th>mean time</th></tr></thead>\n<tbody>\n"
        for c in topConfusions {
            html += "<tr data-truth=\"\(c.truth.name)\" data-predicted=\"\(c.predicted.name)\">"
            html += "<th class=\"stage-pair\">\(c.truth.name) → \(c.predicted.name)</th><td>\(T.count(c.count))</td>"
            html += "<td>\(T.percent(c.shareOfErrors))</td>"
            for (fifth, count) in c.perFifth.enumerated() {
                let truthEpochs = fifth < c.truthEpochsPerFifth.count ? c.truthEpochsPerFifth[fifth] : 0
                let rate = truthEpochs == 0 ? nil : Double(count) / Double(truthEpochs)
                // Colour: this confusion's share in the fifth, saturating at half of it.
                let share = c.count == 0 ? 0 : Double(count) / Double(c.count)
                html += "<td class=\"fifth\" data-count=\"\(count)\" style=\"background:\(Self.heat(min(2 * share, 1)))\" "
                html += "title=\"\(T.count(count)) of \(T.count(truthEpochs)) \(c.truth.name) epochs in the \(Self.fifthNames[fifth])\">"
                html += "<span class=\"cm-count\">\(T.count(count))</span><span class=\"cm-share\">\(rate == nil ? "–" : T.percent(rate) + " %")</span></td>"
            }
            html += "<td>\(String(format: "%.1f", c.meanHours)) h</td></tr>\n"
        }
        html += "</tbody>\n</table>\n"
        html += "<p class=\"note\">Each fifth of the night (epoch index over the night's length) shows how many of these errors "
        html += "fall in it and, below, their rate: the share of the expert's epochs of that stage in that fifth predicted so. "
        html += "The darker the cell, the more of this confusion's errors lie there. Mean time: hours since the recording started.</p>\n"
        return html
    }

    private func htmlWorstNights(_ level: Int, _ predictions: [Prediction]) -> String {
        var html = "<h\(level)>Worst nights</h\(level)>\n"
        guard !worstNights.isEmpty else { return html }
        html += worstNights.count == 1 ? "<p class=\"note\">The test night with the lowest accuracy; in its "
            : "<p class=\"note\">The \(worstNights.count) test nights with the lowest accuracy, lowest first; in each "
        html += "hypnogram the expert's stages are above the predicted ones, and epochs where they differ are marked in "
        html += "<span style=\"color:\(ReportSVG.disagreementColour);font-weight:600\">orange</span>.</p>\n"
        let wanted = Set(worstNights.map(\.recording))
        var byRecording: [String: [Prediction]] = [:]
        for p in predictions where wanted.contains(p.recording) { byRecording[p.recording, default: []].append(p) }
        for (rank, night) in worstNights.enumerated() {
            let m = night.metrics
            let subject = night.subject.map { "subject \(T.escape($0)), " } ?? ""
            html += "<figure class=\"worst-night\" data-recording=\"\(T.escape(night.recording))\">\n"
            html += "<figcaption>\(rank + 1). <strong>\(T.escape(night.recording))</strong> — \(subject)fold \(night.fold), "
            html += "\(T.count(m.epochs)) epochs; accuracy \(T.percent(m.accuracy)) %, macro-F1 \(T.percent(m.macroF1)) %, "
            html += "κ \(T.fraction(m.kappa)); \(T.count(m.epochs - m.confusion.correct)) epochs differ</figcaption>\n"
            if let nightPredictions = byRecording[night.recording] {
                let (truth, predicted) = ReportSVG.nightStages(nightPredictions)
                html += ReportSVG.hypnogram(truth: truth, predicted: predicted) + "\n"
            } else {
                html += "<p class=\"note\">No predictions of this night were given to draw its hypnogram.</p>\n"
            }
            html += "</figure>\n"
        }
        return html
    }

    /// Background of a fifth's cell: white at 0, the disagreement orange at 1.
    private static func heat(_ value: Double) -> String {
        let v = min(max(value.isFinite ? value : 0, 0), 1)
        func channel(_ full: Double) -> Int { Int((255 - (255 - full) * v).rounded()) }
        return "rgb(\(channel(240)),\(channel(140)),\(channel(0)))"
    }
}
