import ArgumentParser
import Coordinator
import Foundation
import Basics
import Cohorts
import Evaluation
import Reports
import SleepNet
import Shared

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Re-render a run's report.json, report.md and report.html from its predictions.csv and journal.",
        discussion: """
        Reads RUN_DIR/report.json for what predictions do not hold (fold plan, data, \
        protocol, config, fold runs) and recomputes every metric from RUN_DIR/predictions.csv, \
        then rewrites report.json, report.md and report.html (each atomically); the training \
        curves of report.html come from RUN_DIR/journal.jsonl (left out when it is missing). \
        Needs nothing but the run directory: no data, no checkpoints.
        """)

    @Argument(help: "The run directory.")
    var runDir: String

    func run() throws {
        let layout = RunReporter.Layout(URL(fileURLWithPath: runDir))
        let previous = try Report.read(from: layout.reportJSON)
        let predictions = try PredictionsCSV.read(from: layout.predictionsCSV)
        let report = try previous.rebuilt(from: predictions)
        try report.write(to: layout.reportJSON)
        try report.writeMarkdown(to: layout.reportMarkdown)
        let histories = RunReporter.histories(RunReporter.journalResults(layout.journal))
        try report.writeHTML(to: layout.reportHTML, predictions: predictions, histories: histories)
        print(summaryLine(report))
        print("report: \(layout.reportHTML.path), \(layout.reportMarkdown.path), \(layout.reportJSON.path)")
    }
}
