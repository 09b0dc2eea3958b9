import ArgumentParser
import Coordinator
import Foundation
import SleepNet
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import Synthesis
import Evaluation
import Reports
import Shared

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a whole cross-validation on this machine: a coordinator and N local workers.",
        discussion: """
        Without --data it first writes the demo cohort (\(Demo.subjects) synthetic subjects, one \
        \(Demo.hours)-hour night each) into RUN_DIR/data and trains the demo model (a narrow \
        AttnSleep, \(Demo.epochs) epochs) with \(Demo.folds) folds: a few minutes on 2 cores.

        A local worker that dies (non-zero exit or a signal) is named in the log with its exit \
        status or signal and restarted after a back-off (\(Int(LocalWorkers.backoffInitial)) s, \
        doubling), at most \(LocalWorkers.maxRestarts) times per worker; its fold is re-issued. When \
        every worker has died more often than that, the run stops with exit status \(LocalWorkers.exitStatus).
        """)

    @Option(help: "Number of local worker processes.")
    var workers: Int = 2

    @Option(help: "Directory of recordings or a cohort manifest (default: synthesise the demo cohort).")
    var data: String?

    @Option(help: "Number of subject-wise folds (default: 20, or \(Demo.folds) for the demo cohort).")
    var folds: Int?

    @Option(help: "Subject order: attnsleep or seeded.")
    var foldPlan: FoldPlanKind = .seeded

    @Option(help: "Run seed.")
    var seed: UInt64 = 0

    @Option(help: "Model selection: validation, last or test-oracle.")
    var selection: SelectionMode = .validation

    @OptionGroup var training: TrainingOptions

    @Option(help: "Run directory (default: runs/run-<date>-<time>).")
    var out: String?

    func run() throws {
        try CPUFeatures.current.requireModelCore()
        guard workers >= 1 else { throw SleepfoldError(.invalidValue, field: "--workers", found: "\(workers)", expected: "at least 1") }
        let directory = URL(fileURLWithPath: out ?? Self.defaultRunDirectory())
        let layout = RunReporter.Layout(directory)
        try FileManager.default.createDirectory(at: layout.logs, withIntermediateDirectories: true)
        let log = try RunLog(file: layout.logs.appendingPathComponent("coordinator.log"))

        var dataPath = data
        var fallback = ExperimentConfig(name: "ex1-attnsleep")
        if dataPath == nil {
            let demoData = directory.appendingPathComponent("data")
            if !FileManager.default.fileExists(atPath: demoData.path) {
                log("writing the demo cohort: \(Demo.subjects) synthetic subjects, \(Demo.hours) h each, to \(demoData.path)")
                try FileManager.default.createDirectory(at: demoData, withIntermediateDirectories: true)
                try SynthCommand.write(SynthOptions(subjects: Demo.subjects, nights: 1, hours: Demo.hours, seed: seed), to: demoData)
            }
            dataPath = demoData.path
            fallback = Demo.experiment
        }
        var cohortOptions = try CohortOptions.parse(["--data", dataPath!])
        cohortOptions.folds = folds ?? (data == nil ? Demo.folds : 20)
        cohortOptions.foldPlan = foldPlan
        cohortOptions.seed = seed
        cohortOptions.selection = selection
        let (setup, experiment) = try makeRunSetup(cohortOptions, training, default: fallback)
        log("run \(setup.plan.runID): \(setup.cohort.recordings.count) recordings, \(setup.plan.folds.count) folds, " +
            "config \(experiment.name), \(experiment.training.epochs) epochs, \(workers) local workers")

        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / workers)
        var children: LocalWorkers?
        defer { if let children { children.stopWatching(); Self.stop(children.all) } }
        let report = try runCoordinator(setup: setup, layout: layout, bind: "tcp://127.0.0.1:*", curve: nil, log: log) { runtime in
            let local = LocalWorkers(start: { i, restart in
                try Self.startWorker(index: i, endpoint: runtime.endpoint, threads: threads, data: dataPath!,
                                     layout: layout, appendLog: restart)
            }, log: { log($0) })
            children = local
            try local.launch(workers)
            Self.forwardStop(to: local, runtime: runtime, log: log)
        }
        children?.stopWatching()
        Self.wait(children?.all ?? [], seconds: 10)
        print(summaryLine(report))
        print("report: \(layout.reportHTML.path) (also report.md, report.json, predictions.csv, " +
              "predictions-last.csv, predictions-test-oracle.csv)")
    }

    /// Ctrl-C or SIGTERM: the local workers are told to stop (SIGTERM: each saves its
    /// fold's state mid-epoch), and the coordinator waits for those states, then stops.
    static func forwardStop(to workers: LocalWorkers, runtime: CoordinatorRuntime, log: RunLog) {
        let stop = runtime.stopRequest
        StopSignals.install(log: { log($0) }) {
            workers.stopWatching()
            for child in workers.all where child.isRunning { kill(child.processIdentifier, SIGTERM) }
            stop.set()
        }
    }

    static func defaultRunDirectory() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        return "runs/run-\(f.string(from: Date()))"
    }

    static func startWorker(index: Int, endpoint: String, threads: Int, data: String,
                            layout: RunReporter.Layout, appendLog: Bool = false) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["worker", "--connect", endpoint, "--threads", String(threads), "--data", data,
                             "--worker-id", "local-\(index + 1)", "--give-up-after", "60",
                             "--parent-pid", String(ProcessInfo.processInfo.processIdentifier),
                             "--cache", layout.directory.appendingPathComponent("cache").path]
        let logFile = layout.logs.appendingPathComponent("worker-\(index + 1).log")
        let handle: FileHandle
        if appendLog, let existing = try? FileHandle(forWritingTo: logFile) {
            // A restarted worker's log follows its predecessor's, which tells why it died.
            _ = try? existing.seekToEnd()
            handle = existing
        } else {
            handle = try newLogHandle(logFile)
        }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Waits up to `seconds` for the workers to exit after the shutdown message.
    static func wait(_ children: [Process], seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while children.contains(where: \.isRunning) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    }

    static func stop(_ children: [Process]) {
        for child in children where child.isRunning { child.terminate() }
    }
}

/// The demo: small enough to finish in minutes on 2 cores, big enough to learn.
enum Demo {
    static let subjects = 10
    static let hours = 2.0
    static let folds = 5
    static let epochs = 8

    /// A narrow AttnSleep (configs/demo-small.json): the full network's layers at a fraction of the width.
    static var experiment: ExperimentConfig {
        var model = ModelConfig()
        model.cnnFirstChannels = 16
        model.cnnChannels = 32
        model.afrChannels = 8
        model.heads = 4
        model.dFF = 32
        var training = TrainingConfig()
        training.epochs = epochs
        training.batchSize = 32
        return ExperimentConfig(name: "demo-small", model: model, training: training)
    }
}
