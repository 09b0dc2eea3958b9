import Foundation
import Basics
import Recordings
import Evaluation

extension Report {
    /// report.html: the report as one self-contained page (inline CSS and SVG, no
    /// script, no network) for people to read — run setup, pooled scores with the
    /// mean ± sd over folds, the same models' scores under other selections (when
    /// the report has them), the confusion matrix as a heat map, per-class bars, the
    /// error analysis, the fold and subject tables, training curves per fold and a
    /// hypnogram of each test night (expert above predicted, disagreements marked).
    ///
    /// - Parameters:
    ///   - predictions: the run's test predictions (predictions.csv): the hypnograms,
    ///     and the error analysis of a schema-1 report, which did not store one.
    ///     Recordings without predictions get no hypnogram.
    ///   - histories: per-fold training histories (from the journal): the curves.
    ///     Folds without one get none; with none at all the page says so.
    /// - Returns: the page; every piece of user text (directories, ids, config) escaped.
    public func html(predictions: [Prediction], histories: [FoldHistory]) -> String {
        var page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        page += "<title>\(HTMLText.escape(title))</title>\n<style>\n\(Self.htmlStyle)\(ErrorAnalysis.htmlStyle)</style>\n</head>\n<body>\n"
        page += htmlHeader()
        page += "<main>\n"
        page += htmlSetup()
        page += htmlScores()
        page += htmlSelections()
        page += htmlConfusion()
        let analysis = errorAnalysis ?? ErrorAnalysis(predictions: predictions, recordingSubjects: recordingSubjects)
        page += analysis.htmlSection(predictions: predictions)
        page += htmlFolds()
        page += htmlSubjects()
        page += htmlCurves(histories)
        page += htmlHypnograms(predictions)
        page += htmlConfig()
        page += "</main>\n<footer>Written by sleepfold \(HTMLText.escape(sleepfoldVersion)) at \(HTMLText.escape(createdAt)). "
        page += "Scores in percent, kappa as a fraction; – marks an undefined value. The same numbers are in report.md and report.json.</footer>\n"
        page += "</body>\n</html>\n"
        return page
    }

    /// Writes report.html to `url` atomically.
    public func writeHTML(to url: URL, predictions: [Prediction], histories: [FoldHistory]) throws(SleepfoldError) {
        try AtomicFile.write(Data(html(predictions: predictions, histories: histories).utf8), to: url)
    }

    private typealias T = HTMLText

    // MARK: Sections

    private func htmlHeader() -> String {
        var html = "<header>\n<h1>\(T.escape(title))</h1>\n"
        if evaluationProtocol.selection.leaksTestData {
            html += "<p class=\"warning\"><strong>Test-oracle selection.</strong> Each fold's model was picked by its score "
            html += "on that fold's own test subjects, so these numbers leak test data and overstate what the model does on "
            html += "new subjects. Use them only to compare with published numbers obtained the same way.</p>\n"
        }
        html += "<p class=\"subtitle\">sleepfold \(T.escape(sleepfoldVersion)) · \(T.escape(createdAt)) · "
        html += "\(T.count(pooled.epochs)) test epochs of \(data.subjects) subjects</p>\n</header>\n"
        return html
    }

    private func htmlSetup() -> String {
        var html = "<section id=\"setup\">\n<h2>Run setup</h2>\n<table class=\"setup\">\n<tbody>\n"
        func row(_ key: String, _ value: String) { html += "<tr><th>\(key)</th><td>\(value)</td></tr>\n" }
        row("Data", "<code>\(T.escape(data.directory))</code>")
        row("Recordings", "\(data.recordings) nights of \(data.subjects) subjects")
        row("Epochs per stage", Stage.allCases.map { stage in
            "\(stage.name) \(T.count(data.epochsPerClass.indices.contains(Int(stage.rawValue)) ? data.epochsPerClass[Int(stage.rawValue)] : 0))"
        }.joined(separator: " · "))
        row("Folds", "\(evaluationProtocol.folds)-fold subject-wise cross-validation (both nights of a subject in one fold)")
        row("Fold plan", "\(T.escape(evaluationProtocol.foldPlan.rawValue))")
        row("Seed", "\(evaluationProtocol.seed)")
        let selection: String
        switch evaluationProtocol.selection {
        case .validation:
            selection = "validation — the epoch with the best macro-F1 on held-out training subjects predicts the test fold"
        case .last:
            selection = "last — the model of the last training epoch predicts the test fold"
        case .testOracle:
            selection = "<span class=\"bad\">test-oracle — the epoch with the best accuracy on the test fold itself (leaks test data)</span>"
        }
        row("Selection", selection)
        row("Config", T.escape(configSummary))
        row("Software", "sleepfold \(T.escape(sleepfoldVersion)), report.json schema \(schemaVersion)")
        row("Created", T.escape(createdAt))
        return html + "</tbody>\n</table>\n</section>\n"
    }

