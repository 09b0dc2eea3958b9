import Foundation
import Basics

/// Optimiser and schedule of a training run (AttnSleep's by default): Adam with
/// AMSGrad and L2 weight decay, lr 1e-3 dropping to 1e-4 after epoch 10.
public struct TrainingConfig: Codable, Sendable, Equatable {
    public var batchSize = 128
    public var epochs = 100
    public var learningRate: Float = 1e-3
    /// Last epoch (1-based) trained at `learningRate`; later ones use `decayedLearningRate`.
    public var learningRateDecayEpoch = 10
    public var decayedLearningRate: Float = 1e-4
    public var weightDecay: Float = 1e-3
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var amsgrad = true

    public init() {}

    /// Learning rate of epoch `epoch` (1-based).
    public func learningRate(epoch: Int) -> Float {
        epoch <= learningRateDecayEpoch ? learningRate : decayedLearningRate
    }

    private enum CodingKeys: String, CodingKey {
        case batchSize, epochs, learningRate, learningRateDecayEpoch, decayedLearningRate, weightDecay
        case beta1, beta2, epsilon, amsgrad
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingConfig()
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? d.epochs
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
        learningRateDecayEpoch = try c.decodeIfPresent(Int.self, forKey: .learningRateDecayEpoch) ?? d.learningRateDecayEpoch
        decayedLearningRate = try c.decodeIfPresent(Float.self, forKey: .decayedLearningRate) ?? d.decayedLearningRate
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? d.weightDecay
        beta1 = try c.decodeIfPresent(Float.self, forKey: .beta1) ?? d.beta1
        beta2 = try c.decodeIfPresent(Float.self, forKey: .beta2) ?? d.beta2
        epsilon = try c.decodeIfPresent(Float.self, forKey: .epsilon) ?? d.epsilon
        amsgrad = try c.decodeIfPresent(Bool.self, forKey: .amsgrad) ?? d.amsgrad
    }

    /// Checks the values; the error (`.invalidConfig`) names `source` as its file and the field.
    public func validate(source: String = "training config") throws {
        try validate(source: source, fieldPrefix: "")
    }

    /// `validate`, with the fields named `fieldPrefix + name` (where the config sits in its file).
    func validate(source: String, fieldPrefix: String) throws {
        func fail(_ field: String, _ found: Any, _ expected: String) -> SleepfoldError {
            SleepfoldError(.invalidConfig, file: source, field: fieldPrefix + field, found: "\(found)", expected: expected)
        }
        if batchSize <= 0 { throw fail("batchSize", batchSize, "a positive integer") }
        if batchSize > ModelLimits.maxBatchSize {
            throw fail("batchSize", batchSize, "at most \(ModelLimits.maxBatchSize) (the batch limit)")
        }
        if epochs <= 0 { throw fail("epochs", epochs, "a positive integer") }
        // One history row per epoch: a million is years of training.
        if epochs > 1_000_000 { throw fail("epochs", epochs, "at most 1000000") }
        if !(learningRate > 0) { throw fail("learningRate", learningRate, "a positive number") }
        if !(decayedLearningRate > 0) { throw fail("decayedLearningRate", decayedLearningRate, "a positive number") }
        if !(weightDecay >= 0) { throw fail("weightDecay", weightDecay, "≥ 0") }
        if !(beta1 >= 0 && beta1 < 1) { throw fail("beta1", beta1, "in [0, 1)") }
        if !(beta2 >= 0 && beta2 < 1) { throw fail("beta2", beta2, "in [0, 1)") }
        if !(epsilon > 0) { throw fail("epsilon", epsilon, "a positive number") }
    }
}

/// A model and its training schedule, as stored in configs/*.json.
public struct ExperimentConfig: Codable, Sendable, Equatable {
    public var name: String
    public var model: ModelConfig
    public var training: TrainingConfig

    public init(name: String, model: ModelConfig = ModelConfig(), training: TrainingConfig = TrainingConfig()) {
        self.name = name
        self.model = model
        self.training = training
    }

    private enum CodingKeys: String, CodingKey { case name, model, training }

    /// The JSON a run plan carries and its run id hashes: keys sorted, so the same
    /// config gives the same bytes whichever command (`run`, `coordinator`, `study`) made it.
    public func canonicalJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? "unnamed"
        model = try c.decodeIfPresent(ModelConfig.self, forKey: .model) ?? ModelConfig()
        training = try c.decodeIfPresent(TrainingConfig.self, forKey: .training) ?? TrainingConfig()
    }

    /// Reads and validates a JSON experiment config. Errors name the file and the
    /// field ("model.dModel"): `.fileNotFound`, `.io`, `.invalidConfig`.
    public static func load(from url: URL) throws -> ExperimentConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw SleepfoldError.fileAccess(error, file: url.path, cannot: "read the config")
        }
        let config: ExperimentConfig
        do { config = try JSONDecoder().decode(ExperimentConfig.self, from: data) } catch let e as DecodingError {
            throw SleepfoldError(.invalidConfig, decoding: e, file: url.path)
        }
        try config.model.validate(source: url.path, fieldPrefix: "model.")
        try config.training.validate(source: url.path, fieldPrefix: "training.")
        try config.model.validateMemory(batchSize: config.training.batchSize, source: url.path, field: "training.batchSize")
        return config
    }
}

extension SleepfoldError {
    /// A JSON decoding error of `file` as `code`: `field` the path of the field at
    /// fault (after `fieldPrefix`), the message what was wrong and what was expected.
    init(_ code: Code, decoding error: DecodingError, file: String, fieldPrefix: String = "") {
        func path(_ p: [CodingKey]) -> String? {
            let joined = p.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return fieldPrefix.isEmpty && joined.isEmpty ? nil : fieldPrefix + joined
        }
        switch error {
        case .typeMismatch(let t, let ctx):
            self.init(code, file: file, field: path(ctx.codingPath), "wrong type, expected \(t)")
        case .valueNotFound(let t, let ctx):
            self.init(code, file: file, field: path(ctx.codingPath), found: "null", expected: "\(t)")
        case .keyNotFound(let k, let ctx):
            self.init(code, file: file, field: path(ctx.codingPath + [k]), "missing, expected a value")
        case .dataCorrupted(let ctx):
            self.init(code, file: file, field: path(ctx.codingPath), "invalid JSON: \(ctx.debugDescription)")
        @unknown default:
            self.init(code, file: file, field: path([]), "\(error)")
        }
    }
}
