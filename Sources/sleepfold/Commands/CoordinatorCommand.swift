import ArgumentParser
import Coordinator
import Foundation
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

struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Plan the folds, hand them to workers over ZeroMQ, and write the merged report.",
        discussion: """
        Restarted with the same --out directory (and the same data, plan, config and seed), \
        it reads the journal and runs only the folds not yet done. Without CURVE keys it \
        listens on loopback unless --bind says otherwise.
        """)

    @OptionGroup var cohort: CohortOptions
    @OptionGroup var training: TrainingOptions

    @Option(help: "ZeroMQ endpoint to bind.")
    var bind: String = "tcp://127.0.0.1:5555"

    @Option(help: "Run directory (journal, checkpoints, logs, reports).")
    var out: String

    @Option(help: "Largest message accepted from a worker, in MiB.")
    var maxMessageMb: Int = 256

    @OptionGroup var stall: StallOptions

    @Option(help: "CURVE: this coordinator's .key_secret file (from `sleepfold keygen`).")
    var curveSecret: String?

    @Option(help: "CURVE: directory of admitted workers' public .key files.")
    var allow: String?

    func run() throws {
        let layout = RunReporter.Layout(URL(fileURLWithPath: out))
        try FileManager.default.createDirectory(at: layout.directory, withIntermediateDirectories: true)
        let log = try RunLog(file: layout.logs.appendingPathComponent("coordinator.log"))
        let (setup, _) = try makeRunSetup(cohort, training)
        let report = try runCoordinator(setup: setup, layout: layout, bind: bind,
                                        curve: try curveConfiguration(secret: curveSecret, allow: allow),
                                        maxMessageBytes: maxMessageMb << 20, deadlines: stall.deadlines, log: log) { runtime in
            log("coordinator listening on \(runtime.endpoint), run \(setup.plan.runID): \(setup.plan.folds.count) folds")
            // SIGTERM (Slurm's warning before a time limit) or Ctrl-C: wait for the running
            // folds' states from workers that are stopping too, then leave; the run continues
            // where it stopped when started again with the same --out.
            let stop = runtime.stopRequest
            StopSignals.install(log: { log($0) }) { stop.set() }
        }
        print(summaryLine(report))
        print("report: \(layout.reportHTML.path) (also report.md, report.json, predictions.csv, " +
              "predictions-last.csv, predictions-test-oracle.csv)")
    }
}

/// Runs the coordinator to the end and writes the report; throws (after
/// writing what it has) when some folds were given up, and (without a report)
/// when it was stopped. `started` gets the bound coordinator before it runs.
func runCoordinator(setup: RunSetup, layout: RunReporter.Layout, bind: String,
                    curve: (keys: CurveKeyPair, allowedWorkers: [String])?, maxMessageBytes: Int = 256 << 20,
                    deadlines: FoldDeadlines = FoldDeadlines(), log: RunLog,
                    started: (CoordinatorRuntime) throws -> Void) throws -> Report {
    let view = ProgressView()
    log.view = view
    defer { log.view = nil }
    let runtime = try CoordinatorRuntime(
        plan: setup.plan, journalURL: layout.journal, checkpointDirectory: layout.checkpoints,
        options: .init(bind: bind, curve: curve, maxMessageBytes: maxMessageBytes, deadlines: deadlines),
        view: view, log: { log($0) })
    try started(runtime)
    let outcome = try runtime.run()
    if outcome.interrupted { throw stopped(outcome, directory: layout.directory, log: log) }
    let reportStarted = DispatchTime.now().uptimeNanoseconds
    let report = try RunReporter.write(setup: setup, results: outcome.results[0], to: layout)
    let reportSeconds = Double(DispatchTime.now().uptimeNanoseconds - reportStarted) / 1e9
    log(coordinatorWorkLine(outcome.busy, recordings: setup.cohort.recordings.count, reportSeconds: reportSeconds))
    if !outcome.failedFolds[0].isEmpty {
        let folds = outcome.failedFolds[0].keys.sorted().map(String.init).joined(separator: ", ")
        throw SleepfoldError(.incompleteRun, file: layout.directory.path,
                             "fold \(folds) failed \(CoordinatorRuntime.maxAttempts) times (see \(layout.logs.path)), expected "
                             + "every fold to finish; the report covers the other folds")
    }
    return report
}

/// What the coordinator itself spent, for a cohort of this size: per accepted fold
/// (its task and its result), data served, and writing the reports.
func coordinatorWorkLine(_ busy: CoordinatorRuntime.Busy, recordings: Int, reportSeconds: Double) -> String {
    func ms(_ seconds: Double) -> String { String(format: "%.1f ms", 1000 * seconds) }
    let folds = max(1, busy.foldsAccepted)
    return "coordinator work for \(recordings) recordings: " +
        "\(ms((busy.tasks + busy.results) / Double(folds))) per fold over \(busy.foldsAccepted) folds " +
        "(task \(ms(busy.tasks / Double(folds))), result \(ms(busy.results / Double(folds)))), " +
        "data served \(ms(busy.data)), messages and view \(ms(busy.other)), reports \(ms(reportSeconds))"
}

extension SleepfoldError.Code {
    /// A run that ended with folds given up after too many failed attempts (the
    /// report covers the others).
    static let incompleteRun = Self("incompleteRun")
}

/// Exit status of a coordinator (`run`, `coordinator`, `study`) stopped by SIGTERM or
/// Ctrl-C before every fold was done: EX_TEMPFAIL, "run it again": the Slurm batch
/// script requeues the job on it.
let stoppedExitStatus: Int32 = 75

/// Says how far a stopped coordinator got and how to go on; the exit status to leave with.
func stopped(_ outcome: CoordinatorRuntime.Outcome, directory: URL, log: RunLog) -> ExitCode {
    let done = outcome.results.reduce(0) { $0 + $1.count }
    log("stopped by a signal with \(done) folds done; finished folds and the saved states of unfinished ones " +
        "are kept in \(directory.path): run the same command again to continue")
    return ExitCode(stoppedExitStatus)
}
