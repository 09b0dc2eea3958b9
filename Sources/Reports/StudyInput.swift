import Basics
import Evaluation

/// What a study report is made from: the arms (models) of a study, each run with
/// the same seeds on the same fold plan, with the predictions of each run for
/// each model-selection rule it was evaluated with. The `Studies` module collects
/// it from the study's run directories; `StudyReport(_:)` checks and scores it.
public struct StudyInput: Sendable {
    /// How the model that predicts a fold's test subjects was chosen.
    public enum Selection: String, CaseIterable, Sendable {
        /// Best validation macro-F1 on held-out training subjects: the honest number.
        case validation
        /// The model after the last training epoch.
        case last
        /// The same training as `validation`, the epoch picked by its score on the
        /// test fold itself (leaks test data).
        case testOracle = "test-oracle"
        /// The paper's protocol: `run --selection test-oracle`, trained on all
        /// training subjects (no validation hold-out), picked on the test fold.
        case paper
    }

    /// One seed's run of an arm.
    public struct Run: Sendable {
        public var seed: UInt64
        /// Relative to the study directory, e.g. "ex1/seed-0".
        public var directory: String
        /// E.g. "ex1/seed-0-paper", when the paper protocol was run.
        public var paperDirectory: String?
        /// Test predictions per selection; a missing key = not available.
        public var predictions: [Selection: [Prediction]]
        /// Sum of the run's fold training times.
        public var wallSeconds: Double?
        /// This seed's fold plan when it differs from the study's `foldPlan` (a
        /// seeded order shuffles subjects per seed); its test folds hold for every
        /// selection of the seed (the paper protocol only drops the validation subjects).
        public var foldPlan: FoldPlan?

        public init(seed: UInt64, directory: String, paperDirectory: String? = nil,
                    predictions: [Selection: [Prediction]], wallSeconds: Double? = nil, foldPlan: FoldPlan? = nil) {
            self.seed = seed
            self.directory = directory
            self.paperDirectory = paperDirectory
            self.predictions = predictions
            self.wallSeconds = wallSeconds
            self.foldPlan = foldPlan
        }
    }

    /// One model configuration of the study, run with every seed.
    public struct Arm: Sendable {
        public var name: String
        /// The experiment config as given.
        public var config: JSONValue
        /// E.g. "attnsleep", "conformer", "msmp".
        public var model: String
        public var batchSize: Int
        public var parameters: Int
        /// Training FLOPs per sample (forward + backward), from the model core.
        public var flopsPerSample: Double
        public var runs: [Run]

        public init(name: String, config: JSONValue, model: String, batchSize: Int, parameters: Int,
                    flopsPerSample: Double, runs: [Run]) {
            self.name = name
            self.config = config
            self.model = model
            self.batchSize = batchSize
            self.parameters = parameters
            self.flopsPerSample = flopsPerSample
            self.runs = runs
        }
    }

    public var name: String
    /// An arm name.
    public var baseline: String
    /// The fold plan of runs without one of their own (its fold and subject counts hold for all).
    public var foldPlan: FoldPlan
    public var recordingSubjects: [String: String]
    public var arms: [Arm]
    public var workers: Int
    /// First task sent → last result journaled.
    public var makespanSeconds: Double?
    /// max(longest task, total task time / workers).
    public var lptLowerBoundSeconds: Double?
    public var sleepfoldVersion: String

    public init(name: String, baseline: String, foldPlan: FoldPlan, recordingSubjects: [String: String], arms: [Arm],
                workers: Int, makespanSeconds: Double? = nil, lptLowerBoundSeconds: Double? = nil,
                sleepfoldVersion: String) {
        self.name = name
        self.baseline = baseline
        self.foldPlan = foldPlan
        self.recordingSubjects = recordingSubjects
        self.arms = arms
        self.workers = workers
        self.makespanSeconds = makespanSeconds
        self.lptLowerBoundSeconds = lptLowerBoundSeconds
        self.sleepfoldVersion = sleepfoldVersion
    }
}
