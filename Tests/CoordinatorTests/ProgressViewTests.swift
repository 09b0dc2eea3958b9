import Testing
import Coordinator
import Recordings
import Cohorts
import Evaluation
import Shared

@Suite struct ProgressViewTests {
    @Test func viewShowsFoldCountsEachWorkersFoldEpochLossAndTimeLeft() {
        var p = Sleepfold_Progress()
        p.fold = 3
        p.epoch = 4
        p.epochs = 10
        p.trainLoss = 0.5123
        p.validationMacroF1 = 0.71
        let snapshot = ProgressView.Snapshot(folds: 10, done: 4, failed: 0, running: 2, queued: 4, workers: [
            .init(id: "node1", fold: 3, progress: p),
            .init(id: "node2", fold: 5, progress: nil),
            .init(id: "node3", fold: nil, progress: nil),
        ])
        let lines = ProgressView(interactive: false).render(snapshot, elapsed: 120)
        #expect(lines[0].hasPrefix("folds: 4/10 done, 2 running, 4 queued · elapsed 2:00"))
        // 4 folds in 120 s on 3 workers: 90 s per fold per worker, 6 folds left → 180 s.
        #expect(lines[0].hasSuffix("about 3:00 left"))
        #expect(lines[1].contains("node1") && lines[1].contains("fold 3") && lines[1].contains("epoch 4/10")
                && lines[1].contains("loss 0.5123") && lines[1].contains("val F1 0.710"))
        #expect(lines[2].contains("fold 5  starting"))
        #expect(lines[3].contains("idle"))
    }

    @Test func aFoldSentOutAgainShowsItsAttemptAndWhereItResumed() {
        let snapshot = ProgressView.Snapshot(folds: 4, done: 0, failed: 0, running: 2, queued: 2, workers: [
            .init(id: "node1", fold: 2, progress: nil, attempt: 3, resumedFrom: "after epoch 7 and 12 batches"),
            .init(id: "node2", fold: 1, progress: nil, attempt: 2),
            .init(id: "node3", fold: 0, progress: nil),
        ])
        let lines = ProgressView(interactive: false).render(snapshot, elapsed: 10)
        #expect(lines[1].contains("fold 2 (attempt 3, resumed after epoch 7 and 12 batches)  starting"), "\(lines[1])")
        #expect(lines[2].contains("fold 1 (attempt 2)  starting"), "\(lines[2])")
        #expect(lines[3].contains("fold 0  starting"), "\(lines[3])")
    }
}
