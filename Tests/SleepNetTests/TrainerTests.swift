import Foundation
import Testing
import TestSupport
import Synthesis
import SleepNet
import Basics
import Recordings
import Evaluation

/// A narrow AttnSleep (small CNN and encoder) so that training tests take seconds.
func smallExperiment(epochs: Int, batch: Int = 32) -> ExperimentConfig {
    var model = ModelConfig()
    model.cnnFirstChannels = 16
    model.cnnChannels = 32
    model.afrChannels = 8
    model.heads = 4
    model.dFF = 32
    var training = TrainingConfig()
    training.epochs = epochs
    training.batchSize = batch
    return ExperimentConfig(name: "small", model: model, training: training)
}

func stagePairs(_ predictions: [Trainer.RecordingPrediction]) -> [(truth: Stage, predicted: Stage)] {
    predictions.flatMap { p in
        zip(p.trueLabels, p.predictedLabels).map { (truth: Stage(rawValue: $0)!, predicted: Stage(rawValue: $1)!) }
    }
}

@Suite(.serialized) struct TrainerTests {
    static let cohort: [Recording] = try! SynthCohort.generate(SynthOptions(subjects: 12, nights: 1, hours: 2, seed: 11))
    static let tiny: [Recording] = try! SynthCohort.generate(SynthOptions(subjects: 3, nights: 1, hours: 0.5, seed: 5))

    @Test func trainingOnASyntheticCohortLearnsTheStages() throws {
        let train = Array(Self.cohort[0..<9]), validation = [Self.cohort[9]], test = Array(Self.cohort[10..<12])
        let trainer = Trainer(config: smallExperiment(epochs: 10), selection: .validation, seed: 1)
        let outcome = try trainer.run(train: train, validation: validation, test: test)
        let metrics = Metrics(pairs: stagePairs(outcome.predictions))
        // Chance is ~0.45 accuracy (all N2), kappa 0; a band-power LDA reaches ~0.88 across subjects.
        let summary = "accuracy \(metrics.accuracy ?? -1), kappa \(metrics.kappa ?? -1), chosen epoch \(outcome.chosenEpoch), history \(outcome.history.map { ($0.trainLoss, $0.selectionMacroF1 ?? -1) })"
        #expect(try #require(metrics.accuracy) > 0.7, "\(summary)")
        #expect(try #require(metrics.kappa) > 0.6, "\(summary)")
        #expect(outcome.history.last!.trainLoss < outcome.history.first!.trainLoss)
    }

    @Test func theSameSeedGivesBitIdenticalPredictions() throws {
        func run(_ seed: UInt64) throws -> Trainer.Outcome {
            try Trainer(config: smallExperiment(epochs: 2), selection: .last, seed: seed)
                .run(train: [Self.tiny[0], Self.tiny[1]], validation: [], test: [Self.tiny[2]])
        }
        let a = try run(7), b = try run(7), c = try run(8)
        #expect(a.predictions == b.predictions)
        #expect(a.history.map(\.trainLoss) == b.history.map(\.trainLoss))
        #expect(a.predictions[0].probabilities != c.predictions[0].probabilities)
    }

