import Testing
import Coordinator

@Suite struct FoldQueueTests {
    @Test func longestFoldsGoFirstAndTiesByIndex() {
        var q = FoldQueue(cost: [10, 30, 20, 30])
        #expect(q.take(for: "a")?.fold == 1)
        #expect(q.take(for: "b")?.fold == 3)
        #expect(q.take(for: "c")?.fold == 2)
        #expect(q.take(for: "d")?.fold == 0)
        #expect(q.take(for: "e") == nil)
        #expect(q.runningCount == 4 && q.queuedCount == 0)
    }

    @Test func deadWorkersFoldIsRequeuedWithANewAttempt() {
        var q = FoldQueue(cost: [5, 1])
        let first = q.take(for: "w1")!
        #expect(first.fold == 0 && first.attempt == 1)
        #expect(q.requeue(worker: "w1") == [0])
        #expect(q.states[0] == .queued)
        let again = q.take(for: "w2")!
        #expect(again.fold == 0 && again.attempt == 2)
        #expect(q.fold(of: "w2") == 0 && q.fold(of: "w1") == nil)
    }

    @Test func duplicateResultsAreNotCountedTwice() {
        var q = FoldQueue(cost: [1, 1])
        _ = q.take(for: "slow")
        q.requeue(worker: "slow")
        _ = q.take(for: "fast")
        #expect(q.complete(fold: 0, attempt: 2) == .accepted)
        #expect(q.complete(fold: 0, attempt: 1) == .duplicate)
        #expect(q.complete(fold: 9, attempt: 1) == .unknownFold)
        #expect(q.doneCount == 1 && !q.isFinished)
    }

    @Test func journaledFoldsStartDone() {
        var q = FoldQueue(cost: [3, 2, 1], done: [0, 2])
        #expect(q.take(for: "w")?.fold == 1)
        #expect(q.take(for: "w") == nil)
        _ = q.complete(fold: 1, attempt: 1)
        #expect(q.isFinished)
    }

    @Test func adoptedFoldIsRunningOnItsWorker() {
        var q = FoldQueue(cost: [1, 2])
        q.adopt(fold: 0, attempt: 3, worker: "w")
        #expect(q.states[0] == .running(worker: "w", attempt: 3))
        #expect(q.take(for: "x")?.fold == 1)
        q.requeue(worker: "w")
        #expect(q.take(for: "y")?.attempt == 4)
    }

    @Test func aFoldIsGivenUpAfterMaxAttemptsFailuresWithTheLastReason() {
        var q = FoldQueue(cost: [1, 1], maxAttempts: 3)
        for attempt in 1...2 {
            #expect(q.take(for: "w")?.fold == 0)
            #expect(q.fail(fold: 0, worker: "w", reason: "out of memory \(attempt)") == .counted)
            #expect(q.states[0] == .queued && q.fold(of: "w") == nil)
        }
        #expect(q.take(for: "w")?.attempt == 3)
        #expect(q.fail(fold: 0, worker: "w", reason: "out of memory 3") == .givenUp)
        #expect(q.states[0] == .givenUp(reason: "out of memory 3"))
        #expect(q.givenUp == [0: "out of memory 3"])
        #expect(q.failures == [3, 0])
        #expect(q.givenUpCount == 1 && q.doneCount == 0 && q.queuedCount == 1 && q.runningCount == 0)
        // A given-up fold is never handed out again; the run finishes without it.
        #expect(q.take(for: "w")?.fold == 1)
        #expect(q.take(for: "x") == nil)
        #expect(!q.isFinished)
        #expect(q.complete(fold: 1, attempt: 1) == .accepted)
        #expect(q.isFinished)
    }

    @Test func onlyTheHolderCanFailAFold() {
        var q = FoldQueue(cost: [1, 1], maxAttempts: 3)
        _ = q.take(for: "a")
        // Issue 18: three error reports for a fold from anyone else (or from "a" about
        // a fold it does not run) are not counted; the fold keeps running on "a".
        for peer in ["b", "c", "b", "a"] {
            let fold = peer == "a" ? 1 : 0
            #expect(q.fail(fold: fold, worker: peer, reason: "forged") == .notHolder)
        }
        #expect(q.states[0] == .running(worker: "a", attempt: 1) && q.failures == [0, 0] && q.givenUp.isEmpty)
        #expect(q.fail(fold: 0, worker: "a", reason: "disk full") == .counted)
        #expect(q.states[0] == .queued && q.failures == [1, 0])
        // Queued, nobody holds it: nobody can fail it.
        #expect(q.fail(fold: 0, worker: "a", reason: "again") == .notHolder)
        #expect(q.fail(fold: 7, worker: "a", reason: "?") == .unknownFold)
    }

