import Foundation
import Basics
import Recordings
import EDF
import Evaluation
import SleepNet

/// A staged night: the ensemble's probabilities, the stages they give, the sleep
/// statistics, and the agreement with an expert when one scored the night.
public struct StagedNight: Sendable {
    public var night: Night
    /// Names of the checkpoints whose probabilities were averaged.
    public var models: [String]
    /// Mean class probabilities, (epochs, 5) row-major in `Stage` order.
    public var probabilities: [Float]
    /// The most probable stage of each epoch (the first on ties).
    public var stages: [Stage]
    /// Statistics of `stages` (YASA's `sleep_statistics`, 30-s epochs from the first sample).
    public var statistics: SleepStatistics
    /// The expert's stage of each epoch (nil where unscored), when given.
    public var expert: [Stage?]?
    /// Over the epochs the expert scored; nil without an expert.
    public var agreement: Metrics?
    /// The expert's statistics when the expert scored every epoch.
    public var expertStatistics: SleepStatistics?
    /// The number format the models ran in (`EvaluationPrecision.effective`).
    public var precision: EvaluationPrecision

    public init(night: Night, models: [String], probabilities: [Float], expert: [Stage?]?,
                precision: EvaluationPrecision = .float32) throws {
        let K = Stage.count, n = night.epochCount
        guard probabilities.count == n * K else {
            throw SleepfoldError(.shapeMismatch, field: "probabilities", found: "\(probabilities.count) values",
                                 expected: "\(n) epochs × \(K) classes")
        }
        if let expert, expert.count != n {
            throw SleepfoldError(.shapeMismatch, field: "expert hypnogram", found: "\(expert.count) epochs",
                                 expected: "\(n), the night's")
        }
        self.night = night
        self.models = models
        self.precision = precision
        self.probabilities = probabilities
        stages = (0..<n).map { e in
            var best = 0
            for k in 1..<K where probabilities[e * K + k] > probabilities[e * K + best] { best = k }
            return Stage(rawValue: Int32(best))!
        }
        statistics = try SleepStatistics(hypnogram: stages)
        self.expert = expert
        if let expert {
            agreement = Metrics(pairs: zip(expert, stages).compactMap { truth, predicted in
                truth.map { (truth: $0, predicted: predicted) }
            })
            let complete = expert.compactMap { $0 }
            expertStatistics = complete.count == n ? try SleepStatistics(hypnogram: complete) : nil
        }
    }
}