    @Test(arguments: [SelectionMode.validation, .last, .testOracle])
    func selectionPicksTheDocumentedEpoch(mode: SelectionMode) throws {
        let trainer = Trainer(config: smallExperiment(epochs: 3), selection: mode, seed: 3)
        let outcome = try trainer.run(train: [Self.tiny[0]], validation: [Self.tiny[1]], test: [Self.tiny[2]])
        let h = outcome.history
        switch mode {
        case .last:
            #expect(outcome.chosenEpoch == 3)
            #expect(h.allSatisfy { $0.selectionMacroF1 == nil })
        case .validation:
            let best = h.max { ($0.selectionMacroF1 ?? -1, -$0.epoch) < ($1.selectionMacroF1 ?? -1, -$1.epoch) }!
            #expect(outcome.chosenEpoch == best.epoch)
        case .testOracle:
            let best = h.max { ($0.selectionAccuracy ?? -1, -$0.epoch) < ($1.selectionAccuracy ?? -1, -$1.epoch) }!
            #expect(outcome.chosenEpoch == best.epoch)
            // The kept predictions are that epoch's test predictions.
            let acc = Metrics(pairs: stagePairs(outcome.predictions)).accuracy
            #expect(acc == best.selectionAccuracy)
        }
        // Whatever the mode, the returned model reproduces the returned predictions
        // (in validation mode they are the test predictions kept from the chosen epoch:
        // the restored weights predict them again, bit for bit).
        let (again, _) = try trainer.predict([Self.tiny[2]], model: outcome.model)
        #expect(again == outcome.predictions)
        #expect(outcome.predictions[0].probabilities.count == Self.tiny[2].epochCount * 5)
        // The test fold is scored after every epoch, in every mode; the oracle's epoch is
        // the best test accuracy (the earliest on ties), the last one the last epoch's.
        #expect(h.allSatisfy { $0.testAccuracy != nil && $0.testMacroF1 != nil && $0.testLoss.isFinite })
        #expect(h.allSatisfy { $0.testSeconds > 0 && $0.testSeconds < $0.seconds })
        let bestTest = h.max { ($0.testAccuracy ?? -1, -$0.epoch) < ($1.testAccuracy ?? -1, -$1.epoch) }!
        #expect(outcome.oracleEpoch == bestTest.epoch)
        #expect(Metrics(pairs: stagePairs(outcome.oraclePredictions)).accuracy == bestTest.testAccuracy)
        #expect(Metrics(pairs: stagePairs(outcome.lastPredictions)).accuracy == h.last!.testAccuracy)
        #expect(Metrics(pairs: stagePairs(outcome.lastPredictions)).macroF1 == h.last!.testMacroF1)
        if mode == .testOracle { #expect(h.allSatisfy { $0.selectionAccuracy == $0.testAccuracy }) }
    }

    /// One training gives the three selections: its last-epoch and test-oracle
    /// predictions are what the `last` and `test-oracle` runs of the same seed give
    /// (scoring draws nothing from the seeded generators and changes no weight).
    @Test func oneTrainingGivesThePredictionsOfEverySelection() throws {
        func run(_ mode: SelectionMode) throws -> Trainer.Outcome {
            try Trainer(config: smallExperiment(epochs: 3), selection: mode, seed: 4)
                .run(train: [Self.tiny[0]], validation: mode == .testOracle ? [] : [Self.tiny[1]], test: [Self.tiny[2]])
        }
        let validation = try run(.validation), last = try run(.last), oracle = try run(.testOracle)
        for outcome in [validation, last, oracle] {
            #expect(outcome.lastPredictions == last.predictions)
            #expect(outcome.oraclePredictions == oracle.predictions)
            #expect(outcome.oracleEpoch == oracle.chosenEpoch)
            #expect(outcome.history.map(\.trainLoss) == last.history.map(\.trainLoss))
            #expect(outcome.history.map(\.testAccuracy) == last.history.map(\.testAccuracy))
        }
        #expect(last.predictions == last.lastPredictions && oracle.predictions == oracle.oraclePredictions)
    }

    @Test func validationSelectionWithoutValidationDataIsAnError() {
        let trainer = Trainer(config: smallExperiment(epochs: 1), selection: .validation, seed: 0)
        expectError(.invalidConfig, field: "selection") {
            _ = try trainer.run(train: [Self.tiny[0]], validation: [], test: [Self.tiny[1]])
        }
    }

    /// Issue 18: `predict` bounds its evaluation batch before allocating for it, as `run`
    /// bounds the training batch: 0 or less would never advance (or trap), 2^40 is refused
    /// by the memory estimate (without the check a night's epochs would simply be taken).
    @Test(arguments: [0, -1, 1 << 40])
    func predictRefusesAnUnboundedEvaluationBatch(batch: Int) throws {
        let config = smallExperiment(epochs: 1)
        let trainer = Trainer(config: config, selection: .last, seed: 0)
        trainer.evaluationBatch = batch
        let model = try SleepModel(config: config.model, seed: 0)
        let e = expectError(.invalidConfig, field: "evaluationBatch") { _ = try trainer.predict([Self.tiny[0]], model: model) }
        #expect(e?.message.contains("\(batch)") == true, "\(String(describing: e))")
        trainer.evaluationBatch = 128
        #expect(try trainer.predict([Self.tiny[0]], model: model).0.first?.predictedLabels.count == Self.tiny[0].epochCount)
    }

    @Test func cancellationStopsTraining() {
        let trainer = Trainer(config: smallExperiment(epochs: 50), selection: .last, seed: 0)
        #expect(throws: CancellationError.self) {
            try trainer.run(train: [Self.tiny[0]], validation: [], test: [Self.tiny[1]], isCancelled: { true })
        }
    }

    @Test func classWeightsFollowTheReferenceFormula() {
        // Values from the reference's calc_class_weight (Python).
        #expect(ClassWeights.reference(counts: [1000, 300, 2000, 600, 800]) == [0.3, 0.73, 0.3, 0.2, 0.3])
        #expect(ClassWeights.reference(counts: [8285, 2804, 17799, 5703, 7717]) == [0.3, 0.72, 0.3, 0.2, 0.3])
        #expect(ClassWeights.reference(counts: [10, 0, 10, 10, 10]) == [0.3, 0.4, 0.3, 0.2, 0.3])
        #expect(ClassWeights.counts([0, 4, 4, 2, 9, -1]) == [1, 0, 1, 0, 2])
    }
}
