import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import EDF
import Evaluation
import Reports
import Shared
import TestSupport

/// report.html from the commands: written with every fold, and re-rendered by
/// `sleepfold report` from the run directory alone.
@Suite struct ReportHTMLCommandTests {
    @Test func trainWritesReportHTMLAndReportRerendersItFromTheRunDirectory() throws {
        let tiny = try TinyRun("report-html")
        defer { tiny.remove() }
        try tiny.train(fold: 0)
        try tiny.train(fold: 1)
        let htmlURL = tiny.run.appendingPathComponent("report.html")
        let original = try String(contentsOf: htmlURL, encoding: .utf8)

        // One hypnogram per recording that has predictions, one set of curves per trained fold.
        let csv = try String(contentsOf: tiny.run.appendingPathComponent("predictions.csv"), encoding: .utf8)
        let recordings = Set(csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] })
        #expect(recordings.count == 2)
        #expect(original.components(separatedBy: "<figure class=\"hypnogram\"").count - 1 == recordings.count)
        for recording in recordings { #expect(original.contains("data-recording=\"\(recording)\"")) }
        let curves = original.matches(of: /<figure class="curves" data-fold="(\d+)">/).map { Int($0.output.1)! }
        #expect(curves == [0, 1])
        #expect(original.contains("Fold 1: 2 epochs, chosen epoch"))

        // Re-rendered from report.json, predictions.csv and the journal: the same page.
        try FileManager.default.removeItem(at: htmlURL)
        let again = try CommandRunner.run(["report", tiny.run.path])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains(htmlURL.path))
        #expect(try String(contentsOf: htmlURL, encoding: .utf8) == original)

        // Without the journal the page still has everything but the curves.
        try FileManager.default.moveItem(at: tiny.run.appendingPathComponent("journal.jsonl"),
                                         to: tiny.root.appendingPathComponent("journal.jsonl"))
        let withoutJournal = try CommandRunner.run(["report", tiny.run.path])
        #expect(withoutJournal.status == 0, "\(withoutJournal.stderr)")
        let page = try String(contentsOf: htmlURL, encoding: .utf8)
        #expect(!page.contains("<figure class=\"curves\"") && page.contains("No training history"))
        #expect(page.components(separatedBy: "<figure class=\"hypnogram\"").count - 1 == recordings.count)
    }
}
