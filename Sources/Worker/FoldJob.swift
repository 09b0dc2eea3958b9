import Foundation
import Evaluation
import SleepNet
import Shared

/// A fold ready to train: the task and the local files of its recordings.
public struct FoldJob: Sendable {
    public let task: Sleepfold_FoldTask
    /// Recording id → local file (shared directory or the worker's cache).
    public let files: [String: URL]
    /// BLAS / compute threads to use.
    public let threads: Int
    public let workerID: String
    /// Where the training nights' epoch files (`EpochFile`) are kept, by content hash,
    /// for this and later folds (default: a sleepfold-epochs folder in the temporary directory).
    public let epochDirectory: URL
    /// The fold state to continue from (`task.resume_state`, fetched), or nil: from epoch 1.
    public let resumeState: URL?

    public init(task: Sleepfold_FoldTask, files: [String: URL], threads: Int, workerID: String, epochDirectory: URL? = nil,
                resumeState: URL? = nil) {
        self.task = task
        self.resumeState = resumeState
        self.files = files
        self.threads = threads
        self.workerID = workerID
        self.epochDirectory = epochDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("sleepfold-epochs")
    }
}

/// Trains and evaluates one fold, talking to the worker's network loop through
/// `hooks`; returns the test predictions. Throws `FoldStopped` when
/// `hooks.stopRequested` ended it early with a state to resume from.
public typealias FoldTrainer = @Sendable (_ job: FoldJob, _ hooks: FoldHooks) throws -> Sleepfold_FoldResult

/// What a fold's training thread tells the worker's network loop, and asks it.
public struct FoldHooks: Sendable {
    /// After each epoch.
    public var progress: @Sendable (Sleepfold_Progress) -> Void
    /// True: give up at once (the worker is leaving without saving anything).
    public var isCancelled: @Sendable () -> Bool
    /// Polled before every batch; true: stop there and leave a mid-epoch state (SIGTERM).
    public var stopRequested: @Sendable () -> Bool
    /// A state to continue from, after each epoch.
    public var stateSaved: @Sendable (SavedFoldState) -> Void
    /// A batch is about to be trained (of `batchesPerEpoch` per epoch): the attempt's work.
    public var batchStarted: @Sendable (_ batchesPerEpoch: Int) -> Void
    /// A line for the worker's log.
    public var log: @Sendable (String) -> Void

    public init(progress: @escaping @Sendable (Sleepfold_Progress) -> Void = { _ in },
                isCancelled: @escaping @Sendable () -> Bool = { false },
                stopRequested: @escaping @Sendable () -> Bool = { false },
                stateSaved: @escaping @Sendable (SavedFoldState) -> Void = { _ in },
                batchStarted: @escaping @Sendable (Int) -> Void = { _ in },
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.progress = progress
        self.isCancelled = isCancelled
        self.stopRequested = stopRequested
        self.stateSaved = stateSaved
        self.batchStarted = batchStarted
        self.log = log
    }
}

/// A fold state's bytes (docs/fold-state.md) and where it stands.
public struct SavedFoldState: Sendable {
    public let data: Data
    public let epochsCompleted: Int
    /// 0 at an epoch's end, else the batch of epoch `epochsCompleted + 1` to train next.
    public let nextBatch: Int
    /// Batches this attempt had trained when the state was taken.
    public let batchesTrained: Int
    public let batchesPerEpoch: Int
    /// Seconds the training thread spent encoding it.
    public let encodeSeconds: Double
}

/// Thrown by a `FoldTrainer` that stopped because `stopRequested` said so.
public struct FoldStopped: Error, CustomStringConvertible {
    public let state: SavedFoldState
    public var description: String {
        "stopped after \(state.epochsCompleted) epochs and \(state.nextBatch) batches of the next"
    }
}
