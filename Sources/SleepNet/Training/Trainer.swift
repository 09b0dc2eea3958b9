import Foundation
import Basics
import Recordings
import Evaluation

/// Trains a model on one fold's training recordings and predicts its test
/// recordings, with the model selection of SPEC §3:
/// - `validation`: after each epoch the validation recordings are scored; the
///   weights of the epoch with the best validation macro-F1 give the predictions;
/// - `last`: the last epoch's weights give the predictions;
/// - `test-oracle`: the predictions of the epoch with the best test accuracy are
///   kept (the AttnSleep reference's protocol, which leaks the test fold into
///   model selection).
///
/// Whatever the mode, the test fold is scored after every epoch (eval mode, the
/// same `predict` path), so one training gives the predictions of all three
/// selections: `Outcome.predictions` is the mode's own, `lastPredictions` and
/// `oraclePredictions` the other two. Test labels never reach training or the
/// validation choice: they only pick the oracle's epoch. Scoring draws nothing from
/// the seeded generators and changes no weights, so the mode's own predictions,
/// its chosen weights and the training are those of a run that scores the test
/// fold only for its own selection, bit for bit.
///
/// Deterministic: the same seed, data and config give bit-identical results
/// (initialisation, shuffling and dropout all come from `seed`).
public final class Trainer {
    public struct EpochRecord: Sendable, Equatable {
        public var epoch: Int                  // 1-based
        public var trainLoss: Double
        public var trainAccuracy: Double
        /// Selection-set scores (validation, or test under test-oracle); nil for `last`.
        public var selectionLoss: Double?
        public var selectionAccuracy: Double?
        public var selectionMacroF1: Double?
        /// The test fold scored after this epoch, in every mode: weighted loss (NaN
        /// when the fold has no epochs), accuracy and macro-F1 (nil then).
        public var testLoss: Double
        public var testAccuracy: Double?
        public var testMacroF1: Double?
        /// Wall time of the epoch: training, selection scoring and test scoring.
        public var seconds: Double
        /// The part of `seconds` spent scoring the test fold (the price of having
        /// every selection from one training).
        public var testSeconds: Double
    }

    /// Predictions for one recording: labels and class probabilities (epochs, 5).
    public struct RecordingPrediction: Sendable, Equatable {
        public var recordingID: String
        public var trueLabels: [Int32]
        public var predictedLabels: [Int32]
        public var probabilities: [Float]
    }

    public struct Outcome {
        /// The test predictions of the run's own selection mode.
        public var predictions: [RecordingPrediction]
        /// The epoch whose weights made `predictions` (1-based).
        public var chosenEpoch: Int
        /// The same training's test predictions of its last epoch (the `last` selection).
        public var lastPredictions: [RecordingPrediction]
        /// The same training's test predictions of the epoch with the best test
        /// accuracy, the earliest on ties (the `test-oracle` selection: leaks the test fold).
        public var oraclePredictions: [RecordingPrediction]
        /// The epoch of `oraclePredictions` (1-based).
        public var oracleEpoch: Int
        public var history: [EpochRecord]
        public var classWeights: [Float]
        /// The model holding the chosen epoch's weights.
        public var model: SleepModel
    }

    public let config: ExperimentConfig
    public let selection: SelectionMode
    public let seed: UInt64
    /// Batch size used for evaluation passes (no gradients kept). 128, the default
    /// training batch: eval buffers then stay the size of the training ones, so a
    /// training process peaks lower than with a larger evaluation batch; a larger
    /// one infers only a little faster per sample, on a few % of an epoch
    /// (measurements: Benchmarks/pytorch/README.md, "Evaluation batch").
    public var evaluationBatch = 128

    public init(config: ExperimentConfig, selection: SelectionMode, seed: UInt64) {
        self.config = config
        self.selection = selection
        self.seed = seed
    }

