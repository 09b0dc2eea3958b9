import Foundation
import SleepNet
import Testing
import TestSupport
import Recordings
import Evaluation

@Suite struct ConfigTests {
    /// configs/ex1-attnsleep.json is AttnSleep with the reference schedule.
    @Test func ex1ConfigIsAttnSleepWithTheReferenceSchedule() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs/ex1-attnsleep.json")
        let config = try ExperimentConfig.load(from: url)
        #expect(config.model == ModelConfig())
        #expect(config.training.batchSize == 128 && config.training.epochs == 100)
        #expect(config.training.learningRate(epoch: 10) == 1e-3 && config.training.learningRate(epoch: 11) == 1e-4)
        #expect(config.training.weightDecay == 1e-3 && config.training.amsgrad)
    }

    @Test func absentFieldsTakeTheirDefaultsAndTheConfigRoundTrips() throws {
        let config = try JSONDecoder().decode(ModelConfig.self, from: Data(#"{"inputSamples": 3750, "dModel": 100, "branch2": {"kernel": 400, "stride": 50, "padding": 200, "firstPool": {"kernel": 4, "stride": 2, "padding": 2}, "convKernel": 6, "convPadding": 3, "lastPool": {"kernel": 2, "stride": 2, "padding": 1}}}"#.utf8))
        #expect(config == ModelConfig.attnSleepSHHS)
        let again = try JSONDecoder().decode(ModelConfig.self, from: JSONEncoder().encode(config))
        #expect(again == config)
    }

    @Test func invalidConfigNamesTheField() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sleepnet-config-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.json")
        try Data(#"{"model": {"heads": 3}}"#.utf8).write(to: bad)
        let heads = expectError(.invalidConfig, file: bad.path, field: "model.heads") { _ = try ExperimentConfig.load(from: bad) }
        #expect(heads?.message == "found 3, expected a divisor of dModel (80)")
        try Data(#"{"training": {"epochs": "many"}}"#.utf8).write(to: bad)
        expectError(.invalidConfig, file: bad.path, field: "training.epochs") { _ = try ExperimentConfig.load(from: bad) }
        try Data(#"{"training": {"epochs": 0}}"#.utf8).write(to: bad)
        let epochs = expectError(.invalidConfig, file: bad.path, field: "training.epochs") { _ = try ExperimentConfig.load(from: bad) }
        #expect(epochs?.description == "\(bad.path): training.epochs: found 0, expected a positive integer")
        let missing = dir.appendingPathComponent("missing.json")
        expectError(.fileNotFound, file: missing.path) { _ = try ExperimentConfig.load(from: missing) }
    }
}
