import Foundation
import Basics

/// How a fold plan orders the subjects before cutting them into folds (`--fold-plan`).
public enum FoldPlanKind: String, Codable, Sendable, CaseIterable {
    /// The AttnSleep paper's order; only for 20 or 78 subjects (Sleep-EDF) or the
    /// paper's 329 SHHS1 recordings (see `AttnSleepFoldOrder`).
    case attnsleep
    /// Sorted subjects shuffled by a seeded Fisher–Yates shuffle.
    case seeded
}

/// How each fold picks the model that predicts its test subjects (`--selection`, SPEC §3).
public enum SelectionMode: String, Codable, Sendable, CaseIterable {
    /// Best validation macro-F1 on held-out training subjects (the default).
    case validation
    /// The model after the last training epoch.
    case last
    /// The epoch that scores best on the test fold itself: the paper's protocol,
    /// which leaks test data; only for comparison with published numbers.
    case testOracle = "test-oracle"

    /// Whether this mode holds out validation subjects in each training fold.
    public var needsValidationSubjects: Bool { self == .validation }

    /// Whether the chosen model has seen the test fold's labels (reports must say so).
    public var leaksTestData: Bool { self == .testOracle }
}

/// One fold of a plan: its test subjects and the subjects that train and validate
/// the model that predicts them. Each list is sorted.
public struct Fold: Codable, Equatable, Hashable, Sendable {
    /// Fold number, 0-based; JSON key `fold`.
    public var index: Int
    /// Subjects whose recordings train the model.
    public var train: [String]
    /// Training-fold subjects held out to choose the checkpoint (empty unless
    /// the selection mode is `validation`).
    public var validation: [String]
    /// Subjects this fold's model predicts.
    public var test: [String]

    public init(index: Int, train: [String], validation: [String], test: [String]) {
        self.index = index
        self.train = train
        self.validation = validation
        self.test = test
    }

    enum CodingKeys: String, CodingKey {
        case index = "fold", train, validation, test
    }
}

/// A subject-wise k-fold plan (SPEC §3): every subject is tested in exactly one
/// fold, and a subject's nights are never split between folds.
///
/// Built from subject ids by `init(subjects:folds:kind:seed:selection:)`:
/// 1. order the subjects: sort them (by string), then either apply the AttnSleep
///    paper's order (`attnsleep`: 20 or 78 subjects, or the paper's 329 SHHS1
///    recordings; `AttnSleepFoldOrder.order(sortedSubjects:)`) or shuffle them with
///    `seededShuffle` and `SeededGenerator(seed: seed)` (`seeded`);
/// 2. cut that order into `k` contiguous slices as `numpy.array_split` does:
///    the first `n % k` folds get `n / k + 1` subjects, the others `n / k`;
/// 3. in each fold, the non-test subjects are the training pool. With selection
///    `validation`, `validationCount(trainingPool:)` of them (10 %, at least one)
///    are validation subjects: the sorted pool is shuffled with
///    `SeededGenerator(seed: seed, stream: validationStream + fold)` and the first
///    ones taken. Modes `last` and `test-oracle` have no validation subjects.
///
/// Encodes to the JSON of `sleepfold plan --json`:
/// `{"folds": [{"fold": 0, "train": [...], "validation": [...], "test": [...]}, ...]}`.
/// Decoding checks the same invariants as `validate()`.
public struct FoldPlan: Codable, Equatable, Sendable {
    /// The folds, `folds[i].index == i`.
    public var folds: [Fold]

    /// Stream offset of the validation-subject generators, so that they never
    /// coincide with streams other parts derive from the run seed and the fold
    /// index alone (e.g. a fold's training seed).
    public static let validationStream: UInt64 = 0x5641_4C00_0000_0000  // "VAL"

    /// A plan from explicit folds (e.g. read back from a file); see `validate()`.
    public init(folds: [Fold]) throws(SleepfoldError) {
        self.folds = folds
        try validate()
    }

