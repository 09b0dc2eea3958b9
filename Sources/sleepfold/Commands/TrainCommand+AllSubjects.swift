import Foundation
import Basics
import Recordings
import Cohorts
import Preparation
import Reports
import SleepNet

/// `sleepfold train --all-subjects`: the model to deploy, trained on every night of the
/// cohort (no validation or test subjects, so no model selection: the last epoch's
/// weights), for the config's epoch count or, with `--from-run RUN_DIR`, the median of
/// the epochs that run's folds chose.
extension TrainCommand {
    /// Name of the checkpoint `--all-subjects` writes into `--out`.
    static let finalModelName = "model.safetensors"

    func trainAllSubjects() throws {
        let cohortOptions = self.cohort
        var (experiment, _) = try training.load()
        var epochsFrom = training.epochs != nil ? "--epochs" : "the config's"
        if let fromRun {
            let url = URL(fileURLWithPath: fromRun).appendingPathComponent("report.json")
            let chosen = try Report.read(from: url).folds.compactMap(\.run.chosenEpoch)
            guard let median = Self.median(chosen) else {
                throw SleepfoldError(.invalidValue, file: url.path, field: "folds[].chosen_epoch", found: "no fold with a chosen epoch",
                                     expected: "a run whose folds have finished")
            }
            experiment.training.epochs = median
            epochsFrom = "the median of the \(chosen.count) folds' chosen epochs \(chosen.sorted()) in \(fromRun)"
        }
        try experiment.training.validate(source: "training config")
        let rate = Double(experiment.model.inputSamples) / Preparation.epochSeconds
        let cohort = try Cohort.scan(URL(fileURLWithPath: cohortOptions.data), expectedSampleRate: rate)
        print("final model on all \(cohort.subjects.count) subjects (\(cohort.recordings.count) nights, \(cohort.epochCount) epochs): "
              + "config \(experiment.name), \(experiment.training.epochs) epochs (\(epochsFrom)), seed \(cohortOptions.seed); "
              + "no validation or test subjects, so the last epoch's weights")
        // Nights are read batch by batch from epoch files, as a fold's training nights are:
        // memory does not grow with the cohort (docs/training-data.md).
        let epochDirectory = URL(fileURLWithPath: out).appendingPathComponent(".epochs-\(getpid())")
        try fileAccess(epochDirectory.path, cannot: "create the directory of epoch files") {
            try FileManager.default.createDirectory(at: epochDirectory, withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(at: epochDirectory) }
        let train = try EpochFileSource(try cohort.recordings.enumerated().map { i, night in
            try EpochFile.convert(npz: night.url, to: epochDirectory.appendingPathComponent("\(i).epochs"), expectedSampleRate: rate)
        })
        let trainer = Trainer(config: experiment, selection: .last, seed: cohortOptions.seed)
        let outcome = try ComputeThreads.with(count: max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)) {
            try trainer.run(train: train, validation: [], test: [], progress: { r in
                print(String(format: "epoch %d/%d: train loss %.4f, accuracy %.1f %% (%.1f s)",
                             r.epoch, experiment.training.epochs, r.trainLoss, 100 * r.trainAccuracy, r.seconds))
                fflush(nil)
            })
        }
        let directory = URL(fileURLWithPath: out)
        try fileAccess(directory.path, cannot: "create the output directory") {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        let checkpoint = directory.appendingPathComponent(Self.finalModelName)
        try outcome.model.saveCheckpoint(to: checkpoint, extraMetadata: [
            "trained_on": "all subjects", "subjects": "\(cohort.subjects.count)", "nights": "\(cohort.recordings.count)",
            "epochs": "\(experiment.training.epochs)", "seed": "\(cohortOptions.seed)",
        ])
        print("model: \(checkpoint.path) (stage a night: sleepfold stage --model \(checkpoint.path) --edf NIGHT.edf)")
        print("peak RSS: \(peakResidentBytes() >> 20) MiB")
    }

    /// The median of `values`; of an even count, the mean of the two middle values
    /// rounded half up (epochs are whole). Nil when empty.
    static func median(_ values: [Int]) -> Int? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted(), mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid] + 1) / 2
    }
}
