import Foundation
import Testing
import Basics
import Recordings
import Evaluation
import Reports
import TestSupport

extension Prediction {
    /// The same prediction with another predicted stage.
    func predicting(_ stage: Stage) throws -> Prediction {
        try Prediction(recording: recording, epoch: epoch, fold: fold, truth: truth, predicted: stage,
                       probabilities: probabilities)
    }
}

/// report.json's `selections`: the same models' pooled scores under the other
/// checkpoint selections, and the table report.html and report.md make of them.
@Suite struct ReportSelectionsTests {
    private func makeReport(_ run: SmallRun, selections: [String: [Prediction]]) throws -> Report {
        try Report(predictions: run.predictions, plan: run.plan, recordingSubjects: run.recordingSubjects,
                   selections: selections,
                   data: DataSummary(directory: "data/synth", recordings: 12, subjects: 6, epochsPerClass: [1, 1, 1, 1, 1]),
                   protocol: ProtocolSummary(folds: 3, foldPlan: .seeded, seed: 11, selection: .validation),
                   config: .null, sleepfoldVersion: "0.1.0", createdAt: Date(timeIntervalSince1970: 1_764_000_000))
    }

    /// "Last" predicts N2 everywhere, "test-oracle" is always right: scores known by hand.
    private func selections(_ run: SmallRun) throws -> [String: [Prediction]] {
        ["last": try run.predictions.map { try $0.predicting(.n2) },
         "test-oracle": try run.predictions.map { try $0.predicting($0.truth) }]
    }

    @Test func eachSelectionIsScoredPooledAndKeptByRebuilding() throws {
        let run = try SmallRun()
        let report = try makeReport(run, selections: selections(run))
        #expect(Set(report.selections.keys) == ["last", "test-oracle"])
        let oracle = try #require(report.selections["test-oracle"])
        #expect(oracle.accuracy == 1 && oracle.macroF1 == 1 && oracle.epochs == run.predictions.count)
        let last = try #require(report.selections["last"])
        let n2 = run.predictions.filter { $0.truth == .n2 }.count
        #expect(last.accuracy == Double(n2) / Double(run.predictions.count))
        #expect(last.confusion.predictedCount(.n2) == run.predictions.count)
        #expect(report.pooled.accuracy != oracle.accuracy)

        // JSON: an object of metrics, the same shape as "pooled".
        let json = try #require(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
        let stored = try #require(json["selections"] as? [String: [String: Any]])
        let pooled = try #require(json["pooled"] as? [String: Any])
        #expect(Set(stored.keys) == ["last", "test-oracle"])
        #expect(Set(stored["last"]!.keys) == Set(pooled.keys))
        #expect(try Report.decode(report.jsonData()) == report)

        // Rebuilding from predictions.csv (the run's own selection) keeps the others as they were.
        let partial = try report.rebuilt(from: run.predictions.filter { $0.fold != 0 })
        #expect(partial.selections == report.selections && partial.pooled != report.pooled)
        #expect(try report.rebuilt(from: run.predictions) == report)

        // Without selections the key holds an empty object.
        let plain = try makeReport(run, selections: [:])
        let plainJSON = try #require(try JSONSerialization.jsonObject(with: plain.jsonData()) as? [String: Any])
        #expect((plainJSON["selections"] as? [String: Any])?.isEmpty == true)
    }

    @Test func aSelectionThatIsNotOneOrDoesNotFitThePlanIsRefused() throws {
        let run = try SmallRun()
        let error = expectError(.invalidValue, field: "selections") {
            _ = try makeReport(run, selections: ["best": run.predictions])
        }
        #expect(error?.message == "found selection \"best\", expected validation, last, test-oracle")
        let p = run.predictions[0]
        let misplaced = try Prediction(recording: p.recording, epoch: p.epoch, fold: (p.fold + 1) % 3, truth: p.truth,
                                       predicted: p.predicted, probabilities: p.probabilities)
        let wrongFold = expectError(.wrongFold, field: "selections.last: recording \(p.recording) epoch \(p.epoch)") {
            _ = try makeReport(run, selections: ["last": [misplaced]])
        }
        #expect(wrongFold?.message.hasPrefix("found fold \(misplaced.fold), expected fold \(p.fold)") == true)
    }

    @Test func pageAndMarkdownShowEachSelectionWithItsDifference() throws {
        let run = try SmallRun()
        let report = try makeReport(run, selections: selections(run))
        let html = report.html(predictions: run.predictions, histories: [])
        let start = try #require(html.range(of: "<section id=\"selections\">"))
        let end = try #require(html.range(of: "</section>", range: start.upperBound..<html.endIndex))
        let section = String(html[start.upperBound..<end.lowerBound])
        #expect(section.contains("<h2>Same model, other selections</h2>"))
        // This report's own first, then the others in the order validation, last, test-oracle.
        let rows = section.matches(of: /<tr( class="own")? data-selection="([a-z-]+)"/).map { String($0.output.2) }
        #expect(rows == ["validation", "last", "test-oracle"])
        let accuracy = report.pooled.accuracy ?? 0
        let gain = String(format: "+%.1f", (1 - accuracy) * 100)
        #expect(section.contains("<td>100.0</td><td>\(gain)</td>"), "\(section)")
        let loss = String(format: "%.1f", ((report.selections["last"]?.accuracy ?? 0) - accuracy) * 100)
        #expect(loss.hasPrefix("-") && section.contains("<td>\(loss.replacingOccurrences(of: "-", with: "−"))</td>"))
        #expect(section.contains("leaks test data"))

        let md = report.markdown()
        #expect(md.contains("\n## Same model, other selections\n"))
        #expect(md.contains("| validation (this report) | \(report.pooled.epochs) | "))
        #expect(md.contains("| test-oracle (leaks test data) | \(report.pooled.epochs) | 100.0 | \(gain) | 100.0 | "))

        #expect(!section.contains("Not the same test epochs") && !md.contains("Not the same test epochs"))
        // A selection with a fold missing is flagged.
        let partial = try makeReport(run, selections: ["last": run.predictions.filter { $0.fold != 0 }])
        #expect(partial.html(predictions: run.predictions, histories: []).contains("Not the same test epochs:"))
        #expect(partial.markdown().contains("Not the same test epochs:"))

        // No other selection: no section, no table.
        let plain = try makeReport(run, selections: [:])
        #expect(!plain.html(predictions: run.predictions, histories: []).contains("id=\"selections\""))
        #expect(!plain.markdown().contains("other selections"))
        // The run's own selection given again is not repeated.
        let own = try makeReport(run, selections: ["validation": run.predictions])
        #expect(own.selections["validation"] == own.pooled)
        #expect(!own.html(predictions: run.predictions, histories: []).contains("id=\"selections\""))
    }
}
