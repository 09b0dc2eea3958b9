import Foundation
import Basics
import Recordings
import Evaluation
import SleepNet
import Shared

/// What the training thread and the network loop share; the loop is the only
/// thread that touches the socket. The training thread posts events, counts the
/// batches it trains and reads the stop and cancel flags.
final class WorkerEvents: @unchecked Sendable {
    enum Event {
        case progress(Sleepfold_Progress)
        case stateSaved(SavedFoldState)
        case finished(Sleepfold_FoldResult)
        /// Stopped at a stop request, with the state to continue from.
        case stopped(SavedFoldState)
        case failed(fold: UInt32, message: String)
    }

    private let lock = NSLock()
    private var events: [Event] = []
    private var cancelled = false
    private var stop = false
    private var batches = (trained: 0, perEpoch: 0)

    func post(_ event: Event) {
        lock.lock(); events.append(event); lock.unlock()
    }

    func drain() -> [Event] {
        lock.lock(); defer { lock.unlock() }
        let out = events
        events.removeAll()
        return out
    }

    func cancel() { lock.lock(); cancelled = true; lock.unlock() }
    var isCancelled: Bool { lock.lock(); defer { lock.unlock() }; return cancelled }

    /// Asks training to stop before its next batch and leave a state.
    func requestStop() { lock.lock(); stop = true; lock.unlock() }
    var isStopRequested: Bool { lock.lock(); defer { lock.unlock() }; return stop }

    func batchStarted(perEpoch: Int) {
        lock.lock(); batches.trained += 1; batches.perEpoch = perEpoch; lock.unlock()
    }
    /// Batches this attempt has trained so far, and the fold's batches per epoch.
    var work: (trained: Int, perEpoch: Int) { lock.lock(); defer { lock.unlock() }; return batches }
}
