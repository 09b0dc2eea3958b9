import Foundation
import Testing
import Synthesis
import SleepNet
import Basics
import Recordings
import Evaluation

/// The trainer's output for each selection mode against digests recorded with the
/// trainer of commit 7b33180, which scored the test fold only for its own selection
/// (Fixtures/trainer-selections.json). Scoring the test fold after every epoch must
/// leave each mode's own predictions, chosen weights and training bit for bit as they
/// were, and the last-epoch and test-oracle predictions of any mode's training must
/// be those the `last` and `test-oracle` runs gave. Bit identity holds for
/// sleepfold's own sgemm (either kernel), not for OpenBLAS.
///
/// To record the digests again (only when a change is meant to alter results):
/// `SLEEPFOLD_RECORD_SELECTION_FIXTURE=/path/trainer-selections.json swift test --filter TrainerSelectionFixtureTests`.
@Suite(.serialized) struct TrainerSelectionFixtureTests {
    struct Digest: Codable, Equatable {
        var chosenEpoch: Int
        /// SHA-256 of every recording's id, true and predicted labels and probabilities (float32 bytes).
        var predictions: String
        /// SHA-256 of the returned model's parameters, buffers and counters.
        var model: String
        /// SHA-256 of the per-epoch training losses (float64 bytes).
        var trainLosses: String
    }

    struct Fixture: Codable {
        var recordedWith: String
        var gemm: String
        var modes: [String: Digest]
    }

    /// Two training nights, one validation night, two test nights; 5 epochs at the
    /// narrow width of `smallExperiment`. Chosen so that the three modes pick three
    /// different epochs (validation 3, test oracle 4, last 5).
    static let nights: [Recording] = try! SynthCohort.generate(SynthOptions(subjects: 5, nights: 1, hours: 2, seed: 23))
    static let epochs = 5
    static let seed: UInt64 = 1

    static func fixtureURL() throws -> URL {
        try #require(Bundle.module.url(forResource: "trainer-selections", withExtension: "json", subdirectory: "Fixtures"))
    }

    static func train(_ mode: SelectionMode) throws -> Trainer.Outcome {
        try Trainer(config: smallExperiment(epochs: epochs), selection: mode, seed: seed)
            .run(train: [nights[0], nights[1]], validation: mode == .testOracle ? [] : [nights[2]],
                 test: [nights[3], nights[4]])
    }

    static func digest(_ predictions: [Trainer.RecordingPrediction]) -> String {
        var h = SHA256()
        for p in predictions {
            h.update(Data(p.recordingID.utf8))
            p.trueLabels.withUnsafeBytes { h.update($0) }
            p.predictedLabels.withUnsafeBytes { h.update($0) }
            p.probabilities.withUnsafeBytes { h.update($0) }
        }
        return h.hexDigest()
    }

    static func digest(_ outcome: Trainer.Outcome) -> Digest {
        let s = outcome.model.store
        var model = SHA256()
        model.update(UnsafeRawBufferPointer(UnsafeBufferPointer(start: s.values, count: s.parameterCount)))
        model.update(UnsafeRawBufferPointer(UnsafeBufferPointer(start: s.bufferValues, count: s.bufferCount)))
        s.counters.withUnsafeBytes { model.update($0) }
        var losses = SHA256()
        outcome.history.map(\.trainLoss).withUnsafeBytes { losses.update($0) }
        return Digest(chosenEpoch: outcome.chosenEpoch, predictions: digest(outcome.predictions),
                      model: model.hexDigest(), trainLosses: losses.hexDigest())
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["SLEEPFOLD_RECORD_SELECTION_FIXTURE"] != nil))
    func recordTheFixture() throws {
        let path = ProcessInfo.processInfo.environment["SLEEPFOLD_RECORD_SELECTION_FIXTURE"]!
        var modes: [String: Digest] = [:]
        for mode in SelectionMode.allCases { modes[mode.rawValue] = Self.digest(try Self.train(mode)) }
        let fixture = Fixture(recordedWith: "sleepfold \(sleepfoldVersion)", gemm: GEMMBackend.current.rawValue, modes: modes)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(fixture).write(to: URL(fileURLWithPath: path))
    }

    static func fixture() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: try fixtureURL()))
    }

    /// Recorded on the AVX-512 kernel. The AVX2 kernel gives the same bits (same K
    /// blocks, same order of sums), so training must match the recording there too;
    /// its evaluation runs the encoder's causal convolutions by Winograd
    /// (`MultiHeadAttention.causalConvolutionTile`), so its predictions round otherwise
    /// and are compared only where evaluation is the recording's.
    @Test(.enabled(if: GEMMBackend.current.isOwn, "recorded with sleepfold's own sgemm; OpenBLAS rounds otherwise"),
          arguments: SelectionMode.allCases)
    func eachModesOwnSelectionIsBitIdenticalToTheRecordedTrainer(mode: SelectionMode) throws {
        let fixture = try Self.fixture()
        try #require(GEMMBackend(rawValue: fixture.gemm)?.isOwn == true)
        let expected = try #require(fixture.modes[mode.rawValue])
        let outcome = try Self.train(mode)
        let got = Self.digest(outcome)
        #expect(got.model == expected.model)
        #expect(got.trainLosses == expected.trainLosses)
        #expect(got.chosenEpoch == expected.chosenEpoch)
        let last = try #require(fixture.modes[SelectionMode.last.rawValue])
        let oracle = try #require(fixture.modes[SelectionMode.testOracle.rawValue])
        #expect(outcome.oracleEpoch == oracle.chosenEpoch)
        guard GEMMBackend.current.rawValue == fixture.gemm else { return }
        #expect(got.predictions == expected.predictions)
        // The other two selections of the same training are what their own runs gave.
        #expect(Self.digest(outcome.lastPredictions) == last.predictions)
        #expect(Self.digest(outcome.oraclePredictions) == oracle.predictions)
    }
}
