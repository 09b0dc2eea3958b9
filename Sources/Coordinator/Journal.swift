import Foundation
import Synchronization
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
    /// The open file: lines are appended through it, here or by a `JournalWriter` on its own thread.
    public let file: JournalFile
    /// Whether `results` holds the results (false: only `doneFolds`; `readResults` reads them back).
    public let holdsResults: Bool

    /// Folds found in the journal or recorded since: each has a result line.
    public private(set) var doneFolds = Set<Int>()
    /// Folds found in the journal, first result of each fold; empty unless `holdsResults`.
    public private(set) var results: [Int: Sleepfold_FoldResult] = [:]
    /// Attempts that ended without a result, per fold, in journal order.
    public private(set) var endedAttempts: [Int: [Sleepfold_AttemptRecord]] = [:]
    /// Problems met while reading (torn or foreign lines), for the log.
    public private(set) var warnings: [String] = []

    /// Opens (creating if needed) the journal and reads what it holds.
    /// - Parameters:
    ///   - runID: results of another run (another plan or seed) are refused.
    ///   - holdsResults: keep each fold's result in `results`; false keeps only `doneFolds`
    ///     (a coordinator of thousands of folds reads them back at the end, `readResults`,
    ///     rather than holding every result for the whole run).
    ///   - check: each entry's check (the plan's, as for live results); an entry it
    ///     throws for is skipped with a warning naming the line, and its fold runs again.
    /// - Throws: `SleepfoldError`: `.journalOfAnotherRun` naming the line, or `.io`
    ///   (with errno) when the file cannot be opened for appending.
    public init(url: URL, runID: String, holdsResults: Bool = true,
                check: (Sleepfold_FoldResult) throws -> Void = { _ in }) throws {
        self.url = url
        self.holdsResults = holdsResults
        let contents = try Self.read(url: url, runID: runID, check: check)
        for (fold, result) in contents.results {
            doneFolds.insert(fold)
            if holdsResults { results[fold] = result }
        }
        endedAttempts = contents.endedAttempts
        warnings = contents.warnings
        file = try JournalFile(url: url)
    }

    /// The first result of each fold in the journal at `url`, read again (what `results`
    /// holds when `holdsResults`); `runID` and `check` as for `init`.
    public static func readResults(url: URL, runID: String,
                                   check: (Sleepfold_FoldResult) throws -> Void = { _ in }) throws -> [Int: Sleepfold_FoldResult] {
        try read(url: url, runID: runID, check: check).results
    }

    private static func read(url: URL, runID: String, check: (Sleepfold_FoldResult) throws -> Void) throws
        -> (results: [Int: Sleepfold_FoldResult], endedAttempts: [Int: [Sleepfold_AttemptRecord]], warnings: [String]) {
        var results: [Int: Sleepfold_FoldResult] = [:], endedAttempts: [Int: [Sleepfold_AttemptRecord]] = [:]
        var warnings: [String] = []
        guard let data = FileManager.default.contents(atPath: url.path) else { return (results, endedAttempts, warnings) }
        for (index, line) in lines(of: data).enumerated() where !line.isEmpty {
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
        return (results, endedAttempts, warnings)
    }

    /// The lines of `data` (without their newlines, empty ones included), as slices of it.
    /// Found with memchr: `Data.split` took a third of the time a restart spends reading
    /// 10,000 results.
    private static func lines(of data: Data) -> [Data] {
        let ranges = data.withUnsafeBytes { raw -> [Range<Int>] in
            guard let base = raw.baseAddress else { return [] }
            var ranges: [Range<Int>] = [], start = 0
            while start <= raw.count {
                let rest = raw.count - start
                let newline = rest == 0 ? nil : memchr(base + start, Int32(UInt8(ascii: "\n")), rest)
                let end = newline.map { UnsafeRawPointer($0) - base } ?? raw.count
                ranges.append(start..<end)
                start = end + 1
            }
            return ranges
        }
        return ranges.map { data[data.startIndex + $0.lowerBound ..< data.startIndex + $0.upperBound] }
    }

    /// Appends a result durably (write + fsync). Call before acknowledging it.
    /// With `sync` false the line is written, not synced: call `sync()` before acknowledging it.
    public func append(_ result: Sleepfold_FoldResult, sync: Bool = true) throws {
        try file.write(Self.line(result))
        if sync { try file.sync() }
        noteWritten(result)
    }

    /// Appends an attempt that ended without a result (write + fsync).
    public func append(_ attempt: Sleepfold_AttemptRecord) throws {
        try file.write(Self.line(attempt))
        try file.sync()
        noteWritten(attempt)
    }

    /// Counts a result whose line is written by a `JournalWriter` (queued, not yet on disk):
    /// its fold is done from now on, so a second result of it is known for a duplicate.
    public func noteWritten(_ result: Sleepfold_FoldResult) {
        let fold = Int(result.fold)
        if doneFolds.insert(fold).inserted, holdsResults { results[fold] = result }
    }

    /// Counts an attempt record whose line is written by a `JournalWriter`.
    public func noteWritten(_ attempt: Sleepfold_AttemptRecord) {
        endedAttempts[Int(attempt.fold), default: []].append(attempt)
    }

    /// Makes every line written so far durable (fsync); nothing to do when they are.
    public func sync() throws { try file.sync() }

    /// A result's journal line (protobuf JSON).
    static func line(_ result: Sleepfold_FoldResult) throws -> [UInt8] { try result.jsonUTF8Bytes() }

    /// An ended attempt's journal line: `{"attempt_ended": <AttemptRecord>}`.
    static func line(_ attempt: Sleepfold_AttemptRecord) throws -> [UInt8] {
        Self.attemptPrefix + (try attempt.jsonUTF8Bytes()) + [UInt8(ascii: "}")]
    }

    /// Records a finished fold: writes its checkpoint (if it carries one) to
    /// `checkpointURL(fold:in:)`, then appends the result without the checkpoint
    /// bytes. Checkpoint first, so every fold the journal lists has its
    /// checkpoint on disk; with `sync` (as for `append`) the checkpoint and its
    /// directory are fsync'ed before the line is written, so that holds after a
    /// power loss too. Returns the checkpoint file, or nil when there was none.
    /// - Throws: `SleepfoldError` (`.io`) naming the checkpoint or the journal.
    @discardableResult
    public func record(_ result: Sleepfold_FoldResult, checkpointDirectory: URL, sync: Bool = true) throws -> URL? {
        let directory = checkpointDirectory.path
        let (entry, written) = try Self.writeCheckpoint(of: result, in: directory, durable: sync)
        if sync, written != nil { try Self.syncDirectory(directory) }
        try append(entry, sync: sync)
        return written.map { URL(fileURLWithPath: $0) }
    }

    /// Writes `result`'s checkpoint (if it carries one) to `checkpointURL(fold:in:)` in the
    /// directory at path `checkpointDirectory`; returns the journal entry (the result without the
    /// checkpoint bytes) and the path of the file written. Paths, not URLs: building URLs cost
    /// 4 % of the coordinator's CPU at 1,000 workers (Benchmarks/load/results/profile-jitter-0a61565.txt).
    /// `durable`: the file's bytes are fsync'ed before it is renamed into place (its name is
    /// durable only once the directory is synced as well: `syncDirectory`).
    static func writeCheckpoint(of result: Sleepfold_FoldResult, in checkpointDirectory: String, durable: Bool) throws
        -> (entry: Sleepfold_FoldResult, written: String?) {
        guard !result.checkpoint.isEmpty else { return (result, nil) }
        var entry = result
        let name = checkpointName(fold: Int(result.fold))
        if let failure = Self.replace(name, in: checkpointDirectory, with: result.checkpoint, durable: durable) {
            throw SleepfoldError(.io, file: checkpointDirectory + "/" + name, "cannot write fold \(result.fold)'s checkpoint: \(failure)")
        }
        entry.checkpoint = Data()
        return (entry, checkpointDirectory + "/" + name)
    }

    /// Makes the names in the directory at path `directory` durable (fsync of the directory
    /// itself): a file renamed into it survives a power loss only once this returns.
    /// - Throws: `SleepfoldError` (`.io`, errno) naming the directory.
    static func syncDirectory(_ directory: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SleepfoldError.system("open", file: directory, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SleepfoldError.system("fsync", file: directory, errno: errno) }
    }

    /// Writes `data` to a temporary file beside `url` and renames it over `url` (a reader
    /// sees the old file or the whole new one), creating the directory if it is missing;
    /// nil on success, else what failed. With `durable`, the bytes are fsync'ed before the
    /// rename (a rename that reaches the disk before the data would leave an empty file
    /// after a power loss). Plain open/write/rename rather than `Data.write(options: .atomic)`:
    /// that one cost 7 % of the coordinator's CPU at 1,000 workers
    /// (Benchmarks/load/results/profile-steady-32ce2a1.txt).
    static func replace(_ name: String, in directory: String, with data: Data, durable: Bool) -> String? {
        let path = directory + "/" + name, temporary = directory + "/." + name + ".tmp-" + String(getpid())
        var fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 && errno == ENOENT {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        }
        guard fd >= 0 else { return "create \(temporary): \(String(cString: strerror(errno))) (errno \(errno))" }
        var failure: String?
        let code = data.withUnsafeBytes { writeFully(fd, $0) }
        if code != 0 { failure = "write \(temporary): \(String(cString: strerror(code))) (errno \(code))" }
        if durable, failure == nil, fsync(fd) != 0 {
            failure = "fsync \(temporary): \(String(cString: strerror(errno))) (errno \(errno))"
        }
        if close(fd) != 0, failure == nil { failure = "close \(temporary): \(String(cString: strerror(errno))) (errno \(errno))" }
        if failure == nil, rename(temporary, path) != 0 {
            failure = "rename \(temporary): \(String(cString: strerror(errno))) (errno \(errno))"
        }
        if failure != nil { unlink(temporary) }
        return failure
    }

    /// Where fold `fold`'s checkpoint lives: `fold-KK.safetensors` in `directory`.
    public static func checkpointURL(fold: Int, in directory: URL) -> URL {
        directory.appendingPathComponent(checkpointName(fold: fold))
    }

    /// "fold-KK.safetensors".
    static func checkpointName(fold: Int) -> String { "fold-" + LogNumber.twoDigits(fold) + ".safetensors" }
}