    /// The config's name, epochs and batch size when it has them, e.g. "demo-small: 8 epochs, batch 32".
    private var configSummary: String {
        var parts: [String] = []
        if let training = config["training"] {
            if case .integer(let epochs)? = training["epochs"] { parts.append("\(epochs) epochs") }
            if case .integer(let batch)? = training["batchSize"] { parts.append("batch \(batch)") }
        }
        var name = "(unnamed)"
        if case .string(let value)? = config["name"] { name = value }
        return parts.isEmpty ? name : "\(name): " + parts.joined(separator: ", ") + " (full config below)"
    }

    private func htmlScores() -> String {
        var html = "<section id=\"scores\">\n<h2>Scores</h2>\n"
        html += "<p>Pooled over the test predictions of all folds; below each, the mean ± sample sd over folds (n folds).</p>\n"
        html += "<div class=\"cards\">\n"
        func card(_ name: String, _ pooledValue: String, _ spread: String, _ n: Int) {
            html += "<div class=\"card\"><div class=\"card-name\">\(name)</div><div class=\"card-value\">\(pooledValue)</div>"
            html += "<div class=\"card-spread\">\(spread) over \(n) folds</div></div>\n"
        }
        card("Accuracy", "\(T.percent(pooled.accuracy)) %", "\(T.percentMeanSD(overFolds.accuracy)) %", overFolds.accuracy.n)
        card("Macro-F1", "\(T.percent(pooled.macroF1)) %", "\(T.percentMeanSD(overFolds.macroF1)) %", overFolds.macroF1.n)
        card("Cohen's κ", T.fraction(pooled.kappa), T.fractionMeanSD(overFolds.kappa), overFolds.kappa.n)
        html += "</div>\n"
        html += "<table class=\"numbers\">\n<thead><tr><th>stage</th><th>precision</th><th>recall</th><th>F1</th>"
        html += "<th>F1 over folds</th><th>support</th></tr></thead>\n<tbody>\n"
        for stage in Stage.allCases {
            let s = pooled[stage], spread = overFolds.f1PerClass[Int(stage.rawValue)]
            html += "<tr><th>\(stage.name)</th><td>\(T.percent(s.precision))</td><td>\(T.percent(s.recall))</td>"
            html += "<td>\(T.percent(s.f1))</td><td>\(T.percentMeanSD(spread)) (n \(spread.n))</td><td>\(T.count(s.support))</td></tr>\n"
        }
        return html + "</tbody>\n</table>\n</section>\n"
    }

