import Foundation
import Basics
import Recordings
import Evaluation
import SleepNet
import Shared

/// Messages the training thread hands to the worker's network loop, which is
/// the only thread that touches the socket.
final class WorkerEvents: @unchecked Sendable {
    enum Event {
        case progress(Sleepfold_Progress)
        case finished(Sleepfold_FoldResult)
        case failed(fold: UInt32, message: String)
    }

    private let lock = NSLock()
    private var events: [Event] = []
    private var cancelled = false

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
}
