import Foundation
import Basics
import Evaluation

/// The result of a study — several arms (models) × seeds × the same folds: the
/// model of study.json (documented key by key in docs/study-json.md) and the
/// source of study.md and study.html. Built from a `StudyInput` by
/// `init(_:bootstrapSeed:bootstrapReplicates:)` (StudyReport+Building.swift).
///
/// JSON keys are snake_case, always present (undefined values are `null`), sorted,
/// pretty-printed; scores are fractions, not percent.
public struct StudyReport: Codable, Equatable, Sendable {
    /// Version of the study.json layout this code writes; bumped on any change of
    /// keys or meaning. Reading accepts this version and older ones.
    public static let currentSchemaVersion = 1

    public typealias Selection = StudyInput.Selection
    /// A score compared between arms (`accuracy`, `macro_f1`, `kappa`).
    public typealias Score = SubjectBootstrap.Score

    /// JSON `schema_version`.
    public var schemaVersion: Int
    /// The study's name.
    public var name: String
    /// Version of the sleepfold that wrote the report.
    public var sleepfoldVersion: String
    /// The arm the others are compared with.
    public var baseline: String
    /// Number of folds (k) of the fold plan all runs share.
    public var folds: Int
    /// Number of subjects in the fold plan.
    public var subjects: Int
    /// One entry per arm, in the input's order.
    public var arms: [Arm]
    /// Each non-baseline arm against the baseline, per selection and score.
    public var comparisons: [Comparison]
    /// Per arm, how much selecting on the test fold (and training without a
    /// validation hold-out) inflates the pooled scores.
    public var leakage: [Leakage]
    /// Seconds from the first task sent to the last result journaled; JSON `makespan_s`.
    public var makespanSeconds: Double?
    /// max(longest task, total task time / workers); JSON `lpt_lower_bound_s`.
    public var lptLowerBoundSeconds: Double?
    /// makespan / LPT lower bound (1 = no scheduler could have been faster).
    public var makespanOverLPT: Double?
    /// Workers the study ran on.
    public var workers: Int

    /// The selections a comparison between arms is made on: the honest one, and
    /// the paper's protocol (to compare with published numbers).
    public static let comparedSelections: [Selection] = [.validation, .paper]
    /// The per-fold scores each comparison is made on.
    public static let comparedScores: [Score] = [.macroF1, .accuracy]
    /// The selections whose pooled scores are set against `validation` in `leakage`.
    public static let leakageSelections: [Selection] = [.testOracle, .paper]

    /// One line naming the study, e.g. "sleepfold study cnn-vs-attention: 3 arms × 2 seeds × 20 folds".
    public var title: String {
        let seeds = arms.first?.runs.count ?? 0
        return "sleepfold study \(name): \(arms.count) arm\(arms.count == 1 ? "" : "s") × \(seeds) seed\(seeds == 1 ? "" : "s") × \(folds) folds"
    }

    // MARK: Parts

    /// A score over seeds: each seed's value (its run pooled over its folds), their
    /// mean and sample sd (ddof = 1) over the seeds where it is defined.
    public struct SeedStatistic: Codable, Equatable, Sendable {
        /// Mean over the defined per-seed values; nil when none is.
        public var mean: Double?
        /// Sample sd over the defined per-seed values; nil with fewer than two.
        public var sd: Double?
        /// One value per run of the arm, in `Arm.runs` order; nil where undefined or
        /// not available.
        public var perSeed: [Double?]

        public init(perSeed: [Double?]) {
            let statistic = MeanSD(perSeed.compactMap { $0 })
            mean = statistic.mean
            sd = statistic.sd
            self.perSeed = perSeed
        }