    /// The pooled scores of the same models under each other selection the report
    /// has, beside this report's own; nothing when it has none.
    private func htmlSelections() -> String {
        let own = evaluationProtocol.selection
        let others = SelectionMode.allCases.filter { $0 != own }.compactMap { mode in selections[mode.rawValue].map { (mode, $0) } }
        guard !others.isEmpty else { return "" }
        var html = "<section id=\"selections\">\n<h2>Same model, other selections</h2>\n"
        html += "<p class=\"note\">The models of the same training runs, with the checkpoint chosen another way, scored on the "
        html += "same test epochs (pooled over folds). The differences are to this report's \(own.rawValue) selection, "
        html += "in percentage points (κ as a fraction): what the choice of epoch alone changes.</p>\n"
        html += "<table class=\"numbers selections\">\n<thead><tr><th>selection</th><th>epochs</th><th>accuracy</th><th>Δ</th>"
        html += "<th>macro-F1</th><th>Δ</th><th>κ</th><th>Δ</th></tr></thead>\n<tbody>\n"
        html += "<tr class=\"own\" data-selection=\"\(own.rawValue)\"><th>\(Self.selectionName(own)) (this report)</th>"
        html += "<td>\(T.count(pooled.epochs))</td><td>\(T.percent(pooled.accuracy))</td><td></td>"
        html += "<td>\(T.percent(pooled.macroF1))</td><td></td><td>\(T.fraction(pooled.kappa))</td><td></td></tr>\n"
        for (mode, m) in others {
            html += "<tr data-selection=\"\(mode.rawValue)\"><th>\(Self.selectionName(mode))</th><td>\(T.count(m.epochs))</td>"
            html += "<td>\(T.percent(m.accuracy))</td><td>\(Self.difference(m.accuracy, pooled.accuracy, scale: 100, digits: 1))</td>"
            html += "<td>\(T.percent(m.macroF1))</td><td>\(Self.difference(m.macroF1, pooled.macroF1, scale: 100, digits: 1))</td>"
            html += "<td>\(T.fraction(m.kappa))</td><td>\(Self.difference(m.kappa, pooled.kappa, scale: 1, digits: 3))</td></tr>\n"
        }
        html += "</tbody>\n</table>\n"
        if others.contains(where: { $0.1.epochs != pooled.epochs }) {
            html += "<p class=\"note\"><span class=\"bad\">Not the same test epochs:</span> a selection scored on another number "
            html += "of epochs than this report (a fold missing from one of them) differs for that reason too.</p>\n"
        }
        return html + "</section>\n"
    }

    /// A selection mode as the selections table names it; test-oracle marked as leaking.
    private static func selectionName(_ mode: SelectionMode) -> String {
        switch mode {
        case .validation: return "validation: best validation macro-F1"
        case .last: return "last: the last epoch"
        case .testOracle: return "<span class=\"bad\">test-oracle: best test accuracy, leaks test data</span>"
        }
    }

    /// `value − reference` × `scale` with a sign ("+2.3", "−0.8", "0.0"), or "–" when either is undefined.
    static func difference(_ value: Double?, _ reference: Double?, scale: Double, digits: Int) -> String {
        guard let value, let reference, value.isFinite, reference.isFinite else { return "–" }
        let text = String(format: "%+.\(digits)f", (value - reference) * scale)
        // "+0.0" and "-0.0" say there is no difference at this precision: no sign.
        if text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { return String(text.dropFirst()) }
        return text.replacingOccurrences(of: "-", with: "−")
    }

    private func htmlConfusion() -> String {
        var html = "<section id=\"confusion\">\n<h2>Confusion matrix and per-class scores</h2>\n<div class=\"side-by-side\">\n<div>\n"
        html += "<table class=\"confusion\">\n<thead><tr><th class=\"corner\">true \\ predicted</th>"
        for stage in Stage.allCases { html += "<th>\(stage.name)</th>" }
        html += "<th>total</th></tr></thead>\n<tbody>\n"
        let matrix = pooled.confusion
        for truth in Stage.allCases {
            let support = matrix.support(truth)
            html += "<tr><th>\(truth.name)</th>"
            for predicted in Stage.allCases {
                let count = matrix[truth, predicted]
                let share = support == 0 ? 0 : Double(count) / Double(support)
                let diagonal = truth == predicted ? " diagonal" : ""
                html += "<td class=\"cm\(diagonal)\" data-count=\"\(count)\" style=\"background:\(Self.heat(share));color:\(share > 0.55 ? "#fff" : "#101828")\">"
                html += "<span class=\"cm-count\">\(T.count(count))</span><span class=\"cm-share\">\(support == 0 ? "–" : T.percent(share) + " %")</span></td>"
            }
            html += "<td class=\"total\">\(T.count(support))</td></tr>\n"
        }
        html += "<tr><th>total</th>"
        for predicted in Stage.allCases { html += "<td class=\"total\">\(T.count(matrix.predictedCount(predicted)))</td>" }
        html += "<td class=\"total\">\(T.count(matrix.total))</td></tr>\n</tbody>\n</table>\n"
        html += "<p class=\"note narrow\">Rows: the expert's stage; columns: the predicted stage. Each cell shows the count of epochs "
        html += "and its share of the row (the recall of the row's stage on the diagonal); the colour follows the share.</p>\n"
        html += "</div>\n<div>\n\(ReportSVG.classBars(pooled))\n</div>\n</div>\n</section>\n"
        return html
    }

