import Foundation
import Synchronization
import Basics
import Recordings
import CLinux

extension SleepfoldError.Code {
    /// The file where a run's write-ahead log belongs (`journal.wal`) is something else.
    public static let invalidWriteAheadLog = Self("invalidWriteAheadLog")
}

/// A run's write-ahead log, `journal.wal` beside `journal.jsonl`: what makes a group of
/// results durable with one `fdatasync` instead of one fsync per checkpoint, per checkpoint
/// directory and per journal (docs/fold-state.md, "Durability").
///
/// The `JournalWriter` writes a result's checkpoint file and its journal line as before, but
/// without syncing them, and appends both here: the checkpoint's bytes, and the line with the
/// offset it was written at. One `fdatasync` of this file then makes the whole group durable,
/// and only then are its results acknowledged. Every `compactInterval` (or `compactBytes`), one
/// `syncfs` makes the files themselves durable and the log starts over (a new generation).
/// A coordinator that starts replays the log first (`recover`): every checkpoint it holds is
/// put back unless the file already holds those bytes, and the journal is cut at the first line
/// that is not where the log says and written again from there (and lines after the last
/// record, never acknowledged, are cut). So an acknowledged result is on
/// disk in one of the two places at every moment, and in its files after a restart.
///
/// Layout (little-endian): a 16-byte header, `SFWAL001` and the generation (UInt64); then
/// records, each a 48-byte head (kind UInt32, payload length UInt32, generation UInt64, SHA-256 of
/// the head's first 16 bytes and the payload) and its payload:
/// - a checkpoint: the fold (UInt32), then the file's bytes;
/// - a journal line: its offset in the journal (UInt64), then the bytes written there.
/// The log ends at the first record that is short, fails its digest or has another generation:
/// a record torn by a crash, or one left from before the last compaction (the log is rewritten
/// from the start after each, so the file stays at its largest size and `fdatasync` has no size
/// to write).
///
/// Measured at 1,000 workers: Benchmarks/load/README.md, ninth session. Safe from any thread
/// (the `JournalWriter` appends, the coordinator's end compacts).
public final class WriteAheadLog: Sendable {
    /// Seconds a record waits in the log at most (checked after each group): then the files
    /// written meanwhile are synced (`syncfs`) and the log starts over. The kernel writes dirty
    /// pages back after 30 s by itself, so most are on disk by then and the `syncfs` mostly
    /// flushes the device's cache.
    public static let compactInterval = 30.0   // s
    /// Bytes of records after which the log is compacted sooner (checkpoints of large models).
    public static let compactBytes = 64 << 20  // bytes

    static let magic = Array("SFWAL001".utf8)
    static let headerSize = 16   // bytes: magic, generation
    static let recordHeadSize = 48   // bytes: kind, length, generation, SHA-256

    enum Kind: UInt32 {
        case checkpoint = 1
        case line = 2
    }

    /// The log of the journal at `journal`: its name with `.wal` for its extension
    /// (`journal.wal` beside `journal.jsonl`).
    public static func url(besideJournal journal: URL) -> URL {
        journal.deletingPathExtension().appendingPathExtension("wal")
    }

    public let url: URL
    /// Where the run's checkpoints are written (`Journal.checkpointURL`), as a path.
    public let checkpointDirectory: String
    private let fd: Int32
    private let state: Mutex<State>

    private struct State: Sendable {
        var generation: UInt64
        /// Where the next record goes.
        var end: Int
        /// When the oldest record was appended (s, `BusyClock.now()`); nil when there is none.
        var oldest: Double?
        var unsynced = false
    }

