import Foundation
import Basics
import Recordings
import Cohorts
import Evaluation
import Reports
import Shared

/// Turns fold results into the run directory's report files: predictions.csv,
/// predictions-last.csv, predictions-test-oracle.csv, report.json, report.md and
/// report.html (SPEC §6).
public enum RunReporter {
    /// The files of a run directory.
    public struct Layout: Sendable {
        public let directory: URL
        public init(_ directory: URL) { self.directory = directory }
        public var journal: URL { directory.appendingPathComponent("journal.jsonl") }
        public var checkpoints: URL { directory.appendingPathComponent("checkpoints") }
        public var logs: URL { directory.appendingPathComponent("logs") }
        public var reportJSON: URL { directory.appendingPathComponent("report.json") }
        public var reportMarkdown: URL { directory.appendingPathComponent("report.md") }
        public var reportHTML: URL { directory.appendingPathComponent("report.html") }
        /// The run's own selection (`--selection`): what the reports are computed from.
        public var predictionsCSV: URL { directory.appendingPathComponent("predictions.csv") }
        /// The same trainings' last-epoch predictions.
        public var predictionsLastCSV: URL { directory.appendingPathComponent("predictions-last.csv") }
        /// The same trainings' predictions of the epoch with the best test accuracy (leaks the test fold).
        public var predictionsOracleCSV: URL { directory.appendingPathComponent("predictions-test-oracle.csv") }
        public var runJSON: URL { directory.appendingPathComponent("run.json") }
    }

    /// Prediction rows of fold results (one per test epoch), of one selection.
    public static func predictions(_ results: [Int: Sleepfold_FoldResult],
                                   selection: ResultSelection = .own) throws -> [Prediction] {
        var rows: [Prediction] = []
        for (fold, result) in results.sorted(by: { $0.key < $1.key }) {
            let predictions = switch selection {
            case .own: result.predictions
            case .last: result.lastPredictions
            case .testOracle: result.oraclePredictions
            }
            for p in predictions {
                let truth = Array(p.trueLabels), predicted = Array(p.predictedLabels)
                let probabilities: [Float] = p.probabilities.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                for e in 0..<truth.count {
                    rows.append(try Prediction(
                        recording: p.recordingID, epoch: e, fold: fold,
                        truth: Stage(rawValue: Int32(truth[e]))!, predicted: Stage(rawValue: Int32(predicted[e]))!,
                        probabilities: Array(probabilities[(e * Stage.count)..<((e + 1) * Stage.count)])))
                }
            }
        }
        return rows
    }

    /// A run's prediction rows under each of its three selections, made once for the
    /// CSVs, the report and (in a study) the study report.
    public struct Selections: Sendable {
        public let own: [Prediction]
        public let last: [Prediction]
        public let testOracle: [Prediction]

        public init(_ results: [Int: Sleepfold_FoldResult]) throws {
            own = try RunReporter.predictions(results, selection: .own)
            last = try RunReporter.predictions(results, selection: .last)
            testOracle = try RunReporter.predictions(results, selection: .testOracle)
        }
    }

    /// Writes predictions.csv, predictions-last.csv, predictions-test-oracle.csv,
    /// report.json, report.md and report.html; returns the report (of the run's own selection).
    @discardableResult
    public static func write(setup: RunSetup, results: [Int: Sleepfold_FoldResult], to layout: Layout) throws -> Report {
        try write(setup: setup, results: results, selections: Selections(results), to: layout)
    }

    /// `write` with the prediction rows already made from `results`.
    @discardableResult
    public static func write(setup: RunSetup, results: [Int: Sleepfold_FoldResult], selections rowsBySelection: Selections,
                             to layout: Layout) throws -> Report {
        let rows = rowsBySelection.own, last = rowsBySelection.last, oracle = rowsBySelection.testOracle
        // The same trainings under the other selections: on the same models, their
        // difference to the run's own numbers is the selection's alone. (A `last` or
        // `test-oracle` run's own selection is one of them: its rows then count once.)
        var selections = [SelectionMode.last.rawValue: last, SelectionMode.testOracle.rawValue: oracle]
        selections[setup.selection.rawValue] = rows
        var runs: [Int: FoldRun] = [:]
        for (fold, r) in results {
            // Journals written before preemption-safe folds lack the coordinator's accounting.
            runs[fold] = FoldRun(chosenEpoch: Int(r.chosenEpoch),
                                 epochsTrained: r.epochsTrained > 0 ? r.epochsTrained : Double(r.history.count),
                                 attempts: r.attempts > 0 ? Int(r.attempts) : (r.attempt > 0 ? Int(r.attempt) : nil),
                                 wallSeconds: r.trainSeconds, worker: r.workerID)
        }
        let config = (try? JSONDecoder().decode(JSONValue.self, from: Data(setup.configJSON.utf8))) ?? .string(setup.configJSON)
        let report = try Report(
            predictions: rows, plan: setup.foldPlan, recordingSubjects: setup.recordingSubjects, runs: runs,
            selections: selections,
            data: setup.dataSummary,
            protocol: ProtocolSummary(folds: setup.foldPlan.folds.count, foldPlan: setup.foldPlanKind,
                                      seed: setup.plan.seed, selection: setup.selection),
            config: config, sleepfoldVersion: sleepfoldVersion)
        try PredictionsCSV.write(rows, to: layout.predictionsCSV)
        try PredictionsCSV.write(last, to: layout.predictionsLastCSV)
        try PredictionsCSV.write(oracle, to: layout.predictionsOracleCSV)
        try report.write(to: layout.reportJSON)
        try report.writeMarkdown(to: layout.reportMarkdown)
        try report.writeHTML(to: layout.reportHTML, predictions: rows, histories: histories(results))
        return report
    }

    /// The training histories of fold results, in fold order: report.html's curves.
    public static func histories(_ results: [Int: Sleepfold_FoldResult]) -> [FoldHistory] {
        results.sorted { $0.key < $1.key }.map { FoldHistory($0.value) }
    }

    /// The fold results a run's journal holds (first result of each fold), read
    /// without opening it for appending; unreadable lines (a torn write) are
    /// skipped. Empty when there is no journal.
    public static func journalResults(_ url: URL) -> [Int: Sleepfold_FoldResult] {
        guard let data = FileManager.default.contents(atPath: url.path) else { return [:] }
        var results: [Int: Sleepfold_FoldResult] = [:]
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let result = try? Sleepfold_FoldResult(jsonUTF8Bytes: line) else { continue }
            if results[Int(result.fold)] == nil { results[Int(result.fold)] = result }
        }
        return results
    }
}