    /// Background of a confusion cell: white at 0, deep blue at 1.
    private static func heat(_ share: Double) -> String {
        let v = min(max(share.isFinite ? share : 0, 0), 1)
        func channel(_ low: Double) -> Int { Int((255 - (255 - low) * v).rounded()) }
        return "rgb(\(channel(24)),\(channel(70)),\(channel(140)))"
    }

    private func htmlFolds() -> String {
        var html = "<section id=\"folds\">\n<h2>Folds</h2>\n<div class=\"wide\">\n<table class=\"numbers\">\n<thead><tr>"
        for name in ["fold", "test subjects", "validation subjects", "train", "epochs", "accuracy", "macro-F1", "κ"]
            + Stage.allCases.map({ "F1 \($0.name)" }) + ["chosen epoch", "epochs trained", "attempts", "wall s", "worker"] {
            html += "<th>\(name)</th>"
        }
        html += "</tr></thead>\n<tbody>\n"
        for entry in folds {
            let m = entry.metrics
            var cells = [String(entry.fold.index), T.escape(entry.fold.test.joined(separator: " ")),
                         entry.fold.validation.isEmpty ? "–" : T.escape(entry.fold.validation.joined(separator: " ")),
                         String(entry.fold.train.count), T.count(m.epochs), T.percent(m.accuracy), T.percent(m.macroF1),
                         T.fraction(m.kappa)]
            cells += Stage.allCases.map { m.epochs == 0 ? "–" : T.percent(m[$0].f1) }
            cells.append(entry.run.chosenEpoch.map(String.init) ?? "–")
            // Over all attempts: more than the config's epochs when a lost worker's epoch was redone.
            cells.append(entry.run.epochsTrained.map(FoldRun.epochs) ?? "–")
            cells.append(entry.run.attempts.map(String.init) ?? "–")
            cells.append(entry.run.wallSeconds.map { String(format: "%.1f", $0) } ?? "–")
            cells.append(entry.run.worker.map(T.escape) ?? "–")
            html += "<tr>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
        }
        return html + "</tbody>\n</table>\n</div>\n</section>\n"
    }

    private func htmlSubjects() -> String {
        var html = "<section id=\"subjects\">\n<h2>Subjects</h2>\n<div class=\"wide\">\n<table class=\"numbers\">\n<thead><tr>"
        for name in ["subject", "fold", "recordings", "epochs", "accuracy", "macro-F1", "κ"] { html += "<th>\(name)</th>" }
        html += "</tr></thead>\n<tbody>\n"
        for s in subjects {
            let cells = [T.escape(s.subject), String(s.fold), T.escape(s.recordings.joined(separator: " ")),
                         T.count(s.metrics.epochs), T.percent(s.metrics.accuracy), T.percent(s.metrics.macroF1),
                         T.fraction(s.metrics.kappa)]
            html += "<tr>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
        }
        return html + "</tbody>\n</table>\n</div>\n</section>\n"
    }