    /// Trains for `config.training.epochs` epochs and predicts `test`.
    /// - Parameters:
    ///   - progress: called after every epoch trained in this call (not for those
    ///     a resumed state had completed: they are in `Outcome.history`).
    ///   - isCancelled: polled between batches; when true, throws `CancellationError`.
    ///   - resume: a state saved by an earlier run of this fold (`epochEnded` or
    ///     `TrainingInterrupted`): training continues where it stopped, and the outcome
    ///     is that of the undisturbed run, bit for bit (timings aside). A state of
    ///     another config, selection, seed, fingerprint or training set is refused
    ///     (`.foreignState`).
    ///   - fingerprint: the fold's identity, written into every state made here and
    ///     required of `resume`.
    ///   - epochEnded: called after every epoch with the state to continue from the
    ///     next one; nil (the default) builds no state (a state copies the weights).
    ///   - stopRequested: polled between batches, after `isCancelled`; when true,
    ///     throws `TrainingInterrupted` with the state to resume at that batch.
    public func run(train: [Recording], validation: [Recording], test: [Recording],
                    progress: (EpochRecord) -> Void = { _ in },
                    isCancelled: () -> Bool = { false },
                    resume: TrainingState? = nil, fingerprint: String = "",
                    epochEnded: ((TrainingState) -> Void)? = nil,
                    stopRequested: () -> Bool = { false }) throws -> Outcome {
        let S = config.model.inputSamples
        for r in train + validation + test where r.samplesPerEpoch != S {
            throw SleepfoldError(.shapeMismatch, file: r.id, field: "samples per epoch", found: "\(r.samplesPerEpoch)",
                                 expected: "\(S), the model's input")
        }
        return try run(train: InMemoryEpochs(train), validation: validation.map { LazyRecording($0) },
                       test: test.map { LazyRecording($0) }, progress: progress, isCancelled: isCancelled,
                       resume: resume, fingerprint: fingerprint, epochEnded: epochEnded, stopRequested: stopRequested)
    }

