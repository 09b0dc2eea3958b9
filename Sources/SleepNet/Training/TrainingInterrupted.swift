import Basics

/// Thrown by `Trainer.run` when `stopRequested` asked it to stop: `state` resumes
/// the fold at the batch it did not train.
public struct TrainingInterrupted: Error, CustomStringConvertible {
    public let state: TrainingState
    public var description: String {
        "training stopped after \(state.epochsCompleted) epochs and \(state.nextBatch) batches of the next"
    }
}
