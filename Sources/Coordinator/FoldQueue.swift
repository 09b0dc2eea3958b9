/// Which folds are queued, running, done or given up, and who runs what.
///
/// Longest folds go first (by the work they take, e.g. training epochs), so the
/// run's tail is not one long fold started last. A fold whose worker dies goes
/// back to the queue with a new attempt number; a result for a fold that is
/// already done (a slow worker thought dead) is reported as a duplicate. A fold
/// that failed `maxAttempts` times is given up, with the last failure as its reason.
///
/// A worker runs one fold at a time. Counts and the worker → fold map are kept
/// up to date on every change, so the loop's questions cost nothing per turn.
public struct FoldQueue: Sendable {
    public enum State: Equatable, Sendable {
        case queued
        case running(worker: String, attempt: Int)
        case done(attempt: Int)
        /// Failed `maxAttempts` times; `reason` is the last failure's message.
        case givenUp(reason: String)
    }

    /// Work of each fold (any unit; larger runs first).
    public let cost: [Int]
    /// Failures of one fold after which it is given up.
    public let maxAttempts: Int
    public private(set) var states: [State]
    /// Attempts handed out so far, per fold.
    public private(set) var attempts: [Int]
    /// Failures reported so far, per fold.
    public private(set) var failures: [Int]

    public private(set) var queuedCount = 0
    public private(set) var runningCount = 0
    public private(set) var doneCount = 0
    public private(set) var givenUpCount = 0
    /// Worker → the fold it runs.
    private var runningFold: [String: Int] = [:]
    /// The queued folds, longest first (`comesBefore`), as a binary heap: `take` costs
    /// O(log folds), not a scan of all of them. A fold is pushed each time it is queued;
    /// an entry whose fold is no longer queued (taken, adopted, given up) is dropped when
    /// it reaches the top.
    private var heap: [Int] = []

    /// - Parameters:
    ///   - done: folds already done (e.g. found in the journal).
    ///   - maxAttempts: failures of one fold after which it is given up.
    ///   - attemptsSoFar: attempts made before (e.g. journalled by an earlier coordinator):
    ///     a fold's next attempt is numbered after them.
    public init(cost: [Int], done: Set<Int> = [], maxAttempts: Int = 3, attemptsSoFar: [Int: Int] = [:]) {
        self.cost = cost
        self.maxAttempts = maxAttempts
        self.states = Array(repeating: .queued, count: cost.count)
        self.attempts = Array(repeating: 0, count: cost.count)
        self.failures = Array(repeating: 0, count: cost.count)
        queuedCount = cost.count
        for (fold, n) in attemptsSoFar where attempts.indices.contains(fold) { attempts[fold] = n }
        for fold in done where states.indices.contains(fold) { set(fold, .done(attempt: 0)) }
        // A sorted array is a heap.
        heap = states.indices.filter { states[$0] == .queued }.sorted { comesBefore($0, $1) }
    }

    /// Longest first; ties to the lower fold index.
    private func comesBefore(_ a: Int, _ b: Int) -> Bool {
        cost[a] != cost[b] ? cost[a] > cost[b] : a < b
    }

    /// No fold is queued or running: each is done or given up.
    public var isFinished: Bool { queuedCount == 0 && runningCount == 0 }

    /// The given-up folds and why (the last failure's message).
    public var givenUp: [Int: String] {
        var folds: [Int: String] = [:]
        for (fold, state) in states.enumerated() {
            if case .givenUp(let reason) = state { folds[fold] = reason }
        }
        return folds
    }

    /// The fold `worker` is running, if any.
    public func fold(of worker: String) -> Int? { runningFold[worker] }

    /// Whether `worker` holds `fold`'s current attempt: the only peer whose result,
    /// progress or failure report for the fold counts.
    public func holds(worker: String, fold: Int, attempt: Int) -> Bool {
        states.indices.contains(fold) && states[fold] == .running(worker: worker, attempt: attempt)
    }

