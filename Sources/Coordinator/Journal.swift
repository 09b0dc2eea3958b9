import Foundation
import SwiftProtobuf
import Basics
import Recordings
import Cohorts
import Evaluation
import Reports
import Shared

extension SleepfoldError.Code {
    /// The run directory's journal holds results of another run (other data, plan, config or seed).
    public static let journalOfAnotherRun = Self("journalOfAnotherRun")
}

/// The run's append-only record of finished folds: `journal.jsonl` in the run
/// directory, one fold result per line (protobuf JSON of `Sleepfold_FoldResult`).
///
/// A result is appended and fsync'ed before the worker is acknowledged, so a
/// coordinator killed at any moment loses nothing it acknowledged; restarted
/// on the same run directory it reads the journal and skips those folds. A
/// torn last line (killed mid-write) is reported and ignored, and that fold
/// runs again, and so is an entry that fails the run plan's checks (say an
/// out-of-range label): bad entries never reach the report.
///
/// An attempt that ended without a result (its worker died, stalled, failed or
/// was preempted) is a line too, `{"attempt_ended": <AttemptRecord>}`, so that a
/// fold's attempts and the batches they trained survive a coordinator restart
/// (report.json's `attempts` and `epochs_trained`).
public final class Journal {
    /// What an attempt line starts with; the rest is the AttemptRecord's JSON and "}".
    static let attemptPrefix = Array(#"{"attempt_ended":"#.utf8)

    public let url: URL
    private let fd: Int32
    /// Lines were written since the last fsync.
    private var unsynced = false

    /// Folds found in the journal, first result of each fold.
    public private(set) var results: [Int: Sleepfold_FoldResult] = [:]
    /// Attempts that ended without a result, per fold, in journal order.
    public private(set) var endedAttempts: [Int: [Sleepfold_AttemptRecord]] = [:]
    /// Problems met while reading (torn or foreign lines), for the log.
    public private(set) var warnings: [String] = []

    /// Opens (creating if needed) the journal and reads what it holds.
    /// - Parameters:
    ///   - runID: results of another run (another plan or seed) are refused.
    ///   - check: each entry's check (the plan's, as for live results); an entry it
    ///     throws for is skipped with a warning naming the line, and its fold runs again.
    /// - Throws: `SleepfoldError`: `.journalOfAnotherRun` naming the line, or `.io`
    ///   (with errno) when the file cannot be opened for appending.
    public init(url: URL, runID: String, check: (Sleepfold_FoldResult) throws -> Void = { _ in }) throws {
        self.url = url
        if let data = FileManager.default.contents(atPath: url.path) {
            let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            for (index, line) in lines.enumerated() where !line.isEmpty {
                if line.starts(with: Self.attemptPrefix) {
                    let body = line.dropFirst(Self.attemptPrefix.count).dropLast()
                    guard line.last == UInt8(ascii: "}"), let record = try? Sleepfold_AttemptRecord(jsonUTF8Bytes: body),
                          record.runID == runID else {
                        warnings.append("\(url.path) line \(index + 1): unreadable attempt entry ignored (torn write?)")
                        continue
                    }
                    endedAttempts[Int(record.fold), default: []].append(record)
                    continue
                }
                guard let result = try? Sleepfold_FoldResult(jsonUTF8Bytes: line) else {
                    warnings.append("\(url.path) line \(index + 1): unreadable entry ignored (torn write?); that fold runs again")
                    continue
                }
                guard result.runID == runID else {
                    throw SleepfoldError(.journalOfAnotherRun, file: url.path, field: "line \(index + 1): runId",
                                         found: "\"\(result.runID)\"",
                                         expected: "this run's \"\(runID)\" (the line is from other data, plan, config or seed); use a new run directory")
                }
                do {
                    try check(result)
                } catch {
                    warnings.append("\(url.path) line \(index + 1): invalid entry for fold \(result.fold) ignored (\(error)); that fold runs again")
                    continue
                }
                if results[Int(result.fold)] == nil { results[Int(result.fold)] = result }
            }
        }
        fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else {
            throw SleepfoldError.system("open for appending", file: url.path, errno: errno)
        }
    }

    deinit { close(fd) }

    /// Appends a result durably (write + fsync). Call before acknowledging it.
    /// With `sync` false the line is written, not synced: call `sync()` before acknowledging
    /// it (the coordinator syncs once for all the results of a turn of its loop).
    public func append(_ result: Sleepfold_FoldResult, sync: Bool = true) throws {
        try writeLine(try result.jsonUTF8Bytes(), sync: sync)
        if results[Int(result.fold)] == nil { results[Int(result.fold)] = result }
    }

    /// Appends an attempt that ended without a result (write + fsync).
    public func append(_ attempt: Sleepfold_AttemptRecord) throws {
        try writeLine(Self.attemptPrefix + (try attempt.jsonUTF8Bytes()) + [UInt8(ascii: "}")])
        endedAttempts[Int(attempt.fold), default: []].append(attempt)
    }

    /// Makes every line written so far durable (fsync); nothing to do when they are.
    public func sync() throws {
        guard unsynced else { return }
        guard fsync(fd) == 0 else {
            throw SleepfoldError.system("fsync", file: url.path, errno: errno)
        }
        unsynced = false
    }

    /// Writes one line, durably unless `sync` is false.
    private func writeLine(_ bytes: [UInt8], sync: Bool = true) throws {
        var line = bytes
        // A torn previous line must not swallow this one: start on a fresh line.
        line.insert(UInt8(ascii: "\n"), at: 0)
        line.append(UInt8(ascii: "\n"))
        var offset = 0
        while offset < line.count {
            let n = line[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SleepfoldError.system("write", file: url.path, errno: errno)
            }
            offset += n
        }
        unsynced = true
        if sync { try self.sync() }
    }

    /// Records a finished fold: writes its checkpoint (if it carries one) to
    /// `checkpointURL(fold:in:)`, then appends the result without the checkpoint
    /// bytes. Checkpoint first, so every fold the journal lists has its
    /// checkpoint on disk. Returns the checkpoint file, or nil when there was none.
    /// `sync` as for `append`.
    /// - Throws: `SleepfoldError` (`.io`) naming the checkpoint or the journal.
    @discardableResult
    public func record(_ result: Sleepfold_FoldResult, checkpointDirectory: URL, sync: Bool = true) throws -> URL? {
        var entry = result
        var written: URL?
        if !result.checkpoint.isEmpty {
            let url = Self.checkpointURL(fold: Int(result.fold), in: checkpointDirectory)
            do {
                try FileManager.default.createDirectory(at: checkpointDirectory, withIntermediateDirectories: true)
                try result.checkpoint.write(to: url, options: .atomic)
            } catch {
                throw SleepfoldError(.io, file: url.path, "cannot write fold \(result.fold)'s checkpoint: \(error.localizedDescription)")
            }
            entry.checkpoint = Data()
            written = url
        }
        try append(entry, sync: sync)
        return written
    }

    /// Where fold `fold`'s checkpoint lives: `fold-KK.safetensors` in `directory`.
    public static func checkpointURL(fold: Int, in directory: URL) -> URL {
        directory.appendingPathComponent(String(format: "fold-%02d.safetensors", fold))
    }
}
