import Shared

/// The results a worker has sent that the coordinator has not yet acknowledged, oldest first
/// (protocol 4): the next fold may come before the previous result's acknowledgement, so a
/// worker can hold several. Each is kept until the coordinator acknowledges it (it is on the
/// coordinator's disk) or rejects it (it never will be), and all are sent again, in this order,
/// after every (re)connect: a coordinator that died before its journal line was synced gets
/// them from the worker instead of running the folds again.
///
/// Bounded: at most `limit` (`Wire.maxUnacknowledgedResults`). The worker refuses a task
/// while it holds that many (`isFull`), so a finished fold always has room.
public struct UnacknowledgedResults: Sendable {
    public let limit: Int
    /// Oldest first: the order they were sent, and are sent again.
    public private(set) var results: [Sleepfold_FoldResult] = []

    public init(limit: Int = Wire.maxUnacknowledgedResults) {
        precondition(limit >= 1, "a worker holds at least the result it just sent")
        self.limit = limit
    }

    public var isEmpty: Bool { results.isEmpty }
    /// No room for another: take no task until one is acknowledged or rejected.
    public var isFull: Bool { results.count >= limit }

    /// Holds a finished fold's result (sent now, and again after each reconnect until
    /// acknowledged). A second result of the same (run, fold) replaces the first in its place.
    /// - Precondition: not `isFull` (the worker took the fold only with room for its result).
    public mutating func add(_ result: Sleepfold_FoldResult) {
        if let i = index(run: result.runID, fold: result.fold) {
            results[i] = result
            return
        }
        precondition(!isFull, "a fold was taken with \(results.count) results unacknowledged, limit \(limit)")
        results.append(result)
    }

    /// The held result of fold `fold` of run `run`, if any.
    public func result(run: String, fold: UInt32) -> Sleepfold_FoldResult? {
        index(run: run, fold: fold).map { results[$0] }
    }

    /// Forgets the result of (run, fold): acknowledged or rejected. True when one was held.
    @discardableResult
    public mutating func remove(run: String, fold: UInt32) -> Bool {
        guard let i = index(run: run, fold: fold) else { return false }
        results.remove(at: i)
        return true
    }

    private func index(run: String, fold: UInt32) -> Int? {
        results.firstIndex { $0.runID == run && $0.fold == fold }
    }
}
