import Foundation
import Testing
import Basics
import Recordings
import Evaluation
import Reports
import TestSupport

/// report.html: well-formed, self-contained, escaped, and showing the run's numbers.
@Suite struct ReportHTMLTests {
    private static let hostileConfig: JSONValue = .object([
        "name": .string("</pre><img src=x onerror=alert(1)>"),
        "training": .object(["epochs": .integer(3), "batchSize": .integer(32)]),
    ])

    private func makeReport(selection: SelectionMode = .validation, skipFold: Int? = nil,
                            directory: String = "data/synth") throws -> (Report, SmallRun) {
        let run = try SmallRun(selection: selection, skipFold: skipFold)
        var counts = Array(repeating: 0, count: 5)
        for p in run.predictions { counts[Int(p.truth.rawValue)] += 1 }
        let report = try Report(
            predictions: run.predictions, plan: run.plan, recordingSubjects: run.recordingSubjects,
            runs: [0: FoldRun(chosenEpoch: 2, epochsTrained: 3, wallSeconds: 4.5, worker: "<b>node1</b>&1")],
            data: DataSummary(directory: directory, recordings: 12, subjects: 6, epochsPerClass: counts),
            protocol: ProtocolSummary(folds: 3, foldPlan: .seeded, seed: 11, selection: selection),
            config: Self.hostileConfig, sleepfoldVersion: "0.1.0", createdAt: Date(timeIntervalSince1970: 1_764_000_000))
        return (report, run)
    }

    /// Three epochs of history for `fold`; validation scores NaN when `measured` is false
    /// (selection `last`), as the journal stores them.
    private func history(fold: Int, chosen: Int?, measured: Bool = true) -> FoldHistory {
        FoldHistory(fold: fold, chosenEpoch: chosen, epochs: (1...3).map { e in
            FoldHistory.Epoch(epoch: e, trainLoss: 1.5 / Double(e),
                              validationLoss: measured ? 1.2 / Double(e) : .nan,
                              validationAccuracy: measured ? 0.5 + 0.1 * Double(e) : .nan,
                              validationMacroF1: measured ? 0.4 + 0.1 * Double(e) : .nan)
        })
    }

    /// The first tag nesting error of `html` (outside <style>), or nil when every
    /// non-void element is closed in order.
    private func nestingError(_ html: String) -> String? {
        var text = html
        while let open = text.range(of: "<style>"), let close = text.range(of: "</style>", range: open.upperBound..<text.endIndex) {
            text.replaceSubrange(open.upperBound..<close.lowerBound, with: "")
            text.replaceSubrange(text.range(of: "<style></style>")!, with: "")
        }
        let void: Set<String> = ["meta", "br", "hr", "img", "input", "link", "col", "wbr"]
        let tag = /<(\/?)([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*?)?(\/?)>/
        var stack: [String] = []
        for match in text.matches(of: tag) {
            let name = String(match.output.2).lowercased()
            if !match.output.3.isEmpty || void.contains(name) { continue }
            if match.output.1.isEmpty {
                stack.append(name)
            } else if stack.last == name {
                stack.removeLast()
            } else {
                return "</\(name)> closes <\(stack.last ?? "nothing")>"
            }
        }
        return stack.isEmpty ? nil : "unclosed: \(stack)"
    }

    @Test func thePageIsWellFormedSelfContainedAndEscaped() throws {
        let (report, run) = try makeReport(directory: "<script>alert(\"x\")</script> & 'co'")
        let html = report.html(predictions: run.predictions, histories: [history(fold: 0, chosen: 2)])
        #expect(nestingError(html) == nil, "\(nestingError(html) ?? "")")
        for element in ["html", "head", "body", "main", "style"] {
            let opening = html.matches(of: /<([a-z]+)[ >]/).filter { $0.output.1 == element }.count
            #expect(opening == 1, "<\(element)>")
        }
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.components(separatedBy: "<table").count == html.components(separatedBy: "</table>").count)
        #expect(html.components(separatedBy: "<svg").count == html.components(separatedBy: "</svg>").count)
        // Setup, scores, confusion, errors, folds, subjects, curves, hypnograms, config (no other selections given).
        #expect(html.components(separatedBy: "<section").count - 1 == 9)

        // Nothing from the network, no script; URLs only as xmlns values.
        let withoutNamespaces = html.replacing(/xmlns(:[a-z]+)?="[^"]*"/, with: "")
        for forbidden in ["http://", "https://", "<script", "<link", "<iframe", "url(", "@import", "<img"] {
            #expect(!withoutNamespaces.lowercased().contains(forbidden), "\(forbidden)")
        }
        // User text is escaped wherever it goes.
        #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;"))
        #expect(html.contains("&lt;b&gt;node1&lt;/b&gt;&amp;1"))
        #expect(html.contains("&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;"))
        #expect(html.lowercased().firstMatch(of: /="[^"]*\b(nan|inf)\b/) == nil)
    }

    @Test func theConfusionHeatMapHoldsThePooledCountsAndRowShares() throws {
        let (report, run) = try makeReport()
        let html = report.html(predictions: run.predictions, histories: [])
        let start = try #require(html.range(of: "<table class=\"confusion\">"))
        let end = try #require(html.range(of: "</table>", range: start.upperBound..<html.endIndex))
        let table = String(html[start.upperBound..<end.lowerBound])
        let cells = table.matches(of: /data-count="(\d+)"/).map { Int($0.output.1)! }
        #expect(cells == Array(report.pooled.confusion.rows.joined()))
        #expect(report.pooled.confusion.total == run.predictions.count)
        // Each row's shares: count / row total, one decimal.
        let shares = table.matches(of: /<span class="cm-share">([0-9.]+) %<\/span>/).map { String($0.output.1) }
        let expected = report.pooled.confusion.rows.flatMap { row in
            row.map { String(format: "%.1f", 100 * Double($0) / Double(row.reduce(0, +))) }
        }
        #expect(shares == expected)
        // Diagonal cells are marked, and darker cells get white text.
        #expect(table.components(separatedBy: "class=\"cm diagonal\"").count - 1 == 5)
    }

