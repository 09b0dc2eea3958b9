import Foundation
import Basics
import SleepNet
import Recordings
import Cohorts
import Evaluation
import Shared

extension SleepfoldError.Code {
    /// A fold task names a config or selection the worker cannot train with.
    public static let invalidFoldTask = Self("invalidFoldTask")
    /// A recording of the task has no local file.
    public static let recordingNotLocal = Self("recordingNotLocal")
}

/// Trains one fold with the SleepNet trainer: the worker's `FoldTrainer`.
///
/// Reads the config from the task, loads the recordings from local files,
/// trains with the fold's seed and selection mode, and packs the test
/// predictions of the three selections (the task's own, the last epoch's, the
/// test oracle's), the per-epoch history and the chosen checkpoint into a
/// `FoldResult`.
public enum FoldRunner {
    /// - Throws: `SleepfoldError`: `.invalidFoldTask` naming the task's field
    ///   (config_json, selection), `.recordingNotLocal`; and whatever training throws.
    public static func train(_ job: FoldJob,
                             progress: @escaping @Sendable (Sleepfold_Progress) -> Void,
                             isCancelled: @escaping @Sendable () -> Bool) throws -> Sleepfold_FoldResult {
        try train(job, hooks: FoldHooks(progress: progress, isCancelled: isCancelled), epochEnded: { _ in })
    }

    /// The worker's `FoldTrainer`: continues from `job.resumeState` when there is one
    /// (a state that is not this fold's is logged and training starts from epoch 1),
    /// hands a state to `hooks.stateSaved` after every epoch, and throws `FoldStopped`
    /// with a mid-epoch state when `hooks.stopRequested` says stop.
    public static func train(_ job: FoldJob, hooks: FoldHooks) throws -> Sleepfold_FoldResult {
        try train(job, hooks: hooks, epochEnded: { _ in })
    }