    private func htmlCurves(_ histories: [FoldHistory]) -> String {
        var html = "<section id=\"curves\">\n<h2>Training curves</h2>\n"
        let set = evaluationProtocol.selection.leaksTestData ? "test fold (oracle selection)" : "validation"
        guard !histories.isEmpty else {
            return html + "<p class=\"note\">No training history: the run directory has no readable journal.jsonl.</p>\n</section>\n"
        }
        html += "<p class=\"note\">Per fold: mean training loss and \(set) loss (weighted cross-entropy), and \(set) macro-F1 "
        html += "and accuracy, after each training epoch. The dashed vertical line marks the epoch whose model predicted the test fold.</p>\n"
        html += "<div class=\"curve-grid\">\n"
        for history in histories.sorted(by: { $0.fold < $1.fold }) {
            let epochs = history.epochs.map(\.epoch).max() ?? 0
            let loss = ReportSVG.lineChart(
                title: "loss", series: [
                    .init(name: "train", colour: "#1f3f86", dashed: false, values: history.epochs.map { ($0.epoch, $0.trainLoss) }),
                    .init(name: set == "validation" ? "validation" : "test", colour: "#d9480f", dashed: true,
                          values: history.epochs.map { ($0.epoch, $0.validationLoss) }),
                ], epochs: epochs, marker: history.chosenEpoch)
            let scores = ReportSVG.lineChart(
                title: "\(set == "validation" ? "validation" : "test") score", series: [
                    .init(name: "macro-F1", colour: "#2b8a3e", dashed: false, values: history.epochs.map { ($0.epoch, $0.validationMacroF1) }),
                    .init(name: "accuracy", colour: "#868e96", dashed: true, values: history.epochs.map { ($0.epoch, $0.validationAccuracy) }),
                ], epochs: epochs, marker: history.chosenEpoch, yRange: 0...1)
            html += "<figure class=\"curves\" data-fold=\"\(history.fold)\">\n<figcaption>Fold \(history.fold): \(history.epochs.count) epochs"
            html += history.chosenEpoch.map { ", chosen epoch \($0)" } ?? ""
            html += "</figcaption>\n\(loss)\n\(scores)\n</figure>\n"
        }
        return html + "</div>\n</section>\n"
    }

    /// Most hypnograms drawn in one report.html (about 3 KB each).
    public static let maxHypnograms = 200

    private func htmlHypnograms(_ predictions: [Prediction]) -> String {
        var html = "<section id=\"hypnograms\">\n<h2>Hypnograms of the test nights</h2>\n"
        html += "<p class=\"note\">For each test night: the expert's stages (top) and the stages the fold's model predicted "
        html += "(bottom), one step per 30-s epoch, stages ordered W, REM, N1, N2, N3 from the top; REM periods in "
        html += "<span style=\"color:\(ReportSVG.remColour);font-weight:600\">red</span>. Epochs where the prediction disagrees "
        html += "with the expert are marked in <span style=\"color:\(ReportSVG.disagreementColour);font-weight:600\">orange</span>.</p>\n"
        var byRecording: [String: [Prediction]] = [:]
        for p in predictions { byRecording[p.recording, default: []].append(p) }
        guard !byRecording.isEmpty else {
            return html + "<p class=\"note\">No predictions yet.</p>\n</section>\n"
        }
        let subjectOf = recordingSubjects
        let all = byRecording.map { (recording: $0.key, predictions: $0.value) }
            .sorted { ($0.predictions[0].fold, $0.recording) < ($1.predictions[0].fold, $1.recording) }
        // Thousands of nights (SHHS) would make a page of tens of MB: keep at most
        // `maxHypnograms`, taking each fold's nights in turn so every fold shows.
        var nights = all
        if all.count > Self.maxHypnograms {
            var perFold: [Int: [Int]] = [:]
            for (i, night) in all.enumerated() { perFold[night.predictions[0].fold, default: []].append(i) }
            var chosen: [Int] = [], round = 0
            while chosen.count < Self.maxHypnograms {
                for fold in perFold.keys.sorted() where round < perFold[fold]!.count && chosen.count < Self.maxHypnograms {
                    chosen.append(perFold[fold]![round])
                }
                round += 1
            }
            nights = chosen.sorted().map { all[$0] }
            html += "<p class=\"note\">Showing \(T.count(nights.count)) of \(T.count(all.count)) test nights: the first "
            html += "nights of each fold in turn. predictions.csv holds every night.</p>\n"
        }
        for night in nights {
            let (truth, predicted) = ReportSVG.nightStages(night.predictions)
            let length = truth.count
            let metrics = Metrics(pairs: night.predictions.map { (truth: $0.truth, predicted: $0.predicted) })
            let differing = night.predictions.count - metrics.confusion.correct
            let subject = subjectOf[night.recording].map { "subject \(T.escape($0)), " } ?? ""
            html += "<figure class=\"hypnogram\" data-recording=\"\(T.escape(night.recording))\" data-disagreements=\"\(differing)\">\n"
            html += "<figcaption><strong>\(T.escape(night.recording))</strong> — \(subject)fold \(night.predictions[0].fold), "
            html += "\(T.count(night.predictions.count)) epochs (\(String(format: "%.1f", Double(length) / 120)) h); "
            html += "accuracy \(T.percent(metrics.accuracy)) %, macro-F1 \(T.percent(metrics.macroF1)) %, κ \(T.fraction(metrics.kappa)); "
            html += "\(T.count(differing)) epochs differ</figcaption>\n"
            html += ReportSVG.hypnogram(truth: truth, predicted: predicted) + "\n</figure>\n"
        }
        return html + "</section>\n"
    }

