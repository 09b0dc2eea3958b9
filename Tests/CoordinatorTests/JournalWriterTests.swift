import Foundation
import Testing
import Coordinator
import Basics
import Shared

/// The coordinator's off-loop journal writes: queue order kept on disk and in what comes
/// back, checkpoints before lines, and nothing reported done that is not written (and
/// logged in the run's write-ahead log: WriteAheadLogTests).
@Suite struct JournalWriterTests {
    func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("journal-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func result(fold: UInt32, run: String, checkpoint: Bool = true) -> Sleepfold_FoldResult {
        .with {
            $0.runID = run
            $0.fold = fold
            $0.attempt = 1
            if checkpoint { $0.checkpoint = Data("checkpoint of fold \(fold)".utf8) }
        }
    }

    func token(_ name: String, _ result: Sleepfold_FoldResult?) -> JournalWriter.Token {
        .init(routingID: Array(name.utf8), address: name, result: result)
    }

    /// Results of two journals, attempts and barriers queued from the loop while the writer
    /// works: they come back in queue order, each journal's lines are in that order, every
    /// listed fold has its checkpoint, and a barrier comes back after what was queued before it.
    @Test func whatIsQueuedComesBackAndLandsInQueueOrder() throws {
        let root = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let a = try Journal(url: root.appendingPathComponent("a.jsonl"), runID: "A", holdsResults: false)
        let b = try Journal(url: root.appendingPathComponent("b.jsonl"), runID: "B", holdsResults: false)
        let log = try WriteAheadLog(url: root.appendingPathComponent("study.wal"))
        let writer = JournalWriter(log: log)
        var expected: [String] = [], finished: [JournalWriter.Done] = []
        for fold in 0..<200 {
            let journal = fold % 3 == 0 ? b : a, run = fold % 3 == 0 ? "B" : "A"
            let r = result(fold: UInt32(fold), run: run)
            journal.noteWritten(r)
            writer.write(.result(r, checkpointDirectory: root.appendingPathComponent(run)), to: journal.file,
                         token: token("r\(fold)", r))
            expected.append("r\(fold)")
            if fold % 17 == 0 {
                let record = Sleepfold_AttemptRecord.with { $0.runID = run; $0.fold = UInt32(fold + 1000); $0.attempt = 1 }
                writer.write(.attempt(record), to: journal.file, token: token("a\(fold)", nil))
                expected.append("a\(fold)")
            }
            if fold % 29 == 0 {
                writer.write(.barrier, to: nil, token: token("b\(fold)", r))
                expected.append("b\(fold)")
            }
            finished += writer.finished()   // the loop collects while the writer goes on
        }
        writer.waitUntilIdle()
        finished += writer.finished()
        #expect(finished.map(\.token.address) == expected)
        #expect(finished.allSatisfy { $0.error == nil })
        #expect(!writer.hasFinished)
        // Every checkpoint written, and the log synced once per group (barriers alone write
        // nothing): one fdatasync stands for a group's checkpoints and lines of both runs.
        let stats = writer.stats
        #expect(stats.checkpoints == 200)
        #expect(stats.groups >= 200 / JournalWriter.maxGroup)
        #expect(stats.logSyncs <= stats.groups && stats.logSyncs >= 200 / JournalWriter.maxGroup, "\(stats)")
        // Not yet compacted (30 s): the log holds every record; closed, it is gone.
        #expect(stats.compactions == 0)
        #expect(FileManager.default.fileExists(atPath: log.url.path))
        try log.close()
        #expect(!FileManager.default.fileExists(atPath: log.url.path))

        for (journal, run) in [(a, "A"), (b, "B")] {
            let folds = (0..<200).filter { ($0 % 3 == 0) == (run == "B") }
            let lines = try String(contentsOf: journal.url, encoding: .utf8).split(separator: "\n")
                .filter { !$0.hasPrefix(#"{"attempt_ended""#) }
            let written = try lines.map { Int(try Sleepfold_FoldResult(jsonString: String($0)).fold) }
            #expect(written == folds)
            let read = try Journal.readResults(url: journal.url, runID: run)
            #expect(Set(read.keys) == Set(folds))
            #expect(read.values.allSatisfy { $0.checkpoint.isEmpty })   // the bytes are in the file, not the line
            for fold in folds {
                let checkpoint = Journal.checkpointURL(fold: fold, in: root.appendingPathComponent(run))
                #expect(FileManager.default.contents(atPath: checkpoint.path) == Data("checkpoint of fold \(fold)".utf8))
            }
            let reopened = try Journal(url: journal.url, runID: run)
            #expect(reopened.endedAttempts.count == folds.filter { $0 % 17 == 0 }.count)
            #expect(reopened.doneFolds == Set(folds))
        }
    }

    /// A result whose checkpoint cannot be written comes back with the error and leaves no
    /// line: the coordinator must not acknowledge it. Jobs after it are still written.
    @Test func aResultThatCannotBeWrittenComesBackRefusedWithoutALine() throws {
        let root = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let blocker = root.appendingPathComponent("not-a-directory")
        try Data("x".utf8).write(to: blocker)
        let blocked = try Journal(url: root.appendingPathComponent("a.jsonl"), runID: "A", holdsResults: false)
        let journal = try Journal(url: root.appendingPathComponent("b.jsonl"), runID: "B", holdsResults: false)
        let writer = JournalWriter(log: try WriteAheadLog(url: root.appendingPathComponent("study.wal")))
        let bad = result(fold: 1, run: "A"), good = result(fold: 2, run: "B")
        writer.write(.result(bad, checkpointDirectory: blocker.appendingPathComponent("checkpoints")), to: blocked.file,
                     token: token("bad", bad))
        writer.write(.result(good, checkpointDirectory: root), to: journal.file, token: token("good", good))
        writer.waitUntilIdle()
        let done = writer.finished()
        #expect(done.map(\.token.address) == ["bad", "good"])
        let error = try #require(done[0].error)
        #expect(error.file?.contains("fold-01.safetensors") == true, "\(error)")
        #expect(done[1].error == nil)
        #expect(try Journal.readResults(url: blocked.url, runID: "A").isEmpty)
        #expect(Set(try Journal.readResults(url: journal.url, runID: "B").keys) == [2])
    }

    /// A journal that holds no results still knows its done folds, and reads them back whole.
    @Test func aJournalThatHoldsNoResultsKnowsItsFoldsAndReadsThemBack() throws {
        let root = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let url = root.appendingPathComponent("j.jsonl")
        try Journal(url: url, runID: "A").append(result(fold: 4, run: "A", checkpoint: false))
        let journal = try Journal(url: url, runID: "A", holdsResults: false)
        #expect(journal.doneFolds == [4])
        #expect(journal.results.isEmpty)
        try journal.append(result(fold: 5, run: "A", checkpoint: false))
        #expect(journal.doneFolds == [4, 5])
        #expect(journal.results.isEmpty)
        #expect(try Journal.readResults(url: url, runID: "A") == [4: result(fold: 4, run: "A", checkpoint: false),
                                                                  5: result(fold: 5, run: "A", checkpoint: false)])
    }
}