    /// Takes the longest queued fold for `worker`; nil if none is queued or the
    /// worker already runs one. Ties go to the lower fold index, so the order is deterministic.
    public mutating func take(for worker: String) -> (fold: Int, attempt: Int)? {
        guard queuedCount > 0, runningFold[worker] == nil else { return nil }
        var best: Int?
        while best == nil, let top = popHeap() {
            if states[top] == .queued { best = top }
        }
        guard let fold = best else { return nil }
        attempts[fold] += 1
        set(fold, .running(worker: worker, attempt: attempts[fold]))
        return (fold, attempts[fold])
    }

    /// Puts the fold running on `worker` back in the queue; returns it (empty if none).
    @discardableResult
    public mutating func requeue(worker: String) -> [Int] {
        guard let fold = runningFold[worker] else { return [] }
        set(fold, .queued)
        return [fold]
    }

    /// Records that `worker` is (still) running `fold`, e.g. after a coordinator
    /// restart, when the worker announces the fold it is busy with. Only a queued
    /// fold is adopted, and only by a worker without one; true when it was.
    @discardableResult
    public mutating func adopt(fold: Int, attempt: Int, worker: String) -> Bool {
        guard states.indices.contains(fold), states[fold] == .queued, runningFold[worker] == nil else { return false }
        attempts[fold] = max(attempts[fold], attempt)
        set(fold, .running(worker: worker, attempt: attempt))
        return true
    }

    public enum Completion: Equatable, Sendable {
        case accepted
        case duplicate
        case unknownFold
    }

    /// Marks a fold done. Any attempt's result is valid (folds are deterministic),
    /// but only the first one counts. A given-up fold whose result still arrives
    /// (from a worker that was slow, not broken) is done after all.
    public mutating func complete(fold: Int, attempt: Int) -> Completion {
        guard states.indices.contains(fold) else { return .unknownFold }
        if case .done = states[fold] { return .duplicate }
        set(fold, .done(attempt: attempt))
        return .accepted
    }

    public enum Failure: Equatable, Sendable {
        /// Counted; the fold is queued again.
        case counted
        /// This failure was the fold's `maxAttempts`-th while it was queued: given up.
        case givenUp
        case unknownFold
        /// Not counted: `worker` does not run the fold (a stale or foreign report).
        case notHolder
    }

    /// Records that `fold` failed on `worker` because of `reason`. Only the worker
    /// running the fold can fail it (anyone else's report is `.notHolder`, not
    /// counted); the fold goes back to the queue, and once it has failed
    /// `maxAttempts` times it is given up.
    public mutating func fail(fold: Int, worker: String, reason: String) -> Failure {
        guard states.indices.contains(fold) else { return .unknownFold }
        guard runningFold[worker] == fold else { return .notHolder }
        set(fold, .queued)
        failures[fold] += 1
        guard failures[fold] >= maxAttempts else { return .counted }
        set(fold, .givenUp(reason: reason))
        return .givenUp
    }

    /// The one place a fold changes state: keeps the counts and the worker map in step.
    private mutating func set(_ fold: Int, _ new: State) {
        switch states[fold] {
        case .queued: queuedCount -= 1
        case .running(let worker, _): runningCount -= 1; runningFold[worker] = nil
        case .done: doneCount -= 1
        case .givenUp: givenUpCount -= 1
        }
        let wasQueued = states[fold] == .queued
        states[fold] = new
        switch new {
        case .queued:
            queuedCount += 1
            if !wasQueued { pushHeap(fold) }
        case .running(let worker, _): runningCount += 1; runningFold[worker] = fold
        case .done: doneCount += 1
        case .givenUp: givenUpCount += 1
        }
    }

    // MARK: - The heap of queued folds

    private mutating func pushHeap(_ fold: Int) {
        heap.append(fold)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard comesBefore(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popHeap() -> Int? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let top = heap[0]
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var first = parent
            if left < heap.count && comesBefore(heap[left], heap[first]) { first = left }
            if right < heap.count && comesBefore(heap[right], heap[first]) { first = right }
            guard first != parent else { break }
            heap.swapAt(parent, first)
            parent = first
        }
        return top
    }
}
