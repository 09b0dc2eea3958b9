import Basics

/// A percentile bootstrap over subjects of the difference arm − baseline in a
/// pooled score (accuracy, macro-F1, kappa), for a study where both arms ran the
/// same seeds on the same fold plan.
///
/// Subjects, not epochs or folds, are the unit that is resampled: epochs of one
/// night are strongly dependent, and the question a study asks is how the arms
/// differ on new subjects. One replicate:
/// 1. draw `subjects.count` subjects with replacement (uniformly, from
///    `SeededGenerator(seed: seed, stream: SubjectBootstrap.stream)`);
/// 2. for each seed, pool the drawn subjects' test epochs of the arm and of the
///    baseline (a subject drawn twice counts twice) and score both pools with
///    `Metrics`; the seed's difference is arm − baseline;
/// 3. the replicate's difference is the mean of the seeds' differences.
/// The same draws serve every seed and both arms (paired resampling), so the
/// interval reflects the spread between subjects, not between draws.
///
/// `estimate` is the same difference with every subject taken once: the pooled
/// difference, averaged over seeds. The interval is the (1 − confidence)/2 and
/// (1 + confidence)/2 percentiles of the replicates' differences, interpolated
/// linearly between order statistics (numpy's default `percentile`).
///
/// A difference is undefined when a score is (e.g. kappa of a pool holding a
/// single stage, see `Metrics`), or when any seed's difference is; undefined
/// replicates are left out of the percentiles and `Interval.definedReplicates`
/// counts the rest. With fewer than 2 defined replicates the bounds are nil.
///
/// Each replicate only sums matrices: every (seed, subject) confusion matrix is
/// counted once up front, so the cost is replicates × seeds × subjects × 2 × 25
/// additions, whatever the number of epochs.
public struct SubjectBootstrap: Equatable, Sendable {
    /// A pooled score the bootstrap compares.
    public enum Score: String, CaseIterable, Codable, Sendable {
        case accuracy
        case macroF1 = "macro_f1"
        case kappa
    }

    /// The difference arm − baseline in one score and its bootstrap interval.
    public struct Interval: Equatable, Sendable {
        /// Difference with every subject once, mean over seeds; nil when undefined.
        public var estimate: Double?
        /// Lower percentile of the replicates' differences.
        public var low: Double?
        /// Upper percentile of the replicates' differences.
        public var high: Double?
        /// Replicates whose difference is defined (the percentiles are over them).
        public var definedReplicates: Int
    }

    /// Stream of the resampling generator, apart from the streams other parts
    /// derive from the same seed.
    public static let stream: UInt64 = 0x424F_4F54_0000_0000  // "BOOT"

    /// The resampled subjects, sorted.
    public let subjects: [String]
    /// The seeds whose runs are compared, sorted.
    public let seeds: [UInt64]
    /// Replicates drawn.
    public let replicates: Int
    /// Seed of the resampling.
    public let seed: UInt64
    /// Coverage of the interval, e.g. 0.95.
    public let confidence: Double
    public let accuracy: Interval
    public let macroF1: Interval
    public let kappa: Interval

    /// The interval of one score.
    public subscript(score: Score) -> Interval {
        switch score {
        case .accuracy: accuracy
        case .macroF1: macroF1
        case .kappa: kappa
        }
    }