    /// `train`, also handing over the trainer's own record of every epoch: what
    /// the protocol does not carry, e.g. the seconds spent scoring the test fold.
    public static func train(_ job: FoldJob, hooks: FoldHooks,
                             epochEnded: (Trainer.EpochRecord) -> Void) throws -> Sleepfold_FoldResult {
        let progress = hooks.progress, isCancelled = hooks.isCancelled
        let task = job.task
        let started = DispatchTime.now().uptimeNanoseconds
        var config: ExperimentConfig
        do {
            config = try JSONDecoder().decode(ExperimentConfig.self, from: Data(task.configJson.utf8))
        } catch {
            throw SleepfoldError(.invalidFoldTask, file: "fold \(task.fold) task", field: "config_json",
                                 "expected the JSON of an experiment config (model and training): \(error)")
        }
        if task.epochs > 0 { config.training.epochs = Int(task.epochs) }
        try config.model.validate(source: "fold \(task.fold) config (model)")
        try config.training.validate(source: "fold \(task.fold) config (training)")
        guard let selection = SelectionMode(rawValue: task.selection) else {
            throw SleepfoldError(.invalidFoldTask, file: "fold \(task.fold) task", field: "selection",
                                 found: "\"\(task.selection)\"", expected: SelectionMode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        ComputeThreads.set(job.threads)

        func file(_ ref: Sleepfold_RecordingRef) throws -> URL {
            guard let url = job.files[ref.id] else {
                throw SleepfoldError(.recordingNotLocal, file: "fold \(task.fold) task", field: "recording \(ref.id)",
                                     found: "no local file", expected: "a file for every recording of the task")
            }
            return url
        }
        // Training nights are read batch by batch from epoch files, evaluation nights one
        // at a time: the worker's memory does not grow with the fold (docs/training-data.md).
        try FileManager.default.createDirectory(at: job.epochDirectory, withIntermediateDirectories: true)
        let train = try EpochFileSource(try task.train.map { ref in
            let url = job.epochDirectory.appendingPathComponent("\(ref.sha256.isEmpty ? ref.id : ref.sha256).epochs")
            if let existing = try? EpochFile(url: url) { return existing }
            return try EpochFile.convert(npz: try file(ref), to: url)
        })
        func lazy(_ refs: [Sleepfold_RecordingRef]) throws -> [LazyRecording] {
            try refs.map { ref in
                let url = try file(ref)
                return LazyRecording(id: ref.id) {
                    var recording = try Recording(contentsOf: url, subject: ref.subject, expectedSampleRate: nil)
                    recording.id = ref.id
                    return recording
                }
            }
        }
        let validation = try lazy(task.validation), test = try lazy(task.test)

        let trainer = Trainer(config: config, selection: selection, seed: task.seed)
        let epochs = config.training.epochs
        let fingerprint = task.stateFingerprint
        let batchesPerEpoch = Trainer.batchesPerEpoch(trainingEpochs: train.labels.reduce(0) { $0 + $1.count },
                                                      batchSize: config.training.batchSize)
        var resume: TrainingState?
        if let url = job.resumeState {
            do {
                resume = try TrainingState(decoding: try Data(contentsOf: url), expectedFingerprint: fingerprint)
            } catch {
                hooks.log("fold \(task.fold): its saved state is not usable, training from epoch 1: \(error)")
            }
        }
        // Batches trained by this attempt: the trainer polls `stopRequested` once before each.
        var batchesTrained = 0
        func stopRequested() -> Bool {
            if hooks.stopRequested() { return true }
            batchesTrained += 1
            hooks.batchStarted(batchesPerEpoch)
            return false
        }
        func saved(_ state: TrainingState) throws -> SavedFoldState {
            let started = DispatchTime.now().uptimeNanoseconds
            let data = try state.encoded()
            return SavedFoldState(data: data, epochsCompleted: state.epochsCompleted, nextBatch: state.nextBatch,
                                  batchesTrained: batchesTrained, batchesPerEpoch: batchesPerEpoch,
                                  encodeSeconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        }
        func run(from state: TrainingState?) throws -> Trainer.Outcome {
            do {
                return try trainer.run(train: train, validation: validation, test: test, progress: { record in
                    progress(.with { p in
                        p.runID = task.runID
                        p.fold = task.fold
                        p.attempt = task.attempt
                        p.epoch = UInt32(record.epoch)
                        p.epochs = UInt32(epochs)
                        p.trainLoss = record.trainLoss
                        p.trainAccuracy = record.trainAccuracy
                        p.validationLoss = record.selectionLoss ?? .nan
                        p.validationAccuracy = record.selectionAccuracy ?? .nan
                        p.validationMacroF1 = record.selectionMacroF1 ?? .nan
                        p.epochSeconds = record.seconds
                    })
                    epochEnded(record)
                }, isCancelled: isCancelled, resume: state, fingerprint: fingerprint, epochEnded: { state in
                    do {
                        hooks.stateSaved(try saved(state))
                    } catch {
                        hooks.log("fold \(task.fold): state after epoch \(state.epochsCompleted) not saved: \(error)")
                    }
                }, stopRequested: stopRequested)
            } catch let stop as TrainingInterrupted {
                throw FoldStopped(state: try saved(stop.state))
            }
        }
        let outcome: Trainer.Outcome
        do {
            outcome = try run(from: resume)
        } catch let error as SleepfoldError where error.code == .foreignState && resume != nil {
            // Checked before the first batch: nothing was trained with it.
            hooks.log("fold \(task.fold): its saved state is not this fold's, training from epoch 1: \(error)")
            outcome = try run(from: nil)
        }

        var result = Sleepfold_FoldResult.with { r in
            r.runID = task.runID
            r.fold = task.fold
            r.attempt = task.attempt
            r.chosenEpoch = UInt32(outcome.chosenEpoch)
            r.workerID = job.workerID
            r.predictions = message(outcome.predictions)
            r.lastPredictions = message(outcome.lastPredictions)
            r.oraclePredictions = message(outcome.oraclePredictions)
            r.oracleEpoch = UInt32(outcome.oracleEpoch)
            r.batchesTrained = UInt64(batchesTrained)
            r.batchesPerEpoch = UInt32(batchesPerEpoch)
            r.history = outcome.history.map { h in
                .with { e in
                    e.epoch = UInt32(h.epoch)
                    e.trainLoss = h.trainLoss
                    e.trainAccuracy = h.trainAccuracy
                    e.validationLoss = h.selectionLoss ?? .nan
                    e.validationAccuracy = h.selectionAccuracy ?? .nan
                    e.validationMacroF1 = h.selectionMacroF1 ?? .nan
                    e.seconds = h.seconds
                    e.testLoss = h.testLoss
                    e.testAccuracy = h.testAccuracy ?? .nan
                    e.testMacroF1 = h.testMacroF1 ?? .nan
                }
            }
        }
        let checkpoint = FileManager.default.temporaryDirectory
            .appendingPathComponent("sleepfold-fold\(task.fold)-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: checkpoint) }
        try outcome.model.saveCheckpoint(to: checkpoint, extraMetadata: [
            "fold": String(task.fold), "run_id": task.runID, "chosen_epoch": String(outcome.chosenEpoch),
            "selection": selection.rawValue, "seed": String(task.seed),
            "class_weights": outcome.classWeights.map { String($0) }.joined(separator: ","),
        ])
        result.checkpoint = try Data(contentsOf: checkpoint)
        result.trainSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return result
    }

    /// The wire form of test predictions: labels one byte each, probabilities float32 (epochs, 5).
    static func message(_ predictions: [Trainer.RecordingPrediction]) -> [Sleepfold_RecordingPredictions] {
        predictions.map { p in
            .with { rp in
                rp.recordingID = p.recordingID
                rp.trueLabels = Data(p.trueLabels.map { UInt8(truncatingIfNeeded: $0) })
                rp.predictedLabels = Data(p.predictedLabels.map { UInt8(truncatingIfNeeded: $0) })
                rp.probabilities = p.probabilities.withUnsafeBufferPointer { Data(buffer: $0) }
            }
        }
    }
}