/// A journal file open for appending: whole lines, each in one `write`, and fsync on demand.
/// Safe from any thread: a coordinator writes from its `JournalWriter`'s thread.
public final class JournalFile: Sendable {
    public let url: URL
    private let fd: Int32
    /// Lines were written since the last fsync.
    private let unsynced = Mutex(false)

    /// - Throws: `SleepfoldError` `.io` with errno when the file cannot be opened for appending.
    init(url: URL) throws {
        self.url = url
        fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else {
            throw SleepfoldError.system("open for appending", file: url.path, errno: errno)
        }
    }

    deinit { close(fd) }

    /// Writes one line (not synced): on a fresh line, so a torn previous line cannot swallow it.
    /// Returns what was written (the line between newlines) and the offset it starts at (one
    /// writer: the file's end before the write).
    @discardableResult
    func write(_ bytes: [UInt8]) throws -> (offset: Int, written: [UInt8]) {
        var line = [UInt8]()
        line.reserveCapacity(bytes.count + 2)
        line.append(UInt8(ascii: "\n"))
        line.append(contentsOf: bytes)
        line.append(UInt8(ascii: "\n"))
        let start = lseek(fd, 0, SEEK_END)
        guard start >= 0 else { throw SleepfoldError.system("seek", file: url.path, errno: errno) }
        let failure = line.withUnsafeBytes { writeFully(fd, $0) }
        if failure != 0 { throw SleepfoldError.system("write", file: url.path, errno: failure) }
        unsynced.withLock { $0 = true }
        return (Int(start), line)
    }

    /// Makes every line written so far durable (fsync); nothing to do when they are.
    func sync() throws {
        guard unsynced.withLock({ $0 }) else { return }
        unsynced.withLock { $0 = false }
        guard fsync(fd) == 0 else {
            unsynced.withLock { $0 = true }
            throw SleepfoldError.system("fsync", file: url.path, errno: errno)
        }
    }
}