    /// `run` with training epochs from any source (e.g. files, read batch by batch)
    /// and evaluation nights loaded one at a time: memory stays that of one batch and
    /// one night, whatever the size of the fold. Same seed and data, same results as
    /// the in-memory `run`, bit for bit.
    public func run(train: any EpochSource, validation: [LazyRecording], test: [LazyRecording],
                    progress: (EpochRecord) -> Void = { _ in },
                    isCancelled: () -> Bool = { false },
                    resume: TrainingState? = nil, fingerprint: String = "",
                    epochEnded: ((TrainingState) -> Void)? = nil,
                    stopRequested: () -> Bool = { false }) throws -> Outcome {
        let training = config.training
        // Sizes bounded and the memory of a batch estimated before anything is allocated.
        try config.model.validate(source: "model config")
        try training.validate(source: "training config")
        try config.model.validateMemory(batchSize: training.batchSize, source: "training config", field: "batchSize")
        let S = config.model.inputSamples
        if !train.labels.isEmpty && train.samplesPerEpoch != S {
            throw SleepfoldError(.shapeMismatch, field: "training epochs", found: "\(train.samplesPerEpoch) samples per epoch",
                                 expected: "\(S), the model's input")
        }
        guard train.labels.contains(where: { !$0.isEmpty }) else {
            throw SleepfoldError(.invalidConfig, field: "training recordings", found: "no epochs",
                                 expected: "at least one training epoch in the fold")
        }
        if selection == .validation && validation.isEmpty {
            throw SleepfoldError(.invalidConfig, field: "selection", found: "'validation' and no validation recordings",
                                 expected: "validation recordings in the fold, or another selection")
        }

        let model = try SleepModel(config: config.model, seed: seed)
        let optimizer = Adam(store: model.store, config: training)
        let loss = WeightedCrossEntropy()
        let weights = ClassWeights.reference(counts: ClassWeights.counts(train.labels.flatMap { $0 }))

        let batches = EpochBatches(source: train, batchSize: training.batchSize)
        var history: [EpochRecord] = []
        // Test predictions alive at once: at most three sets, not one per epoch: the
        // best validation epoch's, the best test epoch's and this epoch's (`latest`,
        // the last epoch's once the loop ends). A snapshot of the weights is kept only
        // for the mode's own choice: the model must hold them at the end (checkpoint).
        var bestValidation: TrainingState.SelectedEpoch?   // snapshot always set
        var bestTest: TrainingState.SelectedEpoch?         // snapshot set under test-oracle
        var latest: [RecordingPrediction] = []

        // Where training starts: epoch 1, or after the resumed state's last batch.
        var firstEpoch = 1
        if let resume {
            try check(resume, fingerprint: fingerprint, classWeights: weights, batchesPerEpoch: batches.count)
            resume.restore(model: model, optimizer: optimizer)
            bestValidation = resume.bestValidation
            bestTest = resume.bestTest
            latest = resume.latest
            history = resume.history
            firstEpoch = resume.epochsCompleted + 1
            // Each epoch shuffles the order the previous one left: replay the shuffles
            // of the completed epochs (they draw only from their own streams).
            for epoch in 1..<firstEpoch {
                var shuffle = SeededGenerator(seed: seed, stream: 0x5348_5546 &+ UInt64(epoch))
                batches.shuffle(using: &shuffle)
            }
        }
        /// The state after `epochsCompleted` epochs and `nextBatch` batches of the next.
        func state(epochsCompleted: Int, nextBatch: Int, lossSum: Double, seen: Int, correct: Int) -> TrainingState {
            TrainingState(fingerprint: fingerprint, config: config, selection: selection, seed: seed,
                          epochsCompleted: epochsCompleted, nextBatch: nextBatch, batchesPerEpoch: batches.count,
                          lossSum: lossSum, seen: seen, correct: correct, classWeights: weights, model: model,
                          optimizer: optimizer, bestValidation: bestValidation, bestTest: bestTest, latest: latest,
                          history: history)
        }

        for epoch in stride(from: firstEpoch, through: training.epochs, by: 1) {
            let started = DispatchTime.now().uptimeNanoseconds
            optimizer.learningRate = training.learningRate(epoch: epoch)
            var dropoutSeed = SeededGenerator(seed: seed, stream: 0x4452_4F50 &+ UInt64(epoch))
            model.reseedDropout(dropoutSeed.next())
            var shuffle = SeededGenerator(seed: seed, stream: 0x5348_5546 &+ UInt64(epoch))
            batches.shuffle(using: &shuffle)

            var lossSum = 0.0, seen = 0, correct = 0
            var firstBatch = 0
            if let resume, epoch == firstEpoch, resume.nextBatch > 0 {
                // Mid-epoch: the dropout stream at the exact draw, the sums so far, the
                // learning rate the epoch trained with.
                model.dropoutGenerator = resume.dropoutGenerator
                optimizer.learningRate = resume.learningRate
                (lossSum, seen, correct) = (resume.lossSum, resume.seen, resume.correct)
                firstBatch = resume.nextBatch
            }
            for b in firstBatch..<batches.count {
                if isCancelled() { throw CancellationError() }
                if stopRequested() {
                    throw TrainingInterrupted(state: state(epochsCompleted: epoch - 1, nextBatch: b, lossSum: lossSum,
                                                           seen: seen, correct: correct))
                }
                let (x, labels, n) = try batches.batch(b)
                // model.trainStep, keeping the logits for the running accuracy.
                let logits = try model.forward(x, batch: n, training: true)
                let value = try loss.forward(logits: logits, labels: labels, classWeights: weights)
                model.zeroGradients()
                try model.backward(loss.logitsGradient)
                optimizer.step()
                lossSum += Double(value) * Double(n)
                seen += n
                correct += Self.correctCount(logits, labels)
            }

            var record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(max(1, seen)),
                                     trainAccuracy: Double(correct) / Double(max(1, seen)),
                                     selectionLoss: nil, selectionAccuracy: nil, selectionMacroF1: nil,
                                     testLoss: .nan, testAccuracy: nil, testMacroF1: nil, seconds: 0, testSeconds: 0)
            var validationScore = -1.0
            if selection == .validation {
                let (predictions, setLoss) = try predict(validation, model: model, lossWeights: weights)
                let metrics = Metrics(pairs: Self.stagePairs(predictions))
                record.selectionLoss = setLoss
                record.selectionAccuracy = metrics.accuracy
                record.selectionMacroF1 = metrics.macroF1
                // Validation picks by macro-F1 (SPEC).
                validationScore = metrics.macroF1 ?? -1
            }

            // The test fold, in eval mode like any scoring: it neither trains nor
            // draws from the seeded generators. The previous epoch's set is let go
            // first (unless one of the best holds it), so three sets at most are alive.
            let testStarted = DispatchTime.now().uptimeNanoseconds
            latest = []
            let (scored, testLoss) = try predict(test, model: model, lossWeights: weights)
            latest = scored
            let testMetrics = Metrics(pairs: Self.stagePairs(latest))
            record.testLoss = testLoss
            record.testAccuracy = testMetrics.accuracy
            record.testMacroF1 = testMetrics.macroF1
            record.testSeconds = Double(DispatchTime.now().uptimeNanoseconds - testStarted) / 1e9
            if selection == .testOracle {
                record.selectionLoss = record.testLoss
                record.selectionAccuracy = record.testAccuracy
                record.selectionMacroF1 = record.testMacroF1
            }

            // Strictly better only: ties keep the earlier epoch.
            if selection == .validation && (bestValidation == nil || validationScore > bestValidation!.score) {
                bestValidation = .init(score: validationScore, epoch: epoch, snapshot: ModelSnapshot(model), test: latest)
            }
            // The oracle picks by test accuracy, as the reference does.
            let testScore = testMetrics.accuracy ?? -1
            if bestTest == nil || testScore > bestTest!.score {
                bestTest = .init(score: testScore, epoch: epoch, snapshot: selection == .testOracle ? ModelSnapshot(model) : nil,
                                 test: latest)
            }
            record.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            history.append(record)
            progress(record)
            epochEnded?(state(epochsCompleted: epoch, nextBatch: 0, lossSum: 0, seen: 0, correct: 0))
        }