    /// Plans `folds` subject-wise folds over `subjects` (see the type's documentation).
    ///
    /// - Throws: `SleepfoldError` when `folds < 2` or `folds > subjects.count`, a subject
    ///   id is empty or repeated, `kind` is `attnsleep` and the paper has no order for
    ///   these subjects (`AttnSleepFoldOrder.order(sortedSubjects:)`), or `selection`
    ///   needs validation subjects and some fold has fewer than two training subjects
    ///   to split.
    public init(subjects: [String], folds k: Int, kind: FoldPlanKind, seed: UInt64,
                selection: SelectionMode) throws(SleepfoldError) {
        if k < 2 {
            throw SleepfoldError(.foldCount, field: "--folds", found: "\(k)", expected: "at least 2")
        }
        if let empty = subjects.firstIndex(of: "") {
            throw SleepfoldError(.emptySubject, field: "subject #\(empty)", found: "an empty id", expected: "a non-empty subject id")
        }
        var seen = Set<String>()
        for subject in subjects where !seen.insert(subject).inserted {
            throw SleepfoldError(.duplicateSubject, field: "subject \"\(subject)\"", found: "the subject listed twice",
                                 expected: "each subject once")
        }
        if k > subjects.count {
            throw SleepfoldError(.foldCount, field: "--folds", found: "\(k) folds for \(subjects.count) subjects",
                                 expected: "at most one fold per subject")
        }

        let sorted = subjects.sorted()
        let ordered: [String]
        switch kind {
        case .attnsleep:
            let order = try AttnSleepFoldOrder.order(sortedSubjects: sorted)
            ordered = order.map { sorted[$0] }
        case .seeded:
            var shuffled = sorted
            var rng = SeededGenerator(seed: seed)
            seededShuffle(&shuffled, using: &rng)
            ordered = shuffled
        }

        var result: [Fold] = []
        var start = 0
        for index in 0..<k {
            let size = ordered.count / k + (index < ordered.count % k ? 1 : 0)
            let test = Array(ordered[start..<(start + size)])
            start += size
            let testSet = Set(test)
            var pool = sorted.filter { !testSet.contains($0) }
            var validation: [String] = []
            if selection.needsValidationSubjects {
                if pool.count < 2 {
                    throw SleepfoldError(.tooFewForValidation, field: "fold \(index)",
                                         "found \(pool.count) training subject(s), expected at least 2 to hold out validation "
                                         + "subjects; use more subjects, fewer folds or --selection last")
                }
                var rng = SeededGenerator(seed: seed, stream: Self.validationStream &+ UInt64(index))
                seededShuffle(&pool, using: &rng)
                validation = pool.prefix(Self.validationCount(trainingPool: pool.count)).sorted()
                pool = Array(pool.dropFirst(validation.count)).sorted()
            }
            result.append(Fold(index: index, train: pool, validation: validation, test: test.sorted()))
        }
        self.folds = result
    }

    /// Number of validation subjects taken from a training pool of `n` subjects:
    /// 10 % rounded half to even (Python's `round`, as TinySleepNet does), at least 1.
    public static func validationCount(trainingPool n: Int) -> Int {
        let quotient = n / 10, remainder = n % 10
        let rounded = remainder > 5 || (remainder == 5 && quotient % 2 == 1) ? quotient + 1 : quotient
        return max(1, rounded)
    }

    /// All subjects of the plan, sorted.
    public var subjects: [String] {
        folds.flatMap(\.test).sorted()
    }

    /// The fold that tests `subject`, or nil if the plan does not know it.
    public func fold(testing subject: String) -> Int? {
        folds.first { $0.test.contains(subject) }?.index
    }

    /// Checks the invariants of a plan: at least 2 folds numbered 0, 1, … in order,
    /// every subject tested in exactly one fold, and in each fold the train,
    /// validation and test lists disjoint, without repeats, and together the
    /// whole cohort.
    public func validate() throws(SleepfoldError) {
        if folds.count < 2 {
            throw SleepfoldError(.invalidPlan, field: "folds", found: "\(folds.count) fold(s)", expected: "at least 2")
        }
        var tested = Set<String>()
        for (position, fold) in folds.enumerated() {
            if fold.index != position {
                throw SleepfoldError(.invalidPlan, field: "folds[\(position)].fold", found: "\(fold.index)", expected: "\(position)")
            }
            if fold.test.isEmpty {
                throw SleepfoldError(.invalidPlan, field: "folds[\(position)].test", found: "no test subjects", expected: "at least one")
            }
            for subject in fold.test where !tested.insert(subject).inserted {
                throw SleepfoldError(.invalidPlan, field: "folds[\(position)].test",
                                     found: "subject \"\(subject)\" tested a second time", expected: "each subject tested once")
            }
        }
        for fold in folds {
            let all = fold.train + fold.validation + fold.test
            if Set(all).count != all.count {
                throw SleepfoldError(.invalidPlan, field: "folds[\(fold.index)]",
                                     found: "a subject listed twice in train/validation/test", expected: "disjoint lists")
            }
            if Set(all) != tested {
                throw SleepfoldError(.invalidPlan, field: "folds[\(fold.index)]", found: "\(all.count) subjects",
                                     expected: "all \(tested.count) subjects of the plan in train, validation or test")
            }
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.folds = try container.decode([Fold].self, forKey: .folds)
        do {
            try validate()
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: [CodingKeys.folds], debugDescription: error.description))
        }
    }

    enum CodingKeys: String, CodingKey { case folds }

    /// The plan as the pretty-printed JSON of `sleepfold plan --json` (keys sorted,
    /// ends with a newline).
    public func jsonData() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding strings and integers cannot fail.
        let data = (try? encoder.encode(self)) ?? Data()
        return data + Data("\n".utf8)
    }
}

// Why a fold plan cannot be made or read.
extension SleepfoldError.Code {
    /// Fewer than 2 folds, or more folds than subjects.
    public static let foldCount = Self("foldCount")
    /// A subject id is the empty string.
    public static let emptySubject = Self("emptySubject")
    /// A subject id appears twice.
    public static let duplicateSubject = Self("duplicateSubject")
    /// `attnsleep` order asked for a cohort that is neither 20 nor 78 nor 329 subjects.
    public static let attnsleepSubjectCount = Self("attnsleepSubjectCount")
    /// `attnsleep` order asked for 329 subjects that are not the paper's SHHS1 recordings.
    public static let attnsleepSHHSSubjects = Self("attnsleepSHHSSubjects")
    /// A fold's training pool is too small to hold out validation subjects.
    public static let tooFewForValidation = Self("tooFewForValidation")
    /// Explicit folds break an invariant of `FoldPlan.validate()`.
    public static let invalidPlan = Self("invalidPlan")
}
