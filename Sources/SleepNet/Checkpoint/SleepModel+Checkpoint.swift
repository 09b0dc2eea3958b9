import Foundation
import Basics

/// Checkpoint format written in every sleepfold checkpoint's `__metadata__`.
public enum CheckpointFormat {
    /// Value of `__metadata__.format`.
    public static let magic = "sleepfold-checkpoint"
    /// Value of `__metadata__.format_version`; bumped when the layout changes.
    public static let version = "1"
}

extension SleepModel {
    /// Parameters and buffers under PyTorch's state_dict names (F32; counters
    /// I64), optionally prefixed, e.g. "param." as in the parity fixtures.
    public func stateDict(parameterPrefix: String = "", bufferPrefix: String = "") -> SafeTensorsFile {
        var file = SafeTensorsFile()
        for p in store.parameters {
            let values = Array(UnsafeBufferPointer(start: store.values + p.view.offset, count: p.view.count))
            file.tensors[parameterPrefix + p.name] = SafeTensor(floats: values, shape: p.shape)
        }
        for b in store.buffers {
            let values = Array(UnsafeBufferPointer(start: store.bufferValues + b.view.offset, count: b.view.count))
            file.tensors[bufferPrefix + b.name] = SafeTensor(floats: values, shape: b.shape)
        }
        for (i, name) in store.counterNames.enumerated() {
            file.tensors[bufferPrefix + name] = SafeTensor(int64s: [store.counters[i]], shape: [])
        }
        return file
    }

    /// Copies every parameter `prefix + name` from `file` (all must be present with the right shape).
    public func loadParameters(from file: SafeTensorsFile, prefix: String = "", source: String = "state dict") throws {
        for p in store.parameters {
            let t = try file.tensor(prefix + p.name, source: source)
            try checkShape(t, p.shape, prefix + p.name, source)
            let values = t.floats
            (store.values + p.view.offset).update(from: values, count: p.view.count)
        }
    }

    /// Copies every buffer (running_mean, running_var, num_batches_tracked) `prefix + name` from `file`.
    public func loadBuffers(from file: SafeTensorsFile, prefix: String = "", source: String = "state dict") throws {
        for b in store.buffers {
            let t = try file.tensor(prefix + b.name, source: source)
            try checkShape(t, b.shape, prefix + b.name, source)
            (store.bufferValues + b.view.offset).update(from: t.floats, count: b.view.count)
        }
        for (i, name) in store.counterNames.enumerated() {
            let t = try file.tensor(prefix + name, source: source)
            guard t.count == 1 else {
                throw SleepfoldError(.shapeMismatch, file: source, field: "tensor '\(prefix + name)'",
                                     found: "shape \(t.shape)", expected: "[] (a counter)")
            }
            store.counters[i] = t.int64s[0]
        }
    }

    private func checkShape(_ t: SafeTensor, _ shape: [Int], _ name: String, _ source: String) throws {
        guard t.shape == shape else {
            throw SleepfoldError(.shapeMismatch, file: source, field: "tensor '\(name)'",
                                 found: "shape \(t.shape)", expected: "\(shape)")
        }
    }

    /// Writes a checkpoint: the state dict under PyTorch's names plus metadata
    /// (format magic and version, the model config as JSON, any `extraMetadata`).
    public func saveCheckpoint(to url: URL, extraMetadata: [String: String] = [:]) throws {
        var file = stateDict()
        file.metadata = extraMetadata
        file.metadata["format"] = CheckpointFormat.magic
        file.metadata["format_version"] = CheckpointFormat.version
        file.metadata["sleepfold_version"] = sleepfoldVersion
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        file.metadata["model_config"] = String(decoding: try encoder.encode(config), as: UTF8.self)
        try file.write(to: url)
    }

    /// Builds the model a checkpoint describes and loads its weights and buffers.
    public static func loadCheckpoint(from url: URL) throws -> SleepModel {
        let file = try SafeTensorsFile(contentsOf: url)
        let source = url.path
        guard file.metadata["format"] == CheckpointFormat.magic else {
            throw SleepfoldError(.invalidFile, file: source, field: "__metadata__.format",
                                 found: file.metadata["format"] ?? "nothing", expected: CheckpointFormat.magic)
        }
        guard file.metadata["format_version"] == CheckpointFormat.version else {
            throw SleepfoldError(.invalidFile, file: source, field: "__metadata__.format_version",
                                 found: file.metadata["format_version"] ?? "nothing", expected: CheckpointFormat.version)
        }
        guard let json = file.metadata["model_config"] else {
            throw SleepfoldError(.invalidFile, file: source, field: "__metadata__.model_config",
                                 found: "nothing", expected: "the model config (JSON)")
        }
        let config: ModelConfig
        do { config = try JSONDecoder().decode(ModelConfig.self, from: Data(json.utf8)) } catch let e as DecodingError {
            throw SleepfoldError(.invalidFile, decoding: e, file: source, fieldPrefix: "__metadata__.model_config.")
        }
        try config.validate(source: source, fieldPrefix: "__metadata__.model_config.")
        let model = try SleepModel(config: config, seed: 0, initialized: false)
        try model.loadParameters(from: file, source: source)
        try model.loadBuffers(from: file, source: source)
        return model
    }
}