        // The model ends holding the weights of the mode's own choice (the checkpoint).
        // The kept test predictions are those the restored weights give: eval is
        // deterministic for the same weights and nights (TrainerTests checks it).
        let oracle = bestTest!
        var outcome = Outcome(predictions: latest, chosenEpoch: training.epochs,
                              lastPredictions: latest, oraclePredictions: oracle.test, oracleEpoch: oracle.epoch,
                              history: history, classWeights: weights, model: model)
        switch selection {
        case .last:
            break
        case .validation:
            bestValidation!.snapshot!.restore(into: model)
            outcome.predictions = bestValidation!.test
            outcome.chosenEpoch = bestValidation!.epoch
        case .testOracle:
            oracle.snapshot!.restore(into: model)
            outcome.predictions = oracle.test
            outcome.chosenEpoch = oracle.epoch
        }
        return outcome
    }

    /// Refuses a state that is not this fold's: another fingerprint, config,
    /// selection or seed, or another training set (class weights, batches per epoch).
    private func check(_ state: TrainingState, fingerprint: String, classWeights: [Float], batchesPerEpoch: Int) throws {
        func foreign(_ field: String, found: String, expected: String) -> SleepfoldError {
            SleepfoldError(.foreignState, file: TrainingState.source, field: field, found: found, expected: expected)
        }
        guard state.fingerprint == fingerprint else {
            throw foreign("fingerprint", found: "'\(state.fingerprint)'", expected: "'\(fingerprint)'")
        }
        guard state.config == config else {
            throw foreign("config", found: (try? state.config.canonicalJSON()) ?? state.config.name,
                          expected: (try? config.canonicalJSON()) ?? config.name)
        }
        guard state.selection == selection else {
            throw foreign("selection", found: state.selection.rawValue, expected: selection.rawValue)
        }
        guard state.seed == seed else { throw foreign("seed", found: "\(state.seed)", expected: "\(seed)") }
        guard state.batchesPerEpoch == batchesPerEpoch else {
            throw foreign("batches per epoch", found: "\(state.batchesPerEpoch)",
                          expected: "\(batchesPerEpoch) (this fold's training set)")
        }
        guard state.classWeights.map(\.bitPattern) == classWeights.map(\.bitPattern) else {
            throw foreign("class weights", found: "\(state.classWeights)", expected: "\(classWeights) (this fold's training labels)")
        }
    }

    /// Eval-mode predictions for each recording, and the weighted loss over all of them.
    public func predict(_ recordings: [Recording], model: SleepModel,
                        lossWeights: [Float]? = nil) throws -> ([RecordingPrediction], Double) {
        try predict(recordings.map { LazyRecording($0) }, model: model, lossWeights: lossWeights)
    }

    /// `predict` loading one night at a time.
    public func predict(_ recordings: [LazyRecording], model: SleepModel,
                        lossWeights: [Float]? = nil) throws -> ([RecordingPrediction], Double) {
        // Activations for `evaluationBatch` epochs at once are allocated below: bound it first, as
        // `run` bounds the training batch (0 would never advance; a huge one would abort).
        guard evaluationBatch >= 1 else {
            throw SleepfoldError(.invalidConfig, file: "trainer", field: "evaluationBatch", found: "\(evaluationBatch)",
                                 expected: "at least 1")
        }
        try config.model.validateMemory(batchSize: evaluationBatch, source: "trainer", field: "evaluationBatch")
        let K = config.model.classes
        let S = config.model.inputSamples
        let loss = WeightedCrossEntropy()
        var lossSum = 0.0, lossCount = 0
        var out: [RecordingPrediction] = []
        for lazy in recordings {
            let r = try lazy.load()
            guard r.samplesPerEpoch == S else {
                throw SleepfoldError(.shapeMismatch, file: r.id, field: "samples per epoch", found: "\(r.samplesPerEpoch)",
                                 expected: "\(S), the model's input")
            }
            var probabilities = [Float](repeating: 0, count: r.epochCount * K)
            var predicted = [Int32](repeating: 0, count: r.epochCount)
            var start = 0
            while start < r.epochCount {
                let n = min(evaluationBatch, r.epochCount - start)
                let logits = try r.x.withUnsafeBufferPointer { x in
                    try model.forward(UnsafeBufferPointer(rebasing: x[(start * S)..<((start + n) * S)]), batch: n, training: false)
                }
                if let lossWeights {
                    let value = try r.labels.withUnsafeBufferPointer {
                        try loss.forward(logits: logits, labels: UnsafeBufferPointer(rebasing: $0[start..<(start + n)]),
                                         classWeights: lossWeights)
                    }
                    lossSum += Double(value) * Double(n)
                    lossCount += n
                }
                for i in 0..<n {
                    let row = logits.data + i * K
                    var m = -Float.infinity, arg = 0
                    for j in 0..<K where row[j] > m { m = row[j]; arg = j }
                    var sum: Float = 0
                    for j in 0..<K { sum += exp(row[j] - m) }
                    for j in 0..<K { probabilities[(start + i) * K + j] = exp(row[j] - m) / sum }
                    predicted[start + i] = Int32(arg)
                }
                start += n
            }
            out.append(RecordingPrediction(recordingID: r.id, trueLabels: r.labels,
                                           predictedLabels: predicted, probabilities: probabilities))
        }
        return (out, lossCount > 0 ? lossSum / Double(lossCount) : .nan)
    }

    /// (truth, predicted) stage pairs of predictions, for `Metrics`.
    private static func stagePairs(_ predictions: [RecordingPrediction]) -> [(truth: Stage, predicted: Stage)] {
        predictions.flatMap { p in
            zip(p.trueLabels, p.predictedLabels).map { (truth: Stage(rawValue: $0)!, predicted: Stage(rawValue: $1)!) }
        }
    }

    /// Batches in one epoch of `trainingEpochs` samples at `batchSize` (a remainder of
    /// one sample is dropped: BatchNorm cannot normalise a batch of one).
    public static func batchesPerEpoch(trainingEpochs: Int, batchSize: Int) -> Int {
        EpochBatches.count(epochs: trainingEpochs, batchSize: batchSize)
    }

    private static func correctCount(_ logits: Tensor, _ labels: UnsafeBufferPointer<Int32>) -> Int {
        let K = logits.count / max(1, labels.count)
        var correct = 0
        for i in 0..<labels.count {
            let row = logits.data + i * K
            var arg = 0
            for j in 1..<K where row[j] > row[arg] { arg = j }
            if arg == Int(labels[i]) { correct += 1 }
        }
        return correct
    }
}
