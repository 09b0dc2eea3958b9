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

    public init(task: Sleepfold_FoldTask, files: [String: URL], threads: Int, workerID: String, epochDirectory: URL? = nil) {
        self.task = task
        self.files = files
        self.threads = threads
        self.workerID = workerID
        self.epochDirectory = epochDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("sleepfold-epochs")
    }
}

/// Trains and evaluates one fold: calls `progress` after each epoch, stops
/// early when `isCancelled` turns true, returns the test predictions.
public typealias FoldTrainer = @Sendable (
    _ job: FoldJob,
    _ progress: @escaping @Sendable (Sleepfold_Progress) -> Void,
    _ isCancelled: @escaping @Sendable () -> Bool
) throws -> Sleepfold_FoldResult
