import Basics
/// Mean and sample standard deviation of a score over folds.
///
/// `sd` is the sample standard deviation (ddof = 1, numpy's `std(ddof=1)`):
/// sqrt(Σ (x − mean)² / (n − 1)). `mean` is nil when `n` is 0, `sd` when `n` < 2.
public struct MeanSD: Codable, Equatable, Hashable, Sendable {
    /// Mean of the values; nil when there are none.
    public let mean: Double?
    /// Sample standard deviation (ddof = 1); nil with fewer than two values.
    public let sd: Double?
    /// Number of values (folds) the statistics are over.
    public let n: Int

    /// The statistics of `values`.
    public init(_ values: [Double]) {
        n = values.count
        guard !values.isEmpty else {
            mean = nil
            sd = nil
            return
        }
        let average = values.reduce(0, +) / Double(values.count)
        mean = average
        if values.count < 2 {
            sd = nil
        } else {
            let squares = values.reduce(0.0) { $0 + ($1 - average) * ($1 - average) }
            sd = (squares / Double(values.count - 1)).squareRoot()
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mean = try container.decode(Double?.self, forKey: .mean)
        sd = try container.decode(Double?.self, forKey: .sd)
        n = try container.decode(Int.self, forKey: .n)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        // Explicit nulls: every key is always present.
        try container.encode(mean, forKey: .mean)
        try container.encode(sd, forKey: .sd)
        try container.encode(n, forKey: .n)
    }

    enum CodingKeys: String, CodingKey { case mean, sd, n }
}

/// Mean ± sd over folds of accuracy, macro-F1, kappa and per-class F1.
///
/// Each statistic is over the folds where the score is defined:
/// - accuracy and macro-F1: folds with at least one prediction;
/// - kappa: folds whose kappa is defined (not nil, see `Metrics`);
/// - F1 of a stage: folds where the stage is true or predicted at least once
///   (elsewhere its F1 is 0 only by the zero_division=0 convention, and would
///   drag the mean down for a reason that has nothing to do with the model).
/// `MeanSD.n` says how many folds each statistic is over.
public struct FoldStatistics: Codable, Equatable, Hashable, Sendable {
    public let accuracy: MeanSD
    public let macroF1: MeanSD
    public let kappa: MeanSD
    /// F1 of W, N1, N2, N3, REM in that order (index = `Stage.rawValue`).
    public let f1PerClass: [MeanSD]

    /// The statistics of the folds' metrics.
    public init(folds: [Metrics]) {
        accuracy = MeanSD(folds.compactMap(\.accuracy))
        macroF1 = MeanSD(folds.compactMap(\.macroF1))
        kappa = MeanSD(folds.compactMap(\.kappa))
        f1PerClass = Stage.allCases.map { stage in
            MeanSD(folds.filter {
                $0.confusion.support(stage) + $0.confusion.predictedCount(stage) > 0
            }.map { $0[stage].f1 })
        }
    }

    enum CodingKeys: String, CodingKey {
        case accuracy, macroF1 = "macro_f1", kappa, f1PerClass = "f1_per_class"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        accuracy = try container.decode(MeanSD.self, forKey: .accuracy)
        macroF1 = try container.decode(MeanSD.self, forKey: .macroF1)
        kappa = try container.decode(MeanSD.self, forKey: .kappa)
        f1PerClass = try container.decode(StageKeyed<MeanSD>.self, forKey: .f1PerClass).values
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(accuracy, forKey: .accuracy)
        try container.encode(macroF1, forKey: .macroF1)
        try container.encode(kappa, forKey: .kappa)
        try container.encode(StageKeyed(f1PerClass), forKey: .f1PerClass)
    }
}
