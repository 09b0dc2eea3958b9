import Foundation
import Basics
import Cohorts
import Evaluation
import Reports
import Shared

/// Everything the coordinator hands out: the folds with their recordings,
/// the config and the seeds. Built by the command line from the cohort and
/// the fold plan; the same data, plan, config and seed give the same `runID`,
/// which is how a restarted coordinator knows its journal belongs to it.
public struct RunPlan: Sendable {
    public struct Fold: Sendable {
        public var train: [Sleepfold_RecordingRef]
        public var validation: [Sleepfold_RecordingRef]
        public var test: [Sleepfold_RecordingRef]
        /// Work estimate used to run the longest folds first (training epochs).
        public var cost: Int

        public init(train: [Sleepfold_RecordingRef], validation: [Sleepfold_RecordingRef],
                    test: [Sleepfold_RecordingRef], cost: Int) {
            self.train = train
            self.validation = validation
            self.test = test
            self.cost = cost
        }
    }

    public var runID: String
    public var folds: [Fold]
    public var configJSON: String
    public var seed: UInt64
    public var selection: String
    public var epochs: Int
    /// Recording id → file the coordinator serves to workers without shared storage.
    public var files: [String: URL]

    public init(runID: String, folds: [Fold], configJSON: String, seed: UInt64,
                selection: String, epochs: Int, files: [String: URL]) {
        self.runID = runID
        self.folds = folds
        self.configJSON = configJSON
        self.seed = seed
        self.selection = selection
        self.epochs = epochs
        self.files = files
    }

    /// Fold k's seed: derived from the run seed and k only, so a fold gives the
    /// same result whichever worker runs it and however often it restarts.
    public func seed(ofFold fold: Int) -> UInt64 {
        var g = SeededGenerator(seed: seed, stream: UInt64(fold))
        return g.next()
    }

    /// The task of fold `fold` (0-based) for its `attempt`-th try (1 for the first).
    public func task(fold: Int, attempt: Int) -> Sleepfold_FoldTask {
        var t = Sleepfold_FoldTask()
        t.runID = runID
        t.fold = UInt32(fold)
        t.foldCount = UInt32(folds.count)
        t.attempt = UInt32(attempt)
        t.train = folds[fold].train
        t.validation = folds[fold].validation
        t.test = folds[fold].test
        t.configJson = configJSON
        t.seed = seed(ofFold: fold)
        t.selection = selection
        t.epochs = UInt32(epochs)
        return t
    }
}
