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

/// Options of commands that train: the config and its epoch override.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Experiment config (JSON: model and training); default: AttnSleep (configs/ex1-attnsleep.json).")
    var config: String?

    @Option(help: "Training epochs (overrides the config's).")
    var epochs: Int?

    /// The experiment config with the epoch override applied, and its JSON.
    func load(default fallback: ExperimentConfig = ExperimentConfig(name: "ex1-attnsleep")) throws -> (ExperimentConfig, String) {
        var experiment = try config.map { try ExperimentConfig.load(from: URL(fileURLWithPath: $0)) } ?? fallback
        // A bad count is refused with the run plan (RunPlan checks epochs).
        if let epochs { experiment.training.epochs = epochs }
        return (experiment, try experiment.canonicalJSON())
    }
}

/// Builds the run (cohort with hashes, plan, config) the coordinator, `run` and `train` share.
func makeRunSetup(_ cohortOptions: CohortOptions, _ training: TrainingOptions,
                  default fallback: ExperimentConfig = ExperimentConfig(name: "ex1-attnsleep")) throws -> (RunSetup, ExperimentConfig) {
    let (experiment, json) = try training.load(default: fallback)
    // The model's input fixes the rate: 3000 samples per 30-s epoch = 100 Hz, 3750 = 125 Hz (SHHS).
    let (cohort, plan) = try cohortOptions.load(computeHashes: true,
                                                sampleRate: Double(experiment.model.inputSamples) / Preparation.epochSeconds)
    let setup = try RunSetup(cohort: cohort, foldPlan: plan, foldPlanKind: cohortOptions.foldPlan, configJSON: json,
                             seed: cohortOptions.seed, selection: cohortOptions.selection, epochs: experiment.training.epochs)
    return (setup, experiment)
}

/// One line per run for the terminal: pooled accuracy, macro-F1, kappa.
func summaryLine(_ report: Report) -> String {
    func pct(_ v: Double?) -> String { v.map { String(format: "%.1f %%", 100 * $0) } ?? "–" }
    let kappa = report.pooled.kappa.map { String(format: "%.3f", $0) } ?? "–"
    return "accuracy \(pct(report.pooled.accuracy)), macro-F1 \(pct(report.pooled.macroF1)), kappa \(kappa) over \(report.pooled.epochs) test epochs"
}

/// Appends lines to a log file and to stderr (through the live view).
final class RunLog: @unchecked Sendable {
    private let handle: FileHandle?
    private let lock = NSLock()
    /// One formatter for every line (under `lock`): making one per line cost more than writing the line.
    private let formatter = ISO8601DateFormatter()
    /// The last stamp and its second: the formatter runs once a second, not once a line (a
    /// coordinator of 1,000 workers logs about 250 lines a second; formatting each cost 3 %
    /// of its CPU, Benchmarks/load/results/profile-jitter-0a61565.txt).
    private var stamp = (second: 0, text: "")
    var view: ProgressView?

    /// Creates `file` (and its directory) for the log; throws a `SleepfoldError`
    /// naming the file when it cannot be created.
    init(file: URL?) throws {
        guard let file else {
            handle = nil
            return
        }
        handle = try newLogHandle(file)
    }

    func callAsFunction(_ line: String) {
        lock.lock(); defer { lock.unlock() }
        if let handle {
            let now = Date()
            let second = Int(now.timeIntervalSince1970.rounded(.down))
            if second != stamp.second { stamp = (second, formatter.string(from: now)) }
            handle.write(Data((stamp.text + " " + line + "\n").utf8))
        }
        if let view { view.log(line) } else { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}

/// `file` created empty (replacing an old one, as before) with its directory, and opened
/// for writing: a log that cannot be written is an error naming the file, not a silent loss.
func newLogHandle(_ file: URL) throws(SleepfoldError) -> FileHandle {
    let directory = file.deletingLastPathComponent()
    try fileAccess(directory.path, cannot: "create the log directory") {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }
    let descriptor = open(file.path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
        throw SleepfoldError.system("creating the log file", file: file.path, errno: errno)
    }
    return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
}