        enum CodingKeys: String, CodingKey { case mean, sd, perSeed = "per_seed" }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            // Explicit nulls: every key is always present.
            try container.encode(mean, forKey: .mean)
            try container.encode(sd, forKey: .sd)
            try container.encode(perSeed, forKey: .perSeed)
        }
    }

    /// Pooled scores of one selection over an arm's seeds.
    public struct PooledScores: Codable, Equatable, Sendable {
        public var accuracy: SeedStatistic
        public var macroF1: SeedStatistic
        public var kappa: SeedStatistic
        /// F1 of W, N1, N2, N3, REM (index = `Stage.rawValue`); JSON object keyed by
        /// stage name. A seed's F1 of a stage neither true nor predicted is nil.
        public var perClassF1: [SeedStatistic]

        public init(accuracy: SeedStatistic, macroF1: SeedStatistic, kappa: SeedStatistic, perClassF1: [SeedStatistic]) {
            self.accuracy = accuracy
            self.macroF1 = macroF1
            self.kappa = kappa
            self.perClassF1 = perClassF1
        }

        enum CodingKeys: String, CodingKey { case accuracy, macroF1 = "macro_f1", kappa, perClassF1 = "per_class_f1" }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            accuracy = try container.decode(SeedStatistic.self, forKey: .accuracy)
            macroF1 = try container.decode(SeedStatistic.self, forKey: .macroF1)
            kappa = try container.decode(SeedStatistic.self, forKey: .kappa)
            perClassF1 = try container.decode(StageKeyed<SeedStatistic>.self, forKey: .perClassF1).values
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(accuracy, forKey: .accuracy)
            try container.encode(macroF1, forKey: .macroF1)
            try container.encode(kappa, forKey: .kappa)
            try container.encode(StageKeyed(perClassF1), forKey: .perClassF1)
        }
    }

    /// An arm's pooled scores per selection; nil for a selection none of its runs has.
    public struct SelectionScores: Codable, Equatable, Sendable {
        public var validation: PooledScores?
        public var last: PooledScores?
        public var testOracle: PooledScores?
        public var paper: PooledScores?

        public init() {}

        public subscript(selection: Selection) -> PooledScores? {
            get {
                switch selection {
                case .validation: validation
                case .last: last
                case .testOracle: testOracle
                case .paper: paper
                }
            }
            set {
                switch selection {
                case .validation: validation = newValue
                case .last: last = newValue
                case .testOracle: testOracle = newValue
                case .paper: paper = newValue
                }
            }
        }

        enum CodingKeys: String, CodingKey { case validation, last, testOracle = "test-oracle", paper }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(validation, forKey: .validation)
            try container.encode(last, forKey: .last)
            try container.encode(testOracle, forKey: .testOracle)
            try container.encode(paper, forKey: .paper)
        }
    }

    /// One seed's run of an arm.
    public struct Run: Codable, Equatable, Sendable {
        public var seed: UInt64
        /// Run directory relative to the study directory; JSON `dir`.
        public var directory: String
        /// The paper-protocol run's directory, if it was run; JSON `paper_dir`.
        public var paperDirectory: String?
        /// Sum of the run's fold training times; JSON `wall_s`.
        public var wallSeconds: Double?
        /// The selections the run has predictions for, in `Selection.allCases` order.
        public var selections: [Selection]

        enum CodingKeys: String, CodingKey {
            case seed, directory = "dir", paperDirectory = "paper_dir", wallSeconds = "wall_s", selections
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(seed, forKey: .seed)
            try container.encode(directory, forKey: .directory)
            try container.encode(paperDirectory, forKey: .paperDirectory)
            try container.encode(wallSeconds, forKey: .wallSeconds)
            try container.encode(selections, forKey: .selections)
        }
    }

    /// One arm: what it is, its runs and its pooled scores.
    public struct Arm: Codable, Equatable, Sendable {
        public var name: String
        /// E.g. "attnsleep", "conformer", "msmp".
        public var model: String
        public var batchSize: Int
        public var parameters: Int
        /// Training FLOPs per sample (forward + backward).
        public var flopsPerSample: Double
        /// The experiment config as given.
        public var config: JSONValue
        /// One run per seed, by ascending seed (the order of every `per_seed` array).
        public var runs: [Run]
        public var pooled: SelectionScores

        enum CodingKeys: String, CodingKey {
            case name, model, batchSize = "batch_size", parameters, flopsPerSample = "flops_per_sample", config, runs, pooled
        }
    }

    /// The Wilcoxon signed-rank test of a comparison's paired differences.
    public struct Wilcoxon: Codable, Equatable, Sendable {
        /// min(W+, W−).
        public var statistic: Double
        /// Two-sided p; nil when every difference is zero.
        public var p: Double?
        /// Non-zero differences the test used.
        public var nonzeroPairs: Int
        /// `exact` or `normal` (see `WilcoxonResult`).
        public var method: String

        public init(_ result: WilcoxonResult) {
            statistic = result.statistic
            p = result.pValue
            nonzeroPairs = result.pairs
            method = result.method.rawValue
        }

        enum CodingKeys: String, CodingKey { case statistic, p, nonzeroPairs = "nonzero_pairs", method }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(statistic, forKey: .statistic)
            try container.encode(p, forKey: .p)
            try container.encode(nonzeroPairs, forKey: .nonzeroPairs)
            try container.encode(method, forKey: .method)
        }
    }

    /// A bootstrap interval over subjects of the pooled difference (see `SubjectBootstrap`).
    public struct Bootstrap: Codable, Equatable, Sendable {
        /// Pooled difference arm − baseline with every subject once, mean over seeds.
        public var estimate: Double?
        /// Lower and upper bounds of the percentile interval.
        public var low: Double?
        public var high: Double?
        /// Coverage, e.g. 0.95.
        public var confidence: Double
        /// Replicates drawn (B).
        public var replicates: Int
        /// Replicates whose difference was defined.
        public var definedReplicates: Int
        /// Seed of the resampling.
        public var seed: UInt64
        /// The seeds whose runs were pooled (those where both arms have the selection).
        public var seeds: [UInt64]

        enum CodingKeys: String, CodingKey {
            case estimate, low, high, confidence, replicates, definedReplicates = "defined_replicates", seed, seeds
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(estimate, forKey: .estimate)
            try container.encode(low, forKey: .low)
            try container.encode(high, forKey: .high)
            try container.encode(confidence, forKey: .confidence)
            try container.encode(replicates, forKey: .replicates)
            try container.encode(definedReplicates, forKey: .definedReplicates)
            try container.encode(seed, forKey: .seed)
            try container.encode(seeds, forKey: .seeds)
        }
    }

    /// One arm against the baseline in one score, on one selection.
    public struct Comparison: Codable, Equatable, Sendable {
        public var arm: String
        public var baseline: String
        public var selection: Selection
        /// The score: `macro_f1` or `accuracy`.
        public var metric: Score
        /// (fold, seed) pairs where both arms have the fold's score.
        public var pairs: Int
        /// Mean and median of the per-fold differences arm − baseline.
        public var meanDifference: Double?
        public var medianDifference: Double?
        /// The pairs, by seed then fold.
        public var differences: [PairedDifferences.Pair]
        public var wilcoxon: Wilcoxon
        /// Wilcoxon p adjusted by Holm across the arms (one family per selection and score).
        public var holmP: Double?
        public var bootstrap: Bootstrap

        enum CodingKeys: String, CodingKey {
            case arm, baseline, selection, metric, pairs, meanDifference = "mean_difference",
                 medianDifference = "median_difference", differences, wilcoxon, holmP = "holm_p", bootstrap
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(arm, forKey: .arm)
            try container.encode(baseline, forKey: .baseline)
            try container.encode(selection, forKey: .selection)
            try container.encode(metric, forKey: .metric)
            try container.encode(pairs, forKey: .pairs)
            try container.encode(meanDifference, forKey: .meanDifference)
            try container.encode(medianDifference, forKey: .medianDifference)
            try container.encode(differences, forKey: .differences)
            try container.encode(wilcoxon, forKey: .wilcoxon)
            try container.encode(holmP, forKey: .holmP)
            try container.encode(bootstrap, forKey: .bootstrap)
        }
    }

    /// The pooled scores of `selection` minus those of `reference` (validation) for
    /// one arm: per seed, then mean ± sd over seeds.
    public struct Leakage: Codable, Equatable, Sendable {
        public var arm: String
        /// `test-oracle` (selection leakage, same model) or `paper` (leakage plus the
        /// held-out subjects' data).
        public var selection: Selection
        /// Always `validation`.
        public var reference: Selection
        public var accuracy: SeedStatistic
        public var macroF1: SeedStatistic
        public var kappa: SeedStatistic

        enum CodingKeys: String, CodingKey { case arm, selection, reference, accuracy, macroF1 = "macro_f1", kappa }
    }

    // MARK: JSON

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", name, sleepfoldVersion = "sleepfold_version", baseline, folds, subjects,
             arms, comparisons, leakage, makespanSeconds = "makespan_s", lptLowerBoundSeconds = "lpt_lower_bound_s",
             makespanOverLPT = "makespan_over_lpt", workers
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schemaVersion, forKey: .schemaVersion)
        try container.encode(name, forKey: .name)
        try container.encode(sleepfoldVersion, forKey: .sleepfoldVersion)
        try container.encode(baseline, forKey: .baseline)
        try container.encode(folds, forKey: .folds)
        try container.encode(subjects, forKey: .subjects)
        try container.encode(arms, forKey: .arms)
        try container.encode(comparisons, forKey: .comparisons)
        try container.encode(leakage, forKey: .leakage)
        try container.encode(makespanSeconds, forKey: .makespanSeconds)
        try container.encode(lptLowerBoundSeconds, forKey: .lptLowerBoundSeconds)
        try container.encode(makespanOverLPT, forKey: .makespanOverLPT)
        try container.encode(workers, forKey: .workers)
    }

    /// How study.json is encoded, read and refused (shared with report.json).
    static let json = VersionedJSON(document: "study.json", docs: "docs/study-json.md",
                                    currentVersion: currentSchemaVersion, badCode: .badStudyReport)

    /// study.json's bytes: pretty-printed, keys sorted, ending with a newline.
    ///
    /// - Throws: `SleepfoldError` (`.invalidValue`) only if a number (in an arm's
    ///   config, say) is not finite.
    public func jsonData() throws(SleepfoldError) -> Data { try Self.json.data(self) }

    /// Writes study.json to `url` atomically (temporary file in the same directory, then rename).
    public func write(to url: URL) throws(SleepfoldError) { try Self.json.write(self, to: url) }

    /// Parses study.json; `file` names it in error messages.
    ///
    /// - Throws: `SleepfoldError` naming `file`: `.badVersion` when `schema_version` is
    ///   newer than `currentSchemaVersion`, `.badStudyReport` (with the key path when
    ///   known) when the JSON is malformed or a key is missing or of the wrong type.
    public static func decode(_ data: Data, file: String = "study.json") throws(SleepfoldError) -> StudyReport {
        try json.decode(StudyReport.self, from: data, file: file)
    }

    /// Reads study.json from `url`.
    public static func read(from url: URL) throws(SleepfoldError) -> StudyReport {
        let data = try fileAccess(url.path, cannot: "read the study report") { try Data(contentsOf: url) }
        return try decode(data, file: url.path)
    }
}

extension StudyInput.Selection: Codable {}

// Why a study cannot be reported, or its study.json read.
extension SleepfoldError.Code {
    /// The study has no arms, or an arm has no runs.
    public static let emptyStudy = Self("emptyStudy")
    /// Two arms have the same name.
    public static let duplicateArm = Self("duplicateArm")
    /// The baseline is not the name of an arm.
    public static let unknownBaseline = Self("unknownBaseline")
    /// An arm has two runs with the same seed.
    public static let duplicateSeed = Self("duplicateSeed")
    /// An arm's runs have other seeds than the baseline's.
    public static let mismatchedSeeds = Self("mismatchedSeeds")
    /// study.json is not JSON, or a key is missing, null or of the wrong type.
    public static let badStudyReport = Self("badStudyReport")
}