    @Test func holdsIsTheWorkerAndTheCurrentAttempt() {
        var q = FoldQueue(cost: [1])
        _ = q.take(for: "a")
        #expect(q.holds(worker: "a", fold: 0, attempt: 1))
        #expect(!q.holds(worker: "b", fold: 0, attempt: 1) && !q.holds(worker: "a", fold: 0, attempt: 2))
        #expect(!q.holds(worker: "a", fold: 5, attempt: 1))
        q.requeue(worker: "a")
        _ = q.take(for: "b")
        #expect(q.holds(worker: "b", fold: 0, attempt: 2) && !q.holds(worker: "a", fold: 0, attempt: 1))
    }

    @Test func aLateResultOfAGivenUpFoldMakesItDone() {
        var q = FoldQueue(cost: [1], maxAttempts: 1)
        _ = q.take(for: "w")
        #expect(q.fail(fold: 0, worker: "w", reason: "timeout") == .givenUp)
        #expect(q.complete(fold: 0, attempt: 1) == .accepted)
        #expect(q.states[0] == .done(attempt: 1) && q.givenUp.isEmpty && q.givenUpCount == 0 && q.doneCount == 1)
    }

    @Test func aWorkerRunsOneFoldAtATime() {
        var q = FoldQueue(cost: [3, 2, 1])
        #expect(q.take(for: "w")?.fold == 0)
        #expect(q.take(for: "w") == nil)
        q.adopt(fold: 1, attempt: 1, worker: "w")
        #expect(q.states[1] == .queued && q.fold(of: "w") == 0)
        // Completing a fold frees the worker that ran it, whoever sent the result.
        #expect(q.complete(fold: 0, attempt: 1) == .accepted)
        #expect(q.fold(of: "w") == nil && q.runningCount == 0)
        #expect(q.take(for: "w")?.fold == 1)
    }

    @Test(arguments: [0, 1, 4, 9])
    func countsFollowEveryChange(seed: Int) {
        // A scripted mix of takes, requeues, failures and completions; the kept
        // counts must always equal the counts of the states.
        var q = FoldQueue(cost: [5, 4, 3, 2, 1], done: [Set([0]), [], [1, 3], [4]][seed % 4], maxAttempts: 2)
        let workers = ["a", "b", "c"]
        for step in 0..<60 {
            let w = workers[(step * 7 + seed) % 3], fold = (step * 3 + seed) % 5
            switch (step + seed) % 4 {
            case 0: _ = q.take(for: w)
            case 1: q.requeue(worker: w)
            case 2: _ = q.fail(fold: fold, worker: w, reason: "r\(step)")
            default: _ = q.complete(fold: fold, attempt: step)
            }
            #expect(q.queuedCount == q.states.filter { $0 == .queued }.count)
            #expect(q.runningCount == q.states.filter { if case .running = $0 { true } else { false } }.count)
            #expect(q.doneCount == q.states.filter { if case .done = $0 { true } else { false } }.count)
            #expect(q.givenUpCount == q.givenUp.count)
            for x in workers {
                let running = q.states.indices.filter { if case .running(x, _) = q.states[$0] { true } else { false } }
                #expect(running.count <= 1 && q.fold(of: x) == running.first)
            }
        }
    }

    /// The queue keeps its queued folds in a heap; whatever happened before, `take`
    /// gives what a scan of every state would: the longest queued fold, ties to the lower index.
    @Test(arguments: [1, 2, 3, 5, 8])
    func takeIsTheLongestQueuedFoldAfterAnyHistory(seed: UInt64) {
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {   // splitmix64: the same script for the same seed
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }
        let cost = (0..<40).map { _ in next(6) }
        var q = FoldQueue(cost: cost, done: Set((0..<40).filter { _ in next(5) == 0 }), maxAttempts: 3)
        let workers = (0..<8).map { "w\($0)" }
        for _ in 0..<400 {
            let w = workers[next(workers.count)], fold = next(cost.count)
            switch next(5) {
            case 0:
                let expected = q.fold(of: w) == nil
                    ? q.states.indices.filter { q.states[$0] == .queued }.min { (cost[$0], -$0) > (cost[$1], -$1) } : nil
                #expect(q.take(for: w)?.fold == expected)
            case 1: q.requeue(worker: w)
            case 2: _ = q.fail(fold: fold, worker: w, reason: "r")
            case 3: q.adopt(fold: fold, attempt: 1, worker: w)
            default: _ = q.complete(fold: fold, attempt: 1)
            }
        }
    }
}
