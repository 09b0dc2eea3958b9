import Testing
import Coordinator
import Recordings
import Evaluation
import Shared

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
        #expect(q.take(for: "x")?.attempt == 4)
    }
}
