import Foundation
import Basics
import Evaluation
import Reports
import Shared
import Coordinator

/// Turns a finished study into its files: each run's directory (report.html,
/// .md, .json, the predictions CSVs, exactly as `sleepfold run` writes them)
/// and the study report comparing the arms.
public enum StudyReporter {
    /// Writes every run's reports; returns them in `plan.runs` order.
    @discardableResult
    public static func write(plan: StudyPlan, outcome: CoordinatorRuntime.Outcome, workers: Int) throws -> [Report] {
        var reports: [Report] = []
        for (run, results) in zip(plan.runs, outcome.results) {
            reports.append(try RunReporter.write(setup: run.setup, results: results, to: run.layout))
        }
        return reports
    }
}
