import Foundation
import Basics
import SleepNet
import Testing
import TestSupport

/// Absurd sizes (SleepNet is built -Ounchecked, so they would wrap or abort in
/// allocation) are refused by validation, naming the file and the field, whether
/// they come from a config file or from a checkpoint's metadata.
@Suite struct ConfigBoundsTests {
    /// A model change, the field it breaks, and a phrase of the expectation.
    struct Absurd: CustomTestStringConvertible, Sendable {
        let field: String
        let change: @Sendable (inout ModelConfig) -> Void
        var testDescription: String { field }
    }

    static let absurdModels: [Absurd] = [
        Absurd(field: "branch1.padding") { $0.branch1.padding = Int.max },
        Absurd(field: "branch2.padding") { $0.branch2.padding = Int.max / 2 },
        Absurd(field: "branch1.firstPool.padding") { $0.branch1.firstPool.padding = Int.max },
        Absurd(field: "branch1.convPadding") { $0.branch1.convPadding = Int.max },
        Absurd(field: "branch1.kernel") { $0.branch1.kernel = 1 << 40 },
        Absurd(field: "branch1.stride") { $0.branch1.stride = Int.max },
        Absurd(field: "inputSamples") { $0.inputSamples = Int.max },
        Absurd(field: "dFF") { $0.dFF = 1_000_000_000 },
        Absurd(field: "cnnChannels") { $0.cnnChannels = 1 << 40 },
        Absurd(field: "cnnFirstChannels") { $0.cnnFirstChannels = 1_000_000_000 },
        Absurd(field: "afrChannels") { $0.afrChannels = Int.max },
        Absurd(field: "encoderLayers") { $0.encoderLayers = 1_000_000_000 },
        Absurd(field: "conformerExpansion") { $0.conformerExpansion = Int.max },
        Absurd(field: "causalKernel") { $0.causalKernel = Int.max },
        Absurd(field: "classes") { $0.classes = 1_000_000_000 },
    ]

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sleepnet-bounds-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func experimentJSON(model: ModelConfig, training: TrainingConfig = TrainingConfig()) throws -> Data {
        try JSONEncoder().encode(ExperimentConfig(name: "absurd", model: model, training: training))
    }

    @Test(arguments: absurdModels) func anAbsurdModelSizeInAConfigFileIsRefused(_ absurd: Absurd) throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var model = ModelConfig()
        absurd.change(&model)
        let url = dir.appendingPathComponent("absurd.json")
        try Self.experimentJSON(model: model).write(to: url)
        let e = expectError(.invalidConfig, file: url.path, field: "model." + absurd.field) { _ = try ExperimentConfig.load(from: url) }
        #expect(e?.message.hasPrefix("found ") == true && e?.message.contains("expected") == true, "\(String(describing: e))")
    }

    @Test(arguments: absurdModels) func anAbsurdModelSizeInACheckpointIsRefused(_ absurd: Absurd) throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var model = ModelConfig()
        absurd.change(&model)
        var file = SafeTensorsFile()
        file.metadata = ["format": CheckpointFormat.magic, "format_version": CheckpointFormat.version,
                         "model_config": String(decoding: try JSONEncoder().encode(model), as: UTF8.self)]
        let url = dir.appendingPathComponent("absurd.safetensors")
        try file.write(to: url)
        expectError(.invalidConfig, file: url.path, field: "__metadata__.model_config." + absurd.field) {
            _ = try SleepModel.loadCheckpoint(from: url)
        }
        // The same check guards building a model directly.
        expectError(.invalidConfig, field: absurd.field) { _ = try SleepModel(config: model) }
    }

    @Test func anAbsurdBatchIsRefused() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("batch.json")
        for (batch, phrase) in [(1_000_000_000, "at most 4096"), (Int.max, "at most 4096"), (0, "a positive integer")] {
            var training = TrainingConfig()
            training.batchSize = batch
            try Self.experimentJSON(model: ModelConfig(), training: training).write(to: url)
            let e = expectError(.invalidConfig, file: url.path, field: "training.batchSize") { _ = try ExperimentConfig.load(from: url) }
            #expect(e?.message == "found \(batch), expected \(phrase)" + (batch > 0 ? " (the batch limit)" : ""))
        }
    }

    /// Each size within its bound, but together more memory than the limit: refused
    /// with the estimate, against the batch size.
    @Test func aModelAndBatchBeyondTheMemoryLimitAreRefused() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var model = ModelConfig()
        model.cnnFirstChannels = 4096
        model.cnnChannels = 4096
        var training = TrainingConfig()
        training.batchSize = 4096
        let url = dir.appendingPathComponent("big.json")
        try Self.experimentJSON(model: model, training: training).write(to: url)
        let e = expectError(.invalidConfig, file: url.path, field: "training.batchSize") { _ = try ExperimentConfig.load(from: url) }
        #expect(e?.message.contains("expected at most 16 GiB") == true, "\(String(describing: e))")
        #expect(try #require(model.estimatedTrainingBytes(batch: 4096)) > ModelLimits.maxEstimatedBytes)
    }

    /// Every shipped config passes, with a wide margin under the memory limit.
    @Test func everyShippedConfigIsWellWithinTheBounds() throws {
        let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs")
        let enumerator = try #require(FileManager.default.enumerator(at: configs, includingPropertiesForKeys: nil))
        var count = 0
        for case let url as URL in enumerator where url.pathExtension == "json" {
            let config = try ExperimentConfig.load(from: url)
            let bytes = try #require(config.model.estimatedTrainingBytes(batch: config.training.batchSize))
            #expect(bytes * 8 < ModelLimits.maxEstimatedBytes, "\(url.lastPathComponent): \(bytes) bytes")
            count += 1
        }
        #expect(count >= 5)
    }
}
