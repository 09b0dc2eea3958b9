import Foundation
import Testing
import Coordinator
import Basics
import Recordings
import Cohorts
import Evaluation
import Shared

@Suite struct JournalTests {
    func tempURL() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString).jsonl")
    }

    func result(fold: UInt32, attempt: UInt32, run: String = "run-1") -> Sleepfold_FoldResult {
        var r = Sleepfold_FoldResult()
        r.runID = run
        r.fold = fold
        r.attempt = attempt
        var p = Sleepfold_RecordingPredictions()
        p.recordingID = "SC40\(fold)1E0"
        p.trueLabels = Data([0, 1, 2])
        p.predictedLabels = Data([0, 2, 2])
        p.probabilities = Data(repeating: 7, count: 60)
        r.predictions = [p]
        return r
    }

    @Test func appendedResultsSurviveReopening() throws {
        let url = tempURL()
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            let j = try Journal(url: url, runID: "run-1")
            try j.append(result(fold: 2, attempt: 1))
            try j.append(result(fold: 0, attempt: 3))
            try j.append(result(fold: 2, attempt: 2))  // duplicate: first one stays
        }
        let j = try Journal(url: url, runID: "run-1")
        #expect(Set(j.results.keys) == [0, 2])
        #expect(j.results[2]?.attempt == 1)
        #expect(j.results[0] == result(fold: 0, attempt: 3))
        #expect(j.warnings.isEmpty)
    }

    @Test func tornLastLineIsIgnoredAndLaterAppendsStillRead() throws {
        let url = tempURL()
        defer { try? FileManager.default.removeItem(at: url) }
        try Journal(url: url, runID: "run-1").append(result(fold: 1, attempt: 1))
        // Simulate a crash in the middle of writing fold 3's line.
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"runId\":\"run-1\",\"fold\":3,\"predi".utf8))
        try handle.close()

        let j = try Journal(url: url, runID: "run-1")
        #expect(Set(j.results.keys) == [1])
        #expect(j.warnings.count == 1)
        try j.append(result(fold: 3, attempt: 2))
        let again = try Journal(url: url, runID: "run-1")
        #expect(Set(again.results.keys) == [1, 3])
    }

    @Test func attemptsThatEndedWithoutAResultAreJournalledBesideTheResults() throws {
        let url = tempURL()
        defer { try? FileManager.default.removeItem(at: url) }
        func ended(_ fold: UInt32, _ attempt: UInt32, _ batches: UInt64, _ why: String) -> Sleepfold_AttemptRecord {
            .with { $0.runID = "run-1"; $0.fold = fold; $0.attempt = attempt; $0.batchesTrained = batches; $0.batchesPerEpoch = 9; $0.ended = why }
        }
        do {
            let j = try Journal(url: url, runID: "run-1")
            try j.append(ended(2, 1, 40, "dead"))
            try j.append(ended(2, 2, 13, "preempted"))
            try j.append(result(fold: 0, attempt: 1))
        }
        // A torn attempt line (killed mid-write) is ignored, and so is the torn tail of the file.
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\n{\"attempt_ended\":{\"runId\":\"run-1\",\"fo".utf8))
        try handle.close()
        let j = try Journal(url: url, runID: "run-1")
        #expect(Set(j.results.keys) == [0])
        #expect(j.endedAttempts[2] == [ended(2, 1, 40, "dead"), ended(2, 2, 13, "preempted")])
        #expect(j.warnings.count == 1 && j.warnings[0].contains("unreadable attempt entry"), "\(j.warnings)")
        // An attempt line is never read as a result (it has no predictions to report).
        #expect(j.results[2] == nil)
    }

    @Test func anotherRunsJournalIsRefused() throws {
        let url = tempURL()
        defer { try? FileManager.default.removeItem(at: url) }
        try Journal(url: url, runID: "run-A").append(result(fold: 0, attempt: 1, run: "run-A"))
        let error = #expect(throws: SleepfoldError.self) { try Journal(url: url, runID: "run-B") }
        #expect(error?.code == .journalOfAnotherRun)
        #expect(error?.file == url.path && error?.field == "line 2: runId")
        #expect(error?.message.contains("\"run-A\"") == true && error?.message.contains("\"run-B\"") == true)
    }

    @Test func aJournalThatCannotBeOpenedIsAnIOErrorWithErrno() throws {
        // A directory where the journal should be: open(2) fails with EISDIR, also for root.
        let url = tempURL()
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: SleepfoldError.self) { try Journal(url: url, runID: "run-1") }
        #expect(error?.code == .io && error?.errno == EISDIR && error?.file == url.path)
    }

    @Test func entriesFailingThePlansChecksAreSkippedNamingTheLineAndTheirFoldsRunAgain() throws {
        let url = tempURL()
        defer { try? FileManager.default.removeItem(at: url) }
        let plan = try PlanParts().plan()
        func entry(_ fold: UInt32) -> Sleepfold_FoldResult {
            var r = RunPlanTests().result(plan, fold: fold)
            r.checkpoint = Data()   // on disk, not in the journal
            return r
        }
        do {
            let j = try Journal(url: url, runID: plan.runID)
            try j.append(entry(0))                                  // line 2
            var badLabel = entry(1)
            badLabel.predictions[0].trueLabels[0] = 9
            try j.append(badLabel)                                  // line 4
            var shortProbabilities = entry(1)
            shortProbabilities.predictions[1].probabilities.removeLast(3)
            try j.append(shortProbabilities)                        // line 6
            var shortLast = entry(1)
            shortLast.lastPredictions[0].predictedLabels.removeLast()
            shortLast.lastPredictions[0].trueLabels.removeLast()
            try j.append(shortLast)                                 // line 8
        }
        let check: (Sleepfold_FoldResult) throws -> Void = { try plan.validate($0, checkpoint: false) }
        let j = try Journal(url: url, runID: plan.runID, check: check)
        #expect(Set(j.results.keys) == [0])
        #expect(j.warnings.count == 3)
        #expect(j.warnings.first?.contains("line 4: invalid entry for fold 1") == true, "\(j.warnings)")
        #expect(j.warnings.dropFirst().first?.contains("line 6: invalid entry for fold 1") == true, "\(j.warnings)")
        #expect(j.warnings.last?.contains("line 8: invalid entry for fold 1") == true, "\(j.warnings)")
        #expect(j.warnings.last?.contains("last_predictions[SC4031E0]") == true, "\(j.warnings)")
        // The fold runs again; its sound result is read after the bad ones.
        try j.append(entry(1))
        let again = try Journal(url: url, runID: plan.runID, check: check)
        #expect(Set(again.results.keys) == [0, 1] && again.results[1] == entry(1))
    }
}
