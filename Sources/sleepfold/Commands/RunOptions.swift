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
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (experiment, String(decoding: try encoder.encode(experiment), as: UTF8.self))
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
    var view: ProgressView?

    init(file: URL?) {
        if let file {
            try? FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: file.path, contents: nil)
            handle = try? FileHandle(forWritingTo: file)
            _ = try? handle?.seekToEnd()
        } else {
            handle = nil
        }
    }

    func callAsFunction(_ line: String) {
        let stamped = "\(ISO8601DateFormatter().string(from: Date())) \(line)"
        lock.lock(); defer { lock.unlock() }
        handle?.write(Data((stamped + "\n").utf8))
        if let view { view.log(line) } else { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}