    /// Opens the log at `url` for writing, empty (call `recover` first: what it held is lost),
    /// for a run whose checkpoints are written in `checkpointDirectory`.
    /// - Throws: `SleepfoldError` `.io` naming the file.
    public init(url: URL, checkpointDirectory: URL) throws {
        self.url = url
        self.checkpointDirectory = checkpointDirectory.path
        fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SleepfoldError.system("open", file: url.path, errno: errno) }
        // A fresh generation: records another process left (already replayed) end the log.
        var generation = UInt64(1)
        if let header = try? Self.readHeader(fd: fd, path: url.path) { generation = header &+ 1 }
        state = Mutex(State(generation: generation, end: Self.headerSize))
        do {
            try writeHeader(generation)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    deinit { Glibc.close(fd) }

    /// Appends fold `fold`'s checkpoint, written (not synced) in `checkpointDirectory`.
    public func appendCheckpoint(fold: Int, bytes: Data) throws {
        var payload = [UInt8](); payload.reserveCapacity(4 + bytes.count)
        Self.put(UInt32(fold), into: &payload)
        payload.append(contentsOf: bytes)
        try append(.checkpoint, payload)
    }

    /// Appends a journal line, written (not synced) at `offset` of the journal: `bytes` as written.
    public func appendLine(offset: Int, bytes: [UInt8]) throws {
        var payload = [UInt8](); payload.reserveCapacity(8 + bytes.count)
        Self.put(UInt64(offset), into: &payload)
        payload.append(contentsOf: bytes)
        try append(.line, payload)
    }

    /// Makes every record appended so far durable (`fdatasync`); nothing to do when they are.
    /// True when it synced.
    @discardableResult
    public func sync() throws -> Bool {
        guard state.withLock({ s in defer { s.unsynced = false }; return s.unsynced }) else { return false }
        guard fdatasync(fd) == 0 else {
            state.withLock { $0.unsynced = true }
            throw SleepfoldError.system("fdatasync", file: url.path, errno: errno)
        }
        return true
    }

    /// Whether `compact` is due: the oldest record is `compactInterval` old, or the records
    /// hold `compactBytes`.
    public var compactionDue: Bool {
        state.withLock { s in
            s.end - Self.headerSize > Self.compactBytes || s.oldest.map { BusyClock.now() - $0 > Self.compactInterval } ?? false
        }
    }

    /// Makes the files the records stand for durable (`syncfs` of the log's file system, and
    /// of the checkpoints' when it is another), then starts the log over. Call with every
    /// record synced (after `sync`), and no append meanwhile (the `JournalWriter`'s thread).
    /// - Throws: `SleepfoldError` `.io` naming the file; the log keeps its records then.
    public func compact() throws {
        let generation = state.withLock { $0.generation }
        try Self.syncFileSystems(of: [url.path, checkpointDirectory], logFD: fd)
        try writeHeader(generation &+ 1)
        state.withLock { s in
            s.generation = generation &+ 1
            s.end = Self.headerSize
            s.oldest = nil
        }
    }

    /// Compacts and deletes the log (the coordinator's end: its files are durable).
    public func close() throws {
        try compact()
        unlink(url.path)
    }

    // MARK: - Recovery

    /// What `recover` found and put back.
    public struct Recovery: Sendable, Equatable {
        /// Records read (of the log's current generation).
        public var records = 0
        /// Checkpoint files written again (missing, or other bytes than the log's).
        public var checkpointsRestored = 0
        /// Journal lines written again (the journal cut at the first that was not in place).
        public var linesRestored = 0
        /// Bytes cut off the journal's end (lines written without a record: never acknowledged).
        public var journalBytesCut = 0
    }

    /// Replays the log at `url` (left by a coordinator that stopped without compacting it)
    /// into `journal` and the checkpoints in `checkpointDirectory`, then makes them durable.
    /// Nothing to do when there is no log. The log itself is left for `init`, which starts it over.
    /// - Parameter crash: for tests: stop after this many journal lines are written again.
    /// - Throws: `SleepfoldError`: `.io` naming the file, or `.invalidWriteAheadLog` when the file
    ///   is not a write-ahead log.
    public static func recover(url: URL, journal: URL, checkpointDirectory: URL,
                               crashAfterLines crash: Int? = nil) throws -> Recovery {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        if fd < 0 && errno == ENOENT { return Recovery() }
        guard fd >= 0 else { throw SleepfoldError.system("open", file: url.path, errno: errno) }
        defer { Glibc.close(fd) }
        guard let generation = try readHeader(fd: fd, path: url.path) else { return Recovery() }
        let data = try readAll(fd: fd, path: url.path)
        var recovery = Recovery()
        var checkpoints: [Int: Data] = [:], lines: [(offset: Int, bytes: Data)] = []
        var at = headerSize
        while let (kind, payload, next) = record(in: data, at: at, generation: generation) {
            recovery.records += 1
            switch kind {
            case .checkpoint:
                checkpoints[Int(read(UInt32.self, payload, at: 0))] = payload.dropFirst(4)
            case .line:
                lines.append((Int(read(UInt64.self, payload, at: 0)), payload.dropFirst(8)))
            }
            at = next
        }
        // Checkpoints first: a line names a fold whose checkpoint is in place.
        for (fold, bytes) in checkpoints.sorted(by: { $0.key < $1.key }) {
            let path = Journal.checkpointURL(fold: fold, in: checkpointDirectory).path
            if FileManager.default.contents(atPath: path) == bytes { continue }
            if let failure = Journal.replace(URL(fileURLWithPath: path).lastPathComponent, in: checkpointDirectory.path,
                                             with: bytes, durable: false) {
                throw SleepfoldError(.io, file: path, "cannot put back fold \(fold)'s checkpoint from \(url.path): \(failure)")
            }
            recovery.checkpointsRestored += 1
        }
        if !lines.isEmpty {
            try restore(lines, journal: journal, log: url.path, recovery: &recovery, crashAfter: crash)
        }
        try syncFileSystems(of: [url.path, checkpointDirectory.path], logFD: fd)
        return recovery
    }

    /// Cuts the journal at the first of `lines` that is not at its offset, and writes that line
    /// and the rest again at its end, in order; or, all in place, cuts what follows the last.
    private static func restore(_ lines: [(offset: Int, bytes: Data)], journal: URL, log: String,
                                recovery: inout Recovery, crashAfter: Int?) throws {
        let fd = open(journal.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SleepfoldError.system("open", file: journal.path, errno: errno) }
        defer { Glibc.close(fd) }
        let contents = try readAll(fd: fd, path: journal.path)
        // Lines after the last record's, or between records', were written without one (never
        // acknowledged), or are a torn tail: cut, with the rest from the first record not in place.
        let first = lines.firstIndex(where: { line in
            line.offset + line.bytes.count > contents.count ||
                contents[line.offset ..< line.offset + line.bytes.count] != line.bytes
        })
        let end = lines.last!.offset + lines.last!.bytes.count
        guard first != nil || contents.count > end else { return }
        let cut = first.map { min(lines[$0].offset, contents.count) } ?? end
        guard ftruncate(fd, off_t(cut)) == 0 else {
            throw SleepfoldError.system("cut at byte \(cut) (replaying \(log))", file: journal.path, errno: errno)
        }
        recovery.journalBytesCut = contents.count - cut
        guard let first else { return }
        var offset = cut
        for (n, line) in lines[first...].enumerated() {
            if let crashAfter, n == crashAfter { return }
            try line.bytes.withUnsafeBytes { try writeFully(fd, $0, at: offset, path: journal.path) }
            offset += line.bytes.count
            recovery.linesRestored += 1
        }
    }

    // MARK: - File format

    private func append(_ kind: Kind, _ payload: [UInt8]) throws {
        try state.withLock { s in
            let record = Self.encode(kind, payload, generation: s.generation)
            try record.withUnsafeBytes { try Self.writeFully(fd, $0, at: s.end, path: url.path) }
            s.end += record.count
            s.unsynced = true
            if s.oldest == nil { s.oldest = BusyClock.now() }
        }
    }

    static func encode(_ kind: Kind, _ payload: [UInt8], generation: UInt64) -> [UInt8] {
        var head = [UInt8](); head.reserveCapacity(recordHeadSize + payload.count)
        put(kind.rawValue, into: &head)
        put(UInt32(payload.count), into: &head)
        put(generation, into: &head)
        var digest = SHA256()
        digest.update(head)
        digest.update(payload)
        head += digest.finalize()
        head += payload
        return head
    }

    /// The record at `at` of `data`, if it is whole, of `generation`, and passes its digest.
    static func record(in data: Data, at: Int, generation: UInt64) -> (Kind, Data, next: Int)? {
        guard data.count - at >= recordHeadSize else { return nil }
        let length = Int(read(UInt32.self, data, at: at + 4))
        guard let kind = Kind(rawValue: read(UInt32.self, data, at: at)),
              read(UInt64.self, data, at: at + 8) == generation,
              data.count - at - recordHeadSize >= length,
              length >= (kind == .checkpoint ? 4 : 8) else { return nil }
        let start = data.startIndex + at
        let payload = data[start + recordHeadSize ..< start + recordHeadSize + length]
        var digest = SHA256()
        digest.update(data[start ..< start + 16])
        digest.update(payload)
        guard digest.finalize().elementsEqual(data[start + 16 ..< start + 48]) else { return nil }
        return (kind, Data(payload), at + recordHeadSize + length)
    }

    private func writeHeader(_ generation: UInt64) throws {
        var header = Self.magic
        Self.put(generation, into: &header)
        try header.withUnsafeBytes { try Self.writeFully(fd, $0, at: 0, path: url.path) }
        guard fdatasync(fd) == 0 else { throw SleepfoldError.system("fdatasync", file: url.path, errno: errno) }
    }

    /// The header's generation; nil for an empty or torn header (a log created and never
    /// written: nothing to replay).
    /// - Throws: `.invalidWriteAheadLog` when the file is something else.
    private static func readHeader(fd: Int32, path: String) throws -> UInt64? {
        var header = [UInt8](repeating: 0, count: headerSize)
        let n = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, headerSize, 0) }
        guard n == headerSize else { return nil }
        guard Array(header[0..<8]) == magic else {
            throw SleepfoldError(.invalidWriteAheadLog, file: path, field: "header", found: "\(header[0..<8].map { String(format: "%02x", $0) }.joined())",
                                 expected: "a sleepfold write-ahead log (SFWAL001); move the file away")
        }
        return read(UInt64.self, Data(header), at: 8)
    }

    private static func readAll(fd: Int32, path: String) throws -> Data {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SleepfoldError.system("stat", file: path, errno: errno) }
        var data = Data(count: Int(st.st_size)), offset = 0
        let failure: Int32 = data.withUnsafeMutableBytes { buffer in
            while offset < buffer.count {
                let n = pread(fd, buffer.baseAddress! + offset, buffer.count - offset, off_t(offset))
                if n < 0 { if errno == EINTR { continue }; return errno }
                if n == 0 { break }
                offset += n
            }
            return 0
        }
        guard failure == 0 else { throw SleepfoldError.system("read", file: path, errno: failure) }
        return data.prefix(offset)
    }

    private static func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at start: Int, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + offset, bytes.count - offset, off_t(start + offset))
            if n < 0 {
                if errno == EINTR { continue }
                throw SleepfoldError.system("write", file: path, errno: errno)
            }
            offset += n
        }
    }

    /// `syncfs` of each file system among `paths` (the log's, through its descriptor, and any
    /// other a directory is on).
    private static func syncFileSystems(of paths: [String], logFD: Int32) throws {
        var seen = Set<UInt64>()
        for path in paths {
            var st = stat()
            guard stat(path, &st) == 0 else {
                if errno == ENOENT { continue }   // no checkpoint written yet: nothing to sync there
                throw SleepfoldError.system("stat", file: path, errno: errno)
            }
            guard seen.insert(UInt64(st.st_dev)).inserted else { continue }
            let fd = path == paths[0] ? logFD : open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SleepfoldError.system("open", file: path, errno: errno) }
            defer { if fd != logFD { Glibc.close(fd) } }
            guard syncfs(fd) == 0 else { throw SleepfoldError.system("syncfs", file: path, errno: errno) }
        }
    }

    static func put<T: FixedWidthInteger>(_ value: T, into bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    static func read<T: FixedWidthInteger, D: DataProtocol>(_: T.Type, _ data: D, at offset: Int) -> T
        where D.Index == Int {
        var value = T.zero
        for i in 0..<MemoryLayout<T>.size { value |= T(data[data.startIndex + offset + i]) << (8 * i) }
        return value
    }
}
