import ArgumentParser
import Foundation
import Basics
import Recordings
import Cohorts
import Evaluation
import Reports
import Preparation
import SleepNet
import Shared
import Coordinator
import Studies

struct StudyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "Run a study: several model configs × seeds on the same folds, as one queue, and compare them.",
        discussion: """
        The study file (JSON) names the data, folds, fold plan, seeds, the arms (name + config), \
        the baseline arm and whether to add the paper's protocol; see configs/study-sleep-edf-20.json \
        and docs/studies.md. Each arm and seed becomes an ordinary run directory OUT/<arm>/seed-<S>/ \
        (bit-identical to `sleepfold run` with the same data, folds, fold plan, config, seed and \
        epochs), and OUT/<arm>/seed-<S>-paper/ with "paper_protocol": true (as `run --selection \
        test-oracle`). All their folds form one queue, longest expected first. OUT/study.html, \
        study.md and study.json compare the arms.

        With --workers N (the default, N = 2) the workers are local processes; with --bind ADDR \
        the coordinator waits for `sleepfold worker --connect ADDR` processes (by hand, \
        cluster/hosts/sleepfold-hosts.sh or cluster/slurm/sleepfold.sbatch). Restarted with the \
        same --out, the study goes on from its journals: finished folds are not trained again.
        """)

    @Argument(help: "Study file (JSON).")
    var file: String

    @Option(help: "Number of local worker processes (default 2 unless --bind is given).")
    var workers: Int?

    @Option(help: "Bind this ZeroMQ endpoint and wait for remote workers instead of starting local ones.")
    var bind: String?

    @Option(help: "Study directory (default: studies/<name>).")
    var out: String?

    @Option(help: "Training epochs of every arm (overrides the study file's and the configs').")
    var epochs: Int?

    @Option(help: "Largest message accepted from a worker, in MiB.")
    var maxMessageMb: Int = 256

    @OptionGroup var stall: StallOptions

    @Option(help: "CURVE (with --bind): this coordinator's .key_secret file (from `sleepfold keygen`).")
    var curveSecret: String?

    @Option(help: "CURVE (with --bind): directory of admitted workers' public .key files.")
    var allow: String?

    func validate() throws {
        if workers != nil && bind != nil { throw ValidationError("give --workers (local workers) or --bind (remote workers), not both") }
        if let workers, workers < 1 { throw ValidationError("--workers: found \(workers), expected at least 1") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs: found \(epochs), expected at least 1") }
    }

    func run() throws {
        try CPUFeatures.current.requireModelCore()
        let study = try StudyFile.load(from: URL(fileURLWithPath: file))
        let layout = StudyLayout(URL(fileURLWithPath: out ?? "studies/\(study.name)"))
        try FileManager.default.createDirectory(at: layout.logs, withIntermediateDirectories: true)
        let log = try RunLog(file: layout.logs.appendingPathComponent("coordinator.log"))
        let plan = try Self.plan(study, epochs: epochs, layout: layout, log: log)

        let localWorkers = bind == nil ? (workers ?? 2) : 0
        let curve = try curveConfiguration(secret: curveSecret, allow: allow)
        let view = ProgressView()
        log.view = view
        let runtime = try CoordinatorRuntime(
            runs: plan.coordinatorRuns, writeAheadLog: layout.directory.appendingPathComponent("study.wal"),
            options: .init(bind: bind ?? "tcp://127.0.0.1:*", curve: curve, maxMessageBytes: maxMessageMb << 20,
                           deadlines: stall.deadlines, welcomeID: plan.studyID),
            view: view, log: { log($0) })
        var children: LocalWorkers?
        defer { if let children { children.stopWatching(); RunCommand.stop(children.all) } }
        if localWorkers > 0 {
            let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / localWorkers)
            let workerLayout = RunReporter.Layout(layout.directory)
            let local = LocalWorkers(start: { i, restart in
                try RunCommand.startWorker(index: i, endpoint: runtime.endpoint, threads: threads, data: study.data.path,
                                           layout: workerLayout, appendLog: restart)
            }, log: { log($0) })
            children = local
            try local.launch(localWorkers)
            RunCommand.forwardStop(to: local, runtime: runtime, log: log)
        } else {
            let stop = runtime.stopRequest
            StopSignals.install(log: { log($0) }) { stop.set() }
            log("coordinator listening on \(runtime.endpoint), study \(plan.studyID): start workers with " +
                "`sleepfold worker --connect \(runtime.endpoint)`")
        }
        let outcome = try runtime.run()
        log.view = nil
        if outcome.interrupted { throw stopped(outcome, directory: layout.directory, log: log) }
        children?.stopWatching()
        RunCommand.wait(children?.all ?? [], seconds: 10)

        let written = try StudyReporter.write(plan: plan, outcome: outcome, workers: max(localWorkers, outcome.timing.peakWorkers))
        for (run, report) in zip(plan.runs, written.runs) { print("\(run.label): \(summaryLine(report))") }
        if let utilisation = written.utilisation {
            print(String(format: "makespan %.0f s, LPT lower bound %.0f s (%d tasks on %d workers): ratio %.3f",
                         utilisation.makespanSeconds, utilisation.lowerBoundSeconds, utilisation.tasks,
                         utilisation.workers, utilisation.ratio))
        }
        print("study: \(layout.studyHTML.path) (also study.md, study.json; one run directory per arm and seed)")
        let failed = zip(plan.runs, outcome.failedFolds).filter { !$0.1.isEmpty }
        if !failed.isEmpty {
            let list = failed.map { "\($0.0.label) fold \($0.1.keys.sorted().map(String.init).joined(separator: ", "))" }
            throw SleepfoldError(.incompleteRun, file: layout.directory.path,
                                 "\(list.joined(separator: "; ")) failed \(CoordinatorRuntime.maxAttempts) times (see \(layout.logs.path)), "
                                 + "expected every fold to finish; the reports cover the other folds")
        }
    }

    /// Reads the arms' configs and the cohort and builds every run, as `run` would.
    static func plan(_ study: StudyFile, epochs: Int?, layout: StudyLayout, log: RunLog) throws -> StudyPlan {
        var experiments: [ExperimentConfig] = []
        for arm in study.arms {
            var experiment = try ExperimentConfig.load(from: arm.config)
            if let e = epochs ?? study.epochs { experiment.training.epochs = e }
            experiments.append(experiment)
        }
        // One cohort for every arm: their models must take the same epoch length.
        let samples = experiments[0].model.inputSamples
        if let i = experiments.firstIndex(where: { $0.model.inputSamples != samples }) {
            throw SleepfoldError(.invalidStudy, file: study.url.path, field: "arms[\(i)].config",
                                 found: "a model of \(experiments[i].model.inputSamples) input samples (\(study.arms[i].config.path))",
                                 expected: "\(samples), as arm \(study.arms[0].name)'s: every arm reads the same recordings")
        }
        // Files unchanged since the last start of this study are not read and hashed again.
        let scan = try CohortScanCache.scan(study.data, expectedSampleRate: Double(samples) / Preparation.epochSeconds,
                                            cacheFile: layout.directory.appendingPathComponent(CohortScanCache.fileName))
        let cohort = scan.cohort
        let costs = try experiments.map { try ModelCost.measure($0.model) }
        let plan = try StudyPlan(file: study, cohort: cohort, experiments: experiments, costs: costs, layout: layout)
        let tasks = plan.runs.reduce(0) { $0 + $1.setup.plan.folds.count }
        log("study \(study.name) (\(plan.studyID)): \(study.arms.count) arms × \(study.seeds.count) seeds" +
            (study.paperProtocol ? " × (validation, paper)" : "") + " = \(plan.runs.count) runs, \(tasks) tasks; " +
            "\(cohort.recordings.count) recordings of \(cohort.subjects.count) subjects (\(scan.rescanned.count) read and hashed, " +
            "the others unchanged since the last start), \(study.folds) folds")
        for (arm, (experiment, cost)) in zip(study.arms, zip(experiments, costs)) {
            log(String(format: "arm %@: %@, %d epochs, batch %d, %d parameters, %.1f MFLOP/sample training, %.1f evaluation",
                       arm.name, experiment.name, experiment.training.epochs, experiment.training.batchSize,
                       cost.parameters, cost.trainFLOPsPerSample / 1e6, cost.inferFLOPsPerSample / 1e6))
        }
        return plan
    }
}
