import Foundation
import Basics

/// What one sample costs a model: its matrix work (FLOPs at the GEMM calls,
/// 2·m·n·k each) in a training step and in an evaluation forward, and its
/// parameter count. A study orders its tasks by it (`Studies.TaskCost`) and
/// reports it per arm.
public struct ModelCost: Sendable, Equatable, Codable {
    /// Forward + backward of a training step, per sample.
    public var trainFLOPsPerSample: Double
    /// Evaluation forward, per sample.
    public var inferFLOPsPerSample: Double
    public var parameters: Int

    public init(trainFLOPsPerSample: Double, inferFLOPsPerSample: Double, parameters: Int) {
        self.trainFLOPsPerSample = trainFLOPsPerSample
        self.inferFLOPsPerSample = inferFLOPsPerSample
        self.parameters = parameters
    }

    /// Counts the GEMM work of one training step and one evaluation forward at
    /// batch `batch` (GEMM work grows linearly with the batch, so per sample it does
    /// not depend on it; a small batch measures fast). Uses the process-wide
    /// `GEMMCounter`: nothing else may run model code in this process meanwhile.
    public static func measure(_ config: ModelConfig, batch: Int = 4) throws -> ModelCost {
        try config.validate(source: "model config")
        let model = try SleepModel(config: config, seed: 0)
        let optimizer = Adam(store: model.store)
        let S = config.inputSamples
        var generator = SeededGenerator(seed: 0)
        let x = (0..<(batch * S)).map { _ in Float(generator.nextGaussian()) }
        let labels = (0..<batch).map { Int32($0 % config.classes) }
        let weights = [Float](repeating: 1, count: config.classes)

        GEMMCounter.reset()
        _ = try model.trainStep(x, labels: labels, classWeights: weights, loss: WeightedCrossEntropy(), optimizer: optimizer)
        let train = Double(GEMMCounter.flops) / Double(batch)
        GEMMCounter.reset()
        _ = try x.withUnsafeBufferPointer { try model.forward($0, batch: batch, training: false) }
        let infer = Double(GEMMCounter.flops) / Double(batch)
        return ModelCost(trainFLOPsPerSample: train, inferFLOPsPerSample: infer, parameters: model.parameterCount)
    }
}