    @Test func everyTestNightHasOneHypnogramMarkingItsDisagreements() throws {
        let (report, run) = try makeReport(skipFold: 1)
        let html = report.html(predictions: run.predictions, histories: [])
        let nights = Dictionary(grouping: run.predictions, by: \.recording)
        #expect(nights.count == 8)
        #expect(html.components(separatedBy: "<figure class=\"hypnogram\"").count - 1 == nights.count)

        var differRuns = 0
        for (recording, predictions) in nights {
            let sorted = predictions.sorted { $0.epoch < $1.epoch }
            let differing = sorted.filter { $0.truth != $0.predicted }.count
            #expect(html.contains("data-recording=\"\(recording)\" data-disagreements=\"\(differing)\""))
            // Runs of consecutive differing epochs: one mark each.
            for (i, p) in sorted.enumerated() where p.truth != p.predicted {
                if i == 0 || sorted[i - 1].truth == sorted[i - 1].predicted { differRuns += 1 }
            }
            // The expert's step path has one horizontal segment per run of one stage.
            let figure = try #require(html.range(of: "data-recording=\"\(recording)\""))
            let path = try #require(html[figure.upperBound...].firstMatch(of: /class="steps-expert" d="([^"]*)"/))
            var stageRuns = 0
            for (i, p) in sorted.enumerated() where i == 0 || sorted[i - 1].truth != p.truth { stageRuns += 1 }
            #expect(path.output.1.filter { $0 == "H" }.count == stageRuns)
        }
        // Counted in the hypnograms section only: the worst nights of the error analysis have their own.
        let section = try #require(html.range(of: "<section id=\"hypnograms\">"))
        #expect(html[section.lowerBound...].components(separatedBy: "<rect class=\"differ\"").count - 1 == differRuns)
        #expect(differRuns > 0)
        // Stages from the top: W, REM, N1, N2, N3.
        let labels = html.matches(of: /class="stage-label">([A-Z0-9]+)</).prefix(5).map { String($0.output.1) }
        #expect(labels == ["W", "REM", "N1", "N2", "N3"])
    }

    @Test func trainingCurvesShowEachFoldWithItsChosenEpoch() throws {
        let (report, run) = try makeReport()
        let histories = [history(fold: 2, chosen: 3), history(fold: 0, chosen: 2, measured: false)]
        let html = report.html(predictions: run.predictions, histories: histories)
        let figures = html.matches(of: /<figure class="curves" data-fold="(\d+)">/).map { Int($0.output.1)! }
        #expect(figures == [0, 2])
        // Two charts per fold, each with the chosen epoch marked.
        #expect(html.components(separatedBy: "<line class=\"chosen\"").count - 1 == 4)
        #expect(html.contains("Fold 0: 3 epochs, chosen epoch 2"))
        // Fold 0 has no validation scores: its charts draw the training loss only.
        let fold0 = try #require(html.range(of: "data-fold=\"0\""))
        let fold2 = try #require(html.range(of: "data-fold=\"2\""))
        #expect(html[fold0.upperBound..<fold2.lowerBound].components(separatedBy: "<path ").count - 1 == 1)
        let fold2End = try #require(html.range(of: "</figure>", range: fold2.upperBound..<html.endIndex))
        #expect(html[fold2.upperBound..<fold2End.lowerBound].components(separatedBy: "<path ").count - 1 == 4)
        #expect(!html.contains("NaN"))

        let none = report.html(predictions: run.predictions, histories: [])
        #expect(!none.contains("<figure class=\"curves\""))
        #expect(none.contains("No training history"))
    }

    @Test func aTestOracleReportWarnsInItsTitleAndAtTheTop() throws {
        let (oracle, run) = try makeReport(selection: .testOracle)
        let html = oracle.html(predictions: run.predictions, histories: [history(fold: 1, chosen: 1)])
        #expect(html.contains("<title>") && html.contains(Report.testOracleWarning))
        #expect(html.contains("<h1>\(oracle.title)</h1>"))
        #expect(html.contains("<p class=\"warning\">"))
        #expect(html.contains("test fold (oracle selection)"))

        let (honest, honestRun) = try makeReport(selection: .validation)
        let page = honest.html(predictions: honestRun.predictions, histories: [])
        #expect(!page.contains(Report.testOracleWarning) && !page.contains("class=\"warning\""))
    }

    @Test func writingIsAtomicAndMatchesTheRenderedPage() throws {
        let (report, run) = try makeReport()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sleepfold-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("report.html")
        try report.writeHTML(to: url, predictions: run.predictions, histories: [])
        #expect(try String(contentsOf: url, encoding: .utf8) == report.html(predictions: run.predictions, histories: []))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["report.html"])
        let missing = directory.appendingPathComponent("missing/report.html")
        let error = expectError(.fileNotFound, file: missing.path) {
            try report.writeHTML(to: missing, predictions: [], histories: [])
        }
        #expect(error?.errno == ENOENT && error?.message.hasPrefix("cannot create a temporary file next to it: ") == true)
    }
}
