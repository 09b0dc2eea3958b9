import Basics
import Cohorts
import Evaluation
import Reports
import Shared
/// Which folds are queued, running or done, and who runs what.
///
/// Longest folds go first (by the work they take, e.g. training epochs), so the
/// run's tail is not one long fold started last. A fold whose worker dies goes
/// back to the queue with a new attempt number; a result for a fold that is
/// already done (a slow worker thought dead) is reported as a duplicate.
public struct FoldQueue: Sendable {
    public enum State: Equatable, Sendable {
        case queued
        case running(worker: String, attempt: Int)
        case done(attempt: Int)
    }

    /// Work of each fold (any unit; larger runs first).
    public let cost: [Int]
    public private(set) var states: [State]
    /// Attempts handed out so far, per fold.
    public private(set) var attempts: [Int]

    public init(cost: [Int], done: Set<Int> = []) {
        self.cost = cost
        self.states = cost.indices.map { done.contains($0) ? .done(attempt: 0) : .queued }
        self.attempts = Array(repeating: 0, count: cost.count)
    }

    public var queuedCount: Int { states.filter { $0 == .queued }.count }
    public var runningCount: Int { states.filter { if case .running = $0 { true } else { false } }.count }
    public var doneCount: Int { states.filter { if case .done = $0 { true } else { false } }.count }
    public var isFinished: Bool { doneCount == states.count }

    /// Takes the longest queued fold for `worker`; nil if none is queued.
    /// Ties go to the lower fold index, so the order is deterministic.
    public mutating func take(for worker: String) -> (fold: Int, attempt: Int)? {
        var best: Int?
        for (i, state) in states.enumerated() where state == .queued {
            if best == nil || cost[i] > cost[best!] { best = i }
        }
        guard let fold = best else { return nil }
        attempts[fold] += 1
        states[fold] = .running(worker: worker, attempt: attempts[fold])
        return (fold, attempts[fold])
    }

    /// Puts every fold running on `worker` back in the queue; returns them.
    @discardableResult
    public mutating func requeue(worker: String) -> [Int] {
        var folds: [Int] = []
        for (i, state) in states.enumerated() {
            if case .running(let w, _) = state, w == worker {
                states[i] = .queued
                folds.append(i)
            }
        }
        return folds
    }

    /// Records that `worker` is (still) running `fold`, e.g. after a coordinator
    /// restart, when the worker announces the fold it is busy with.
    public mutating func adopt(fold: Int, attempt: Int, worker: String) {
        guard states.indices.contains(fold), states[fold] == .queued else { return }
        attempts[fold] = max(attempts[fold], attempt)
        states[fold] = .running(worker: worker, attempt: attempt)
    }

    public enum Completion: Equatable, Sendable {
        case accepted
        case duplicate
        case unknownFold
    }

    /// Marks a fold done. Any attempt's result is valid (folds are deterministic),
    /// but only the first one counts.
    public mutating func complete(fold: Int, attempt: Int) -> Completion {
        guard states.indices.contains(fold) else { return .unknownFold }
        if case .done = states[fold] { return .duplicate }
        states[fold] = .done(attempt: attempt)
        return .accepted
    }

    /// The fold `worker` is running, if any.
    public func fold(of worker: String) -> Int? {
        states.firstIndex { if case .running(let w, _) = $0 { w == worker } else { false } }
    }
}