    /// Resamples `subjects` and computes the three intervals.
    ///
    /// - Parameters:
    ///   - subjects: the subjects to resample (all subjects of the fold plan).
    ///   - arm: per seed, the confusion matrix of each subject's test epochs in the
    ///     arm's run; a subject missing from a seed's map has no predictions there.
    ///   - baseline: the same for the baseline.
    ///   - replicates: B, the number of resamples.
    ///   - seed: seed of the resampling; the same inputs and seed give the same intervals.
    ///   - confidence: coverage of the interval, in (0, 1).
    /// - Throws: `SleepfoldError` `.invalidValue` naming the parameter when
    ///   `subjects` is empty or repeats one, a map names a subject not in it, the
    ///   two sides have different seeds or none, `replicates` < 1, or `confidence`
    ///   is outside (0, 1).
    public init(subjects: [String], arm: [UInt64: [String: ConfusionMatrix]],
                baseline: [UInt64: [String: ConfusionMatrix]], replicates: Int = 2000, seed: UInt64 = 0,
                confidence: Double = 0.95) throws(SleepfoldError) {
        let sortedSubjects = subjects.sorted()
        if sortedSubjects.isEmpty {
            throw SleepfoldError(.invalidValue, field: "subjects", found: "none", expected: "at least one subject to resample")
        }
        if let repeated = zip(sortedSubjects, sortedSubjects.dropFirst()).first(where: { $0.0 == $0.1 }) {
            throw SleepfoldError(.invalidValue, field: "subjects", found: "subject \"\(repeated.0)\" twice", expected: "each subject once")
        }
        if Set(arm.keys) != Set(baseline.keys) {
            throw SleepfoldError(.invalidValue, field: "seeds", found: "arm seeds \(arm.keys.sorted()), baseline seeds \(baseline.keys.sorted())",
                                 expected: "the same seeds on both sides")
        }
        if arm.isEmpty {
            throw SleepfoldError(.invalidValue, field: "seeds", found: "none", expected: "at least one seed")
        }
        if replicates < 1 {
            throw SleepfoldError(.invalidValue, field: "replicates", found: "\(replicates)", expected: "at least 1")
        }
        if !(confidence > 0 && confidence < 1) {
            throw SleepfoldError(.invalidValue, field: "confidence", found: "\(confidence)", expected: "a value in (0, 1)")
        }
        let known = Set(sortedSubjects)
        for (side, maps) in [("arm", arm), ("baseline", baseline)] {
            for (runSeed, map) in maps.sorted(by: { $0.key < $1.key }) {
                if let stranger = map.keys.sorted().first(where: { !known.contains($0) }) {
                    throw SleepfoldError(.invalidValue, field: "\(side) seed \(runSeed)", found: "subject \"\(stranger)\"",
                                         expected: "one of the \(known.count) subjects resampled")
                }
            }
        }

        // Locals, not the properties: the nested functions below run before `self` is whole.
        let sortedSeeds = arm.keys.sorted()
        self.subjects = sortedSubjects
        self.seeds = sortedSeeds
        self.replicates = replicates
        self.seed = seed
        self.confidence = confidence

        // matrices[seed index][subject index], arm and baseline.
        func table(_ maps: [UInt64: [String: ConfusionMatrix]]) -> [[ConfusionMatrix]] {
            sortedSeeds.map { runSeed in sortedSubjects.map { maps[runSeed]?[$0] ?? ConfusionMatrix() } }
        }
        let armMatrices = table(arm), baselineMatrices = table(baseline)

        // The three differences (accuracy, macro-F1, kappa) of one draw of subject indices.
        func differences(_ draw: [Int]) -> [Double?] {
            var sums = [Double](repeating: 0, count: Score.allCases.count)
            var defined = [Bool](repeating: true, count: Score.allCases.count)
            for s in sortedSeeds.indices {
                var armPool = ConfusionMatrix(), baselinePool = ConfusionMatrix()
                for subject in draw {
                    armPool.add(armMatrices[s][subject])
                    baselinePool.add(baselineMatrices[s][subject])
                }
                let a = Metrics(confusion: armPool), b = Metrics(confusion: baselinePool)
                for (i, pair) in [(a.accuracy, b.accuracy), (a.macroF1, b.macroF1), (a.kappa, b.kappa)].enumerated() {
                    if let x = pair.0, let y = pair.1 { sums[i] += x - y } else { defined[i] = false }
                }
            }
            return sums.indices.map { defined[$0] ? sums[$0] / Double(sortedSeeds.count) : nil }
        }

        let estimates = differences(Array(sortedSubjects.indices))
        var samples: [[Double]] = Array(repeating: [], count: Score.allCases.count)
        var rng = SeededGenerator(seed: seed, stream: Self.stream)
        let n = UInt64(sortedSubjects.count)
        var draw = [Int](repeating: 0, count: sortedSubjects.count)
        for _ in 0..<replicates {
            // Modulo bias is below n / 2⁶⁴: nothing a percentile can see.
            for i in draw.indices { draw[i] = Int(rng.next() % n) }
            for (i, value) in differences(draw).enumerated() {
                if let value { samples[i].append(value) }
            }
        }

        let lowQuantile = (1 - confidence) / 2, highQuantile = (1 + confidence) / 2
        let intervals = samples.indices.map { i -> Interval in
            let sorted = samples[i].sorted()
            guard sorted.count >= 2 else {
                return Interval(estimate: estimates[i], low: nil, high: nil, definedReplicates: sorted.count)
            }
            return Interval(estimate: estimates[i], low: Self.percentile(sorted, lowQuantile),
                            high: Self.percentile(sorted, highQuantile), definedReplicates: sorted.count)
        }
        accuracy = intervals[0]
        macroF1 = intervals[1]
        kappa = intervals[2]
    }

    /// The `q` quantile of ascending `sorted` (at least one value), linear between
    /// order statistics: numpy's `percentile(x, 100 q)` with the default method.
    public static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        let h = q * Double(sorted.count - 1)
        let lower = Int(h.rounded(.down)), upper = min(lower + 1, sorted.count - 1)
        return sorted[lower] + (h - Double(lower)) * (sorted[upper] - sorted[lower])
    }
}
