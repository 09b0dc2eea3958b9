import Basics

/// One fold of one seed's run: the unit a study pairs two arms on (both arms
/// test the same subjects in fold `fold`, trained with seed `seed`).
public struct FoldSeed: Hashable, Comparable, Sendable {
    public var fold: Int
    public var seed: UInt64

    public init(fold: Int, seed: UInt64) {
        self.fold = fold
        self.seed = seed
    }

    /// Seed first, then fold: the order a study's tables list pairs in.
    public static func < (a: FoldSeed, b: FoldSeed) -> Bool {
        (a.seed, a.fold) < (b.seed, b.fold)
    }
}

/// The paired differences arm − baseline of a per-fold score over (fold, seed)
/// pairs, their mean and median, and the Wilcoxon signed-rank test of them.
///
/// Only pairs where both values are given count: a fold without predictions in
/// one of the runs has no score (see `Metrics`) and cannot be paired;
/// `unpaired` says how many keys were left out for that reason.
public struct PairedDifferences: Equatable, Sendable {
    /// One (fold, seed) pair.
    public struct Pair: Codable, Equatable, Sendable {
        public var fold: Int
        public var seed: UInt64
        /// The arm's score.
        public var arm: Double
        /// The baseline's score.
        public var baseline: Double
        /// arm − baseline.
        public var difference: Double

        public init(fold: Int, seed: UInt64, arm: Double, baseline: Double) {
            self.fold = fold
            self.seed = seed
            self.arm = arm
            self.baseline = baseline
            difference = arm - baseline
        }
    }

    /// The pairs, ordered by seed, then fold.
    public var pairs: [Pair]
    /// Keys given for one side only.
    public var unpaired: Int
    /// Mean of the differences; nil without pairs.
    public var mean: Double?
    /// Median of the differences (mean of the middle two for an even count, as
    /// numpy's `median`); nil without pairs.
    public var median: Double?
    /// Wilcoxon signed-rank test of arm against baseline (two-sided, zero
    /// differences dropped; see `WilcoxonResult`).
    public var wilcoxon: WilcoxonResult

    /// The differences of the pairs present on both sides.
    ///
    /// - Parameters:
    ///   - arm: the arm's score per (fold, seed).
    ///   - baseline: the baseline's score per (fold, seed).
    /// - Precondition: every value is finite (scores are fractions).
    public init(arm: [FoldSeed: Double], baseline: [FoldSeed: Double]) {
        precondition(arm.values.allSatisfy(\.isFinite) && baseline.values.allSatisfy(\.isFinite), "finite scores")
        let keys = Set(arm.keys).intersection(baseline.keys).sorted()
        pairs = keys.map { Pair(fold: $0.fold, seed: $0.seed, arm: arm[$0]!, baseline: baseline[$0]!) }
        unpaired = arm.count + baseline.count - 2 * keys.count
        wilcoxon = WilcoxonResult(pairs.map(\.arm), pairs.map(\.baseline))

        let differences = pairs.map(\.difference)
        guard !differences.isEmpty else {
            mean = nil
            median = nil
            return
        }
        mean = differences.reduce(0, +) / Double(differences.count)
        let sorted = differences.sorted()
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
