import ArgumentParser
import Coordinator
import Foundation
import Worker
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import Synthesis
import Evaluation
import Reports
import SleepNet
import Shared

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train and evaluate one fold in this process, writing the run directory the cluster writes.",
        discussion: """
        The fold gets the task a coordinator would send (same run id, fold seed and \
        selection), so its predictions equal the cluster's. The result goes into OUT's \
        journal (checkpoint in OUT/checkpoints/fold-KK.safetensors), and report.json, \
        report.md and predictions.csv (with predictions-last.csv and predictions-test-oracle.csv, \
        the same training's other selections) are written from every fold in the journal: running \
        each fold with the same options into the same OUT (e.g. a Slurm job array) builds \
        the whole cross-validation. A fold already in the journal is not trained again.

        With --all-subjects instead of --fold: the model to deploy, trained on every night \
        of --data (no validation or test subjects: the last epoch's weights) for the config's \
        epochs, --epochs, or with --from-run RUN_DIR the median of the epochs that run's folds \
        chose; written to OUT/model.safetensors for `sleepfold stage --model`.
        """)

    @OptionGroup var cohort: CohortOptions
    @OptionGroup var training: TrainingOptions

    @Option(help: "The fold to train (0-based).")
    var fold: Int?

    @Flag(help: "Train one model on every subject (for deployment) instead of a fold.")
    var allSubjects = false

    @Option(help: "With --all-subjects: train for the median chosen epoch of this finished run's folds.")
    var fromRun: String?

    @Option(help: "Compute threads (OpenBLAS and elementwise); default: all cores.")
    var threads: Int?

    @Option(help: "Run directory (journal, checkpoints, reports).")
    var out: String

    func validate() throws {
        guard (fold != nil) != allSubjects else {
            throw ValidationError("Give either --fold I (one fold of the cross-validation) or --all-subjects (the final model).")
        }
        if fromRun != nil && !allSubjects { throw ValidationError("--from-run goes with --all-subjects.") }
        if fromRun != nil && training.epochs != nil {
            throw ValidationError("--from-run sets the epochs (the median chosen epoch of that run): leave out --epochs.")
        }
    }

    func run() throws {
        try CPUFeatures.current.requireModelCore()
        guard let fold else { return try trainAllSubjects() }
        let (setup, experiment) = try makeRunSetup(cohort, training)
        let plan = setup.plan
        guard plan.folds.indices.contains(fold) else {
            throw SleepfoldError(.invalidValue, field: "--fold", found: "\(fold)",
                                 expected: "a fold in 0...\(plan.folds.count - 1) (the plan has \(plan.folds.count) folds)")
        }
        let layout = RunReporter.Layout(URL(fileURLWithPath: out))
        try FileManager.default.createDirectory(at: layout.directory, withIntermediateDirectories: true)
        let journal = try Journal(url: layout.journal, runID: plan.runID) { try plan.validate($0, checkpoint: false) }
        for warning in journal.warnings { FileHandle.standardError.write(Data("\(warning)\n".utf8)) }

        let subjects = setup.foldPlan.folds[fold]
        print("run \(plan.runID), fold \(fold) of \(plan.folds.count): test \(subjects.test.joined(separator: " ")); " +
              "validation \(subjects.validation.isEmpty ? "none" : subjects.validation.joined(separator: " ")); \(subjects.train.count) training subjects; " +
              "config \(experiment.name), \(experiment.training.epochs) epochs, selection \(plan.selection)")
        if journal.results[fold] != nil {
            print("fold \(fold) is already in \(layout.journal.path): not trained again")
        } else {
            let job = FoldJob(task: plan.task(fold: fold, attempt: 1), files: plan.files,
                              threads: max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount),
                              workerID: "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)",
                              epochDirectory: layout.directory.appendingPathComponent("cache/epochs"))
            var epochSeconds = 0.0, testSeconds = 0.0
            let hooks = FoldHooks(progress: { p in
                print(Self.progressLine(p))
                fflush(nil)  // show each epoch as it ends, also when stdout is a pipe
            })
            let result = try FoldRunner.train(job, hooks: hooks, epochEnded: { record in
                epochSeconds += record.seconds
                testSeconds += record.testSeconds
            })
            let checkpoint = try journal.record(result, checkpointDirectory: layout.checkpoints)
            print(String(format: "fold %d trained in %.1f s, chosen epoch %d, test-oracle epoch %d",
                         fold, result.trainSeconds, result.chosenEpoch, result.oracleEpoch) +
                  (checkpoint.map { "; checkpoint \($0.path)" } ?? ""))
            // What the last-epoch and test-oracle predictions cost: the test fold scored after every epoch.
            print(String(format: "test fold scored after every epoch: %.2f s of %.1f s of epochs (%.1f %%)",
                         testSeconds, epochSeconds, 100 * testSeconds / max(epochSeconds, 1e-9)))
            print("peak RSS: \(peakResidentBytes() >> 20) MiB")
        }

        let report = try RunReporter.write(setup: setup, results: journal.results, to: layout)
        let metrics = report.folds[fold].metrics
        print("fold \(fold): " + metricsLine(metrics))
        if journal.results.count > 1 {
            print("\(journal.results.count) of \(plan.folds.count) folds done: " + summaryLine(report))
        }
        print("report: \(layout.reportHTML.path) (also report.md, report.json, predictions.csv, " +
              "predictions-last.csv, predictions-test-oracle.csv)")
    }

    /// One line per trained epoch.
    static func progressLine(_ p: Sleepfold_Progress) -> String {
        var line = String(format: "fold %d epoch %d/%d: train loss %.4f, accuracy %.1f %%",
                          p.fold, p.epoch, p.epochs, p.trainLoss, 100 * p.trainAccuracy)
        if p.validationMacroF1.isFinite {
            line += String(format: "; selection set loss %.4f, accuracy %.1f %%, macro-F1 %.3f",
                           p.validationLoss, 100 * p.validationAccuracy, p.validationMacroF1)
        }
        return line + String(format: " (%.1f s)", p.epochSeconds)
    }
}

/// Accuracy, macro-F1 and kappa of one set of predictions, for the terminal.
func metricsLine(_ m: Metrics) -> String {
    func pct(_ v: Double?) -> String { v.map { String(format: "%.1f %%", 100 * $0) } ?? "–" }
    let kappa = m.kappa.map { String(format: "%.3f", $0) } ?? "–"
    return "accuracy \(pct(m.accuracy)), macro-F1 \(pct(m.macroF1)), kappa \(kappa) over \(m.epochs) epochs"
}
