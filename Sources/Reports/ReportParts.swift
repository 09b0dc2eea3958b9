import Basics
import Recordings
import Evaluation
/// What data a run used: JSON object `data` of report.json.
public struct DataSummary: Codable, Equatable, Hashable, Sendable {
    /// The data directory as given on the command line.
    public var directory: String
    /// Number of recordings (nights) in the cohort.
    public var recordings: Int
    /// Number of subjects in the cohort.
    public var subjects: Int
    /// Epochs of W, N1, N2, N3, REM in the cohort (index = `Stage.rawValue`);
    /// JSON object keyed by stage name.
    public var epochsPerClass: [Int]

    public init(directory: String, recordings: Int, subjects: Int, epochsPerClass: [Int]) {
        self.directory = directory
        self.recordings = recordings
        self.subjects = subjects
        self.epochsPerClass = epochsPerClass
    }

    /// The summary of a loaded cohort; labels outside 0…4 are not counted.
    public init(directory: String, recordings: [Recording]) {
        var counts = Array(repeating: 0, count: Stage.count)
        for recording in recordings {
            for label in recording.labels where label >= 0 && Int(label) < Stage.count {
                counts[Int(label)] += 1
            }
        }
        self.init(directory: directory, recordings: recordings.count,
                  subjects: Set(recordings.map(\.subject)).count, epochsPerClass: counts)
    }

    enum CodingKeys: String, CodingKey {
        case directory, recordings, subjects, epochsPerClass = "epochs_per_class"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        directory = try container.decode(String.self, forKey: .directory)
        recordings = try container.decode(Int.self, forKey: .recordings)
        subjects = try container.decode(Int.self, forKey: .subjects)
        epochsPerClass = try container.decode(StageKeyed<Int>.self, forKey: .epochsPerClass).values
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(directory, forKey: .directory)
        try container.encode(recordings, forKey: .recordings)
        try container.encode(subjects, forKey: .subjects)
        try container.encode(StageKeyed(epochsPerClass), forKey: .epochsPerClass)
    }
}

/// How a run evaluated: JSON object `protocol` of report.json.
public struct ProtocolSummary: Codable, Equatable, Hashable, Sendable {
    /// Number of folds (k).
    public var folds: Int
    /// How subjects were ordered into folds (`--fold-plan`).
    public var foldPlan: FoldPlanKind
    /// The run seed (`--seed`).
    public var seed: UInt64
    /// How each fold chose its model (`--selection`).
    public var selection: SelectionMode

    public init(folds: Int, foldPlan: FoldPlanKind, seed: UInt64, selection: SelectionMode) {
        self.folds = folds
        self.foldPlan = foldPlan
        self.seed = seed
        self.selection = selection
    }

    enum CodingKeys: String, CodingKey {
        case folds, foldPlan = "fold_plan", seed, selection
    }
}

/// How one fold's training went, as the coordinator saw it; all optional, since a
/// report rebuilt from predictions alone, or of a fold still running, lacks them.
public struct FoldRun: Codable, Equatable, Hashable, Sendable {
    /// Training epoch (1-based) whose model predicted the test fold.
    public var chosenEpoch: Int?
    /// Training epochs run, over all attempts (batches trained / batches per epoch):
    /// above the config's epochs when lost attempts' work was redone.
    public var epochsTrained: Double?
    /// Attempts the fold took (1 when no worker was lost).
    public var attempts: Int?
    /// Wall-clock seconds the fold took on its worker.
    public var wallSeconds: Double?
    /// Id of the worker that ran the fold.
    public var worker: String?

    public init(chosenEpoch: Int? = nil, epochsTrained: Double? = nil, attempts: Int? = nil, wallSeconds: Double? = nil,
                worker: String? = nil) {
        self.chosenEpoch = chosenEpoch
        self.epochsTrained = epochsTrained
        self.attempts = attempts
        self.wallSeconds = wallSeconds
        self.worker = worker
    }

    enum CodingKeys: String, CodingKey {
        case chosenEpoch = "chosen_epoch", epochsTrained = "epochs_trained", attempts, wallSeconds = "wall_seconds", worker
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        chosenEpoch = try container.decode(Int?.self, forKey: .chosenEpoch)
        epochsTrained = try container.decode(Double?.self, forKey: .epochsTrained)
        // Absent in reports written before preemption-safe folds.
        attempts = try container.decodeIfPresent(Int.self, forKey: .attempts)
        wallSeconds = try container.decode(Double?.self, forKey: .wallSeconds)
        worker = try container.decode(String?.self, forKey: .worker)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        // Explicit nulls: every key is always present.
        try container.encode(chosenEpoch, forKey: .chosenEpoch)
        try container.encode(epochsTrained, forKey: .epochsTrained)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(wallSeconds, forKey: .wallSeconds)
        try container.encode(worker, forKey: .worker)
    }
}

extension FoldRun {
    /// Epochs for a table: "8", or "8.25" when attempts ended mid-epoch.
    static func epochs(_ e: Double) -> String {
        e == e.rounded() ? String(Int(e)) : String(format: "%.2f", e)
    }
}

/// One fold of a report: its subjects, its metrics and how its training went.
/// In JSON the fields of `fold` (keys `fold`, `train`, `validation`, `test`), of
/// `run` and the key `metrics` sit side by side in one object.
public struct FoldReport: Codable, Equatable, Hashable, Sendable {
    /// The fold's subjects, as planned.
    public var fold: Fold
    /// Scores of the fold's test predictions.
    public var metrics: Metrics
    /// Chosen epoch, epochs trained, wall seconds, worker.
    public var run: FoldRun

    public init(fold: Fold, metrics: Metrics, run: FoldRun) {
        self.fold = fold
        self.metrics = metrics
        self.run = run
    }

    enum CodingKeys: String, CodingKey { case metrics }

    public init(from decoder: any Decoder) throws {
        fold = try Fold(from: decoder)
        run = try FoldRun(from: decoder)
        metrics = try decoder.container(keyedBy: CodingKeys.self).decode(Metrics.self, forKey: .metrics)
    }

    public func encode(to encoder: any Encoder) throws {
        try fold.encode(to: encoder)
        try run.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(metrics, forKey: .metrics)
    }
}
