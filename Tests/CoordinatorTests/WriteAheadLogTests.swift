import Foundation
import Testing
import Coordinator
import Basics
import Shared

/// A run's write-ahead log: every acknowledged result survives whatever happens to the
/// journal and the checkpoint files before a compaction syncs them (they are written without
/// fsync), a crash at any byte of an append or at any step of a replay, and a compaction;
/// records from before a compaction are never replayed; a foreign file is refused.
@Suite struct WriteAheadLogTests {
    func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("wal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func result(fold: Int, checkpoint: Bool = true) -> Sleepfold_FoldResult {
        .with {
            $0.runID = "R"
            $0.fold = UInt32(fold)
            $0.attempt = 1
            $0.trainSeconds = Double(fold) + 0.5
            if checkpoint { $0.checkpoint = Data((0..<(100 + 37 * fold)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ fold) }) }
        }
    }

    /// A run directory: `journal.jsonl`, the coordinator's `journal.wal` and `checkpoints/`.
    struct Run {
        let root: URL
        var journal: URL { root.appendingPathComponent("journal.jsonl") }
        var log: URL { root.appendingPathComponent("journal.wal") }
        var checkpoints: URL { root.appendingPathComponent("checkpoints") }
        /// What a coordinator's start does: replay the log, read the journal, start the log over.
        struct Started {
            let journal: Journal
            let recovered: WriteAheadLog.Recovery
            let log: WriteAheadLog
            var doneFolds: Set<Int> { journal.doneFolds }
            var warnings: [String] { journal.warnings }
        }
        func open() throws -> Started {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            let recovered = try WriteAheadLog.recover(url: log)
            let journal = try Journal(url: journal, runID: "R", holdsResults: false)
            return Started(journal: journal, recovered: recovered, log: try WriteAheadLog(url: log))
        }
        func checkpoint(_ fold: Int) -> Data? {
            FileManager.default.contents(atPath: Journal.checkpointURL(fold: fold, in: checkpoints).path)
        }
        /// The run as a crash would leave it, in a copy: the log as synced, the rest as `damage` makes it.
        func copy(to other: URL) throws -> Run {
            try FileManager.default.copyItem(at: root, to: other)
            return Run(root: other)
        }
    }

    /// Writes `folds` through a JournalWriter (results, and an attempt record after every
    /// third) and returns what it acknowledged: everything, synced in the log, not compacted.
    func writeAcknowledged(_ folds: Range<Int>, to run: Run, _ started: Run.Started) throws -> [Int: Sleepfold_FoldResult] {
        let journal = started.journal
        let writer = JournalWriter(log: started.log)
        var sent: [Int: Sleepfold_FoldResult] = [:]
        for fold in folds {
            let r = result(fold: fold, checkpoint: fold % 5 != 4)
            journal.noteWritten(r)
            writer.write(.result(r, checkpointDirectory: run.checkpoints), to: journal.file,
                         token: .init(routingID: [1], address: "w", result: r))
            sent[fold] = r
            if fold % 3 == 0 {
                let record = Sleepfold_AttemptRecord.with { $0.runID = "R"; $0.fold = UInt32(fold + 100); $0.attempt = 1 }
                writer.write(.attempt(record), to: journal.file, token: .init(routingID: [1], address: "w", result: nil))
            }
        }
        writer.waitUntilIdle()
        let done = writer.finished()
        #expect(done.allSatisfy { $0.error == nil })
        #expect(writer.stats.compactions == 0)
        return sent
    }

    /// What a reader finds: each result as written (without its checkpoint bytes), and its checkpoint file.
    func expectHolds(_ run: Run, _ sent: [Int: Sleepfold_FoldResult], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let read = try Journal.readResults(url: run.journal, runID: "R")
        #expect(Set(read.keys) == Set(sent.keys), sourceLocation: sourceLocation)
        for (fold, r) in sent {
            var line = r
            line.checkpoint = Data()
            #expect(read[fold] == line, "fold \(fold)", sourceLocation: sourceLocation)
            #expect(run.checkpoint(fold) == (r.checkpoint.isEmpty ? nil : r.checkpoint), "fold \(fold)'s checkpoint",
                    sourceLocation: sourceLocation)
        }
    }

    /// The journal and the checkpoints are written without fsync: a power loss may leave any
    /// prefix of the journal (a line torn anywhere) and any checkpoint missing, cut or stale.
    /// From the log, the next start puts back every acknowledged result and checkpoint, cuts
    /// what was never acknowledged, and leaves the log empty.
    @Test func everyAcknowledgedResultSurvivesLosingWhatWasNotSynced() throws {
        let root = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let run = Run(root: root.appendingPathComponent("run"))
        let sent = try writeAcknowledged(0..<12, to: run, try run.open())
        let journalSize = try #require(FileManager.default.contents(atPath: run.journal.path)).count
        // Cut points: nothing left, inside the first line, every 97th byte, one byte short.
        for (n, cut) in ([0, 1, 40] + Array(stride(from: 97, to: journalSize, by: 97)) + [journalSize - 1]).enumerated() {
            let copy = try run.copy(to: root.appendingPathComponent("crash-\(n)"))
            let handle = try FileHandle(forWritingTo: copy.journal)
            try handle.truncate(atOffset: UInt64(cut))
            try handle.close()
            // A checkpoint lost, one cut short, one with a stale state's bytes.
            try FileManager.default.removeItem(at: Journal.checkpointURL(fold: 1, in: copy.checkpoints))
            try Data(sent[2]!.checkpoint.prefix(10)).write(to: Journal.checkpointURL(fold: 2, in: copy.checkpoints))
            try Data("stale".utf8).write(to: Journal.checkpointURL(fold: 5, in: copy.checkpoints))
            let reopened = try copy.open()
            #expect(reopened.doneFolds == Set(sent.keys), "journal cut at byte \(cut)")
            #expect(reopened.recovered.checkpointsRestored == 3)
            #expect(reopened.recovered.linesRestored > 0)
            #expect(reopened.warnings.isEmpty, "\(reopened.warnings)")
            #expect(reopened.journal.endedAttempts.count == 4, "journal cut at byte \(cut)")
            try expectHolds(copy, sent)
        }
        // A line written without its record (never acknowledged) is cut with the torn tail.
        let copy = try run.copy(to: root.appendingPathComponent("unacknowledged"))
        let handle = try FileHandle(forWritingTo: copy.journal)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\n{\"runId\":\"R\",\"fold\":99}\n{\"runId\":\"R\",\"fo".utf8))
        try handle.close()
        let reopened = try copy.open()
        #expect(reopened.recovered.journalBytesCut > 0)
        #expect(!reopened.doneFolds.contains(99))
        #expect(reopened.warnings.isEmpty, "\(reopened.warnings)")
        try expectHolds(copy, sent)
    }

    /// Nothing lost (the process killed, the page cache whole): the replay finds every record
    /// in place and writes nothing.
    @Test func aReplayOverIntactFilesChangesNothing() throws {
        let root = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let run = Run(root: root)
        let sent = try writeAcknowledged(0..<7, to: run, try run.open())
        let before = try #require(FileManager.default.contents(atPath: run.journal.path))
        let reopened = try run.open()
        #expect(reopened.recovered.records > 0)
        #expect(reopened.recovered.checkpointsRestored == 0)
        #expect(reopened.recovered.linesRestored == 0)
        #expect(reopened.recovered.journalBytesCut == 0)
        #expect(FileManager.default.contents(atPath: run.journal.path) == before)
        try expectHolds(run, sent)
        // The replayed log starts over: a second start finds nothing to replay.
        #expect(try run.open().recovered.records == 0)
    }

    /// A crash in the middle of an append leaves a torn last record (no acknowledgement was
    /// sent for it): at every byte, the replay takes the whole records before it, and every
    /// result whose line is replayed has its checkpoint (logged before its line).
    @Test func aLogTornAtAnyByteReplaysTheWholeRecordsBeforeIt() throws {
        let root = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let run = Run(root: root.appendingPathComponent("run"))
        let sent = try writeAcknowledged(0..<3, to: run, try run.open())
        let log = try #require(FileManager.default.contents(atPath: run.log.path))
        var replayedFolds: [Set<Int>] = []
        for cut in 16...log.count {
            let copy = try run.copy(to: root.appendingPathComponent("cut-\(cut)"))
            try log.prefix(cut).write(to: copy.log)
            try FileManager.default.removeItem(at: copy.journal)
            try FileManager.default.removeItem(at: copy.checkpoints)
            let reopened = try copy.open()
            #expect(reopened.warnings.isEmpty, "log cut at byte \(cut): \(reopened.warnings)")
            for fold in reopened.doneFolds {
                #expect(copy.checkpoint(fold) == (sent[fold]!.checkpoint.isEmpty ? nil : sent[fold]!.checkpoint))
            }
            replayedFolds.append(reopened.doneFolds)
            try FileManager.default.removeItem(at: copy.root)
        }
        // More of the log never replays fewer results; the whole log replays them all.
        #expect(zip(replayedFolds, replayedFolds.dropFirst()).allSatisfy { $0.isSubset(of: $1) })
        #expect(replayedFolds.first == [])
        #expect(replayedFolds.last == Set(sent.keys))
    }

    /// A crash during the replay itself (after any number of lines written again): the log is
    /// still there, and the next start replays it whole.
    @Test func aReplayCutShortByACrashIsDoneAgainByTheNextStart() throws {
        let root = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let run = Run(root: root.appendingPathComponent("run"))
        let sent = try writeAcknowledged(0..<6, to: run, try run.open())
        for crash in 0..<8 {
            let copy = try run.copy(to: root.appendingPathComponent("crash-\(crash)"))
            try Data().write(to: copy.journal)
            #expect(throws: WriteAheadLog.Crashed.self) {
                try WriteAheadLog.recover(url: copy.log, crashAfterLines: crash)
            }
            let reopened = try copy.open()
            #expect(reopened.recovered.linesRestored == 8 - crash)   // those the first replay wrote are in place
            #expect(reopened.warnings.isEmpty, "\(reopened.warnings)")
            try expectHolds(copy, sent)
        }
    }

    /// After a compaction the log is rewritten from its start: the records left beyond the
    /// new ones are of the old generation and never replayed (their files were synced).
    @Test func recordsFromBeforeACompactionAreNeverReplayed() throws {
        let root = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let run = Run(root: root)
        let started = try run.open()
        let first = try writeAcknowledged(0..<10, to: run, started)
        let firstLines = try #require(FileManager.default.contents(atPath: run.journal.path))
        try started.log.compact()
        let sizeAfterFirst = try #require(FileManager.default.contents(atPath: run.log.path)).count
        let second = try writeAcknowledged(10..<12, to: run, started)
        #expect(try #require(FileManager.default.contents(atPath: run.log.path)).count == sizeAfterFirst)  // rewritten in place
        // A crash before the compaction's sync would have been covered by the first records;
        // after it, only the new ones are replayed: lose the journal and the new checkpoints.
        let copy = try run.copy(to: root.appendingPathComponent("crash"))
        try firstLines.write(to: copy.journal)
        for fold in 10..<12 { try? FileManager.default.removeItem(at: Journal.checkpointURL(fold: fold, in: copy.checkpoints)) }
        let reopened = try copy.open()
        #expect(reopened.recovered.records == 4 + 0)   // two checkpoints, two lines: none of the first ten
        try expectHolds(copy, first.merging(second) { a, _ in a })
    }

    /// Something else where the log belongs is refused, naming the file, before anything is touched.
    @Test func aForeignFileWhereTheLogBelongsIsRefusedNamingIt() throws {
        let root = try directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let run = Run(root: root)
        try Data("not a write-ahead log at all".utf8).write(to: run.log)
        do {
            _ = try run.open()
            Issue.record("a foreign file was taken for a write-ahead log")
        } catch let error as SleepfoldError {
            #expect(error.code == .invalidWriteAheadLog, "\(error)")
            #expect(error.file == run.log.path, "\(error)")
        }
        #expect(FileManager.default.contents(atPath: run.log.path) == Data("not a write-ahead log at all".utf8))
    }
}