    private func htmlConfig() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(config)).map { String(decoding: $0, as: UTF8.self) } ?? "(not encodable)"
        return "<section id=\"config\">\n<h2>Config</h2>\n<pre>\(T.escape(json))</pre>\n</section>\n"
    }

    // MARK: Style

    /// The page's CSS: system fonts, print-friendly, no external resources.
    static let htmlStyle = """
    :root { color-scheme: light; }
    body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
           color: #101828; background: #fff; margin: 0; }
    header, main, footer { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
    header { padding-top: 20px; }
    h1 { font-size: 22px; margin: 0 0 6px; }
    h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #eaecf0; }
    .subtitle { color: #475467; margin: 0; }
    .warning { background: #fef3f2; border: 1px solid #fda29b; color: #912018; padding: 10px 14px; border-radius: 6px; }
    .bad { color: #b42318; font-weight: 600; }
    .note { color: #475467; font-size: 13px; max-width: 900px; }
    h3 { font-size: 15px; margin: 18px 0 8px; }
    .selections tr.own th, .selections tr.own td { font-weight: 600; }
    .selections thead th:first-child { text-align: left; }
    code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
    pre { background: #f9fafb; border: 1px solid #eaecf0; padding: 10px; overflow-x: auto; }
    table { border-collapse: collapse; }
    .setup th { text-align: left; color: #475467; font-weight: 500; padding: 3px 16px 3px 0; vertical-align: top; }
    .setup td { padding: 3px 0; }
    .numbers { font-size: 13px; }
    .numbers th, .numbers td { padding: 3px 7px; border-bottom: 1px solid #eaecf0; text-align: right; white-space: nowrap; }
    .numbers thead th { color: #475467; font-weight: 600; border-bottom: 1px solid #98a2b3; }
    .numbers tbody th { text-align: left; }
    .wide { overflow-x: auto; }
    .cards { display: flex; gap: 14px; flex-wrap: wrap; margin: 10px 0 16px; }
    .card { border: 1px solid #eaecf0; border-radius: 8px; padding: 10px 18px; min-width: 180px; }
    .card-name { color: #475467; font-size: 13px; }
    .card-value { font-size: 28px; font-weight: 650; }
    .card-spread { color: #475467; font-size: 13px; }
    .side-by-side { display: flex; gap: 28px; flex-wrap: wrap; align-items: flex-start; }
    .confusion th { padding: 4px 8px; color: #475467; font-weight: 600; }
    .confusion .corner { font-weight: 500; font-size: 12px; }
    .confusion td { width: 76px; height: 52px; text-align: center; border: 2px solid #fff; }
    .confusion td.diagonal { outline: 2px solid #101828; outline-offset: -3px; }
    .confusion td.total { background: #f9fafb; color: #475467; }
    .cm-count { display: block; font-size: 15px; font-weight: 600; }
    .cm-share { display: block; font-size: 11.5px; }
    .class-bars { width: 520px; max-width: 100%; margin-top: 6px; }
    .narrow { max-width: 540px; }
    .curve-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 10px 18px; }
    figure { margin: 0 0 14px; }
    figcaption { font-size: 13px; color: #344054; margin-bottom: 2px; }
    .curves svg { width: 100%; max-width: 330px; display: block; }
    .hypnogram svg { width: 100%; display: block; }
    svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #344054; }
    .stage-label, .tick, .legend, .bar-value { font-size: 10px; }
    .panel-label { font-size: 10px; font-style: italic; fill: #667085; }
    .axis-label { font-size: 12px; font-weight: 600; }
    .chart-title { font-size: 11px; font-weight: 600; }
    footer { color: #667085; font-size: 12px; padding-top: 16px; padding-bottom: 28px; }
    @media print { .hypnogram, .curves, tr { break-inside: avoid; } }

    """
}
