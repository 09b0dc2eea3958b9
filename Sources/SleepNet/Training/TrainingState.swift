import Foundation
import Basics
import Evaluation

/// Everything `Trainer.run` needs to continue a fold exactly where it stopped: at
/// an epoch boundary (`nextBatch` 0) or before batch `nextBatch` of the epoch after
/// `epochsCompleted`. A run resumed from a state gives the predictions, weights and
/// history (timings aside) of the undisturbed run, bit for bit.
///
/// What is not saved is recomputed from what is: the batch order of an epoch is
/// the previous order shuffled by that epoch's stream of the seed, so the trainer
/// replays the shuffles of the epochs before; the class weights come from the
/// training labels (saved anyway, to catch other data).
///
/// Bytes: safetensors with JSON in `__metadata__` (TrainingState+Safetensors.swift,
/// docs/fold-state.md).
public struct TrainingState: Sendable {
    /// Value of `__metadata__.format`.
    public static let magic = "sleepfold-fold-state"
    /// Value of `__metadata__.format_version`; bumped when the layout changes.
    public static let version = "1"

    /// The caller's identity of the fold (run id, fold, seed, config hash…): a state
    /// is only resumed by a caller that expects the same string.
    public let fingerprint: String
    public let config: ExperimentConfig
    public let selection: SelectionMode
    public let seed: UInt64

    /// Epochs fully trained and scored (0 ... config.training.epochs).
    public let epochsCompleted: Int
    /// The batch of epoch `epochsCompleted + 1` to train next: 0 at an epoch boundary.
    public let nextBatch: Int
    /// Batches per epoch of the fold's training set (checked on resumption).
    public let batchesPerEpoch: Int
    /// Running sums of the epoch in progress (all 0 at an epoch boundary): the
    /// sample-weighted loss, samples seen and correctly classified.
    let lossSum: Double
    let seen: Int
    let correct: Int

    /// The class weights of the training labels (`classes`).
    let classWeights: [Float]
    /// The model's parameters, buffers and counters as they are now.
    let model: ModelSnapshot
    /// Adam's moments (each laid out as the parameter block), steps and learning rate.
    let adamFirst: [Float], adamSecond: [Float], adamMaxSecond: [Float]
    let adamStep: Int
    let learningRate: Float
    /// The model's dropout-key generator, at the draw the next training forward makes.
    let dropoutGenerator: SeededGenerator

    /// The epochs kept for model selection so far (nil before the first epoch):
    /// the best validation epoch (validation mode; with its weights), the best test
    /// epoch (its weights only under test-oracle), the last scored test predictions.
    let bestValidation: SelectedEpoch?
    let bestTest: SelectedEpoch?
    let latest: [Trainer.RecordingPrediction]
    /// One record per completed epoch.
    public let history: [Trainer.EpochRecord]

    /// An epoch kept by the selection: its score (validation macro-F1 or test
    /// accuracy, −1 when undefined), number, weights when the mode needs them, and test predictions.
    struct SelectedEpoch: Sendable {
        var score: Double
        var epoch: Int
        var snapshot: ModelSnapshot?
        var test: [Trainer.RecordingPrediction]
    }

    /// The state of a live training: the model's weights and the optimizer's moments copied.
    init(fingerprint: String, config: ExperimentConfig, selection: SelectionMode, seed: UInt64,
         epochsCompleted: Int, nextBatch: Int, batchesPerEpoch: Int, lossSum: Double, seen: Int, correct: Int,
         classWeights: [Float], model: SleepModel, optimizer: Adam,
         bestValidation: SelectedEpoch?, bestTest: SelectedEpoch?, latest: [Trainer.RecordingPrediction],
         history: [Trainer.EpochRecord]) {
        let adam = optimizer.savedState()
        self.init(fingerprint: fingerprint, config: config, selection: selection, seed: seed,
                  epochsCompleted: epochsCompleted, nextBatch: nextBatch, batchesPerEpoch: batchesPerEpoch,
                  lossSum: lossSum, seen: seen, correct: correct, classWeights: classWeights,
                  model: ModelSnapshot(model), adamFirst: adam.first, adamSecond: adam.second,
                  adamMaxSecond: adam.maxSecond, adamStep: adam.step, learningRate: adam.learningRate,
                  dropoutGenerator: model.dropoutGenerator, bestValidation: bestValidation, bestTest: bestTest,
                  latest: latest, history: history)
    }

    /// A state of its parts: read back from bytes (TrainingState+Safetensors.swift, which has
    /// checked every field) or taken from a live model and optimizer (above).
    init(fingerprint: String, config: ExperimentConfig, selection: SelectionMode, seed: UInt64,
         epochsCompleted: Int, nextBatch: Int, batchesPerEpoch: Int, lossSum: Double, seen: Int, correct: Int,
         classWeights: [Float], model: ModelSnapshot, adamFirst: [Float], adamSecond: [Float],
         adamMaxSecond: [Float], adamStep: Int, learningRate: Float, dropoutGenerator: SeededGenerator,
         bestValidation: SelectedEpoch?, bestTest: SelectedEpoch?, latest: [Trainer.RecordingPrediction],
         history: [Trainer.EpochRecord]) {
        self.fingerprint = fingerprint
        self.config = config
        self.selection = selection
        self.seed = seed
        self.epochsCompleted = epochsCompleted
        self.nextBatch = nextBatch
        self.batchesPerEpoch = batchesPerEpoch
        self.lossSum = lossSum
        self.seen = seen
        self.correct = correct
        self.classWeights = classWeights
        self.model = model
        self.adamFirst = adamFirst
        self.adamSecond = adamSecond
        self.adamMaxSecond = adamMaxSecond
        self.adamStep = adamStep
        self.learningRate = learningRate
        self.dropoutGenerator = dropoutGenerator
        self.bestValidation = bestValidation
        self.bestTest = bestTest
        self.latest = latest
        self.history = history
    }

    /// Puts the model's weights, the optimizer's state and the dropout stream back.
    func restore(model target: SleepModel, optimizer: Adam) {
        model.restore(into: target)
        optimizer.restore(first: adamFirst, second: adamSecond, maxSecond: adamMaxSecond, step: adamStep,
                          learningRate: learningRate)
        target.dropoutGenerator = dropoutGenerator
    }
}

extension SleepfoldError.Code {
    /// A fold state of another run, fold, config, selection, seed or training set.
    public static let foreignState = Self("foreignState")
}
