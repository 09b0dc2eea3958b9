import Foundation
import Synchronization
import Basics
import Recordings

extension SleepfoldError.Code {
    /// The file where a run's write-ahead log belongs (`journal.wal`) is something else.
    public static let invalidWriteAheadLog = Self("invalidWriteAheadLog")
}

/// The coordinator's write-ahead log (`journal.wal` in a run's directory, `study.wal` in a
/// study's): what makes a group of results durable with one `fdatasync`, whatever runs they
/// belong to, instead of one fsync per checkpoint, per checkpoint directory and per journal
/// (docs/durability.md).
///
/// The `JournalWriter` writes a result's checkpoint file and its journal line as before, but
/// without syncing them, and appends both here: the checkpoint's path and bytes, and the
/// journal's path, the line and the offset it was written at. One `fdatasync` of this file then
/// makes the whole group durable, and only then are its results acknowledged. When the oldest
/// record is `compactInterval` old (or the records hold `compactBytes`), one `syncfs` makes the
/// files themselves durable and the log starts over (a new generation). A coordinator that
/// starts replays the log first (`recover`): every checkpoint it holds is put back unless the
/// file already holds those bytes, and each journal is cut at the first line that is not where
/// the log says and written again from there (and lines after its last record, never
/// acknowledged, are cut). So an acknowledged result is on disk in one of the two places at
/// every moment, and in its files after a restart.
///
/// Layout (little-endian): a 16-byte header, `SFWAL001` and the generation (UInt64); then
/// records, each a 48-byte head (kind UInt32, payload length UInt32, generation UInt64, SHA-256 of
/// the head's first 16 bytes and the payload) and its payload, which starts with a file's path
/// (UInt16 length, UTF-8; relative to the log's directory when inside it, so a study directory
/// can be moved):
/// - a checkpoint: its file's path, then the file's bytes;
/// - a journal line: the journal's path, its offset in the journal (UInt64), then the bytes written there.
/// The log ends at the first record that is short, fails its digest or has another generation:
/// a record torn by a crash, or one left from before the last compaction (the log is rewritten
/// from the start after each, so the file stays at its largest size and `fdatasync` has no size
/// to write).
///
/// Measured at 1,000 workers: Benchmarks/load/README.md, ninth session. Safe from any thread
/// (the `JournalWriter` appends, the coordinator's end closes it).
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

    public let url: URL
    /// The log's directory, as a path: records name files relative to it.
    private let directory: String
    private let fd: Int32
    private let state: Mutex<State>

    private struct State: Sendable {
        var generation: UInt64
        /// Where the next record goes.
        var end: Int
        /// When the oldest record was appended (s, `BusyClock.now()`); nil when there is none.
        var oldest: Double?
        var unsynced = false
        /// Directories of the files the records name (one on another file system than the log
        /// needs its own `syncfs`).
        var directories = Set<String>()
    }

    /// Opens the log at `url` for writing, empty (call `recover` first: what it held is lost).
    /// - Throws: `SleepfoldError` `.io` naming the file.
    public init(url: URL) throws {
        self.url = url
        directory = url.deletingLastPathComponent().path
        fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SleepfoldError.system("open", file: url.path, errno: errno) }
        // A fresh generation: records another process left (already replayed) end the log.
        var generation = UInt64(1)
        if let header = try? Self.readHeader(fd: fd, path: url.path) { generation = header &+ 1 }
        state = Mutex(State(generation: generation, end: Self.headerSize))
        do {
            try writeHeader(generation)
            // The log's own name must survive a power loss too (fdatasync keeps its bytes, not its entry).
            try Journal.syncDirectory(directory)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    deinit { Glibc.close(fd) }

    /// Appends a checkpoint written (not synced) at `path`.
    public func appendCheckpoint(path: String, bytes: Data) throws {
        try bytes.withUnsafeBytes { try append(.checkpoint, fields: pathField(path), body: $0, directoryOf: path) }
    }

    /// Appends a journal line, written (not synced) at `offset` of the journal at `path`: `bytes` as written.
    public func appendLine(journal path: String, offset: Int, bytes: [UInt8]) throws {
        var fields = pathField(path)
        Self.put(UInt64(offset), into: &fields)
        try bytes.withUnsafeBytes { try append(.line, fields: fields, body: $0, directoryOf: path) }
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

    /// Makes the files the records name durable (`syncfs` of the log's file system, and of any
    /// other one they are on), then starts the log over. Call with every record synced (after
    /// `sync`), and no append meanwhile (the `JournalWriter`'s thread).
    /// - Throws: `SleepfoldError` `.io` naming the file; the log keeps its records then.
    public func compact() throws {
        let (generation, directories) = state.withLock { ($0.generation, $0.directories) }
        try FileSystemSync.sync([url.path] + directories.sorted(), open: fd)
        try writeHeader(generation &+ 1)
        state.withLock { s in
            s.generation = generation &+ 1
            s.end = Self.headerSize
            s.oldest = nil
            s.directories = []
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
        /// Journal lines written again (a journal cut at the first that was not in place).
        public var linesRestored = 0
        /// Bytes cut off journals' ends (lines written without a record: never acknowledged).
        public var journalBytesCut = 0
    }

    /// Replays the log at `url` (left by a coordinator that stopped without compacting it)
    /// into the journals and checkpoints its records name, then makes them durable. Nothing to
    /// do when there is no log. The log itself is left for `init`, which starts it over.
    /// - Parameter crash: for tests: stop after this many journal lines are written again.
    /// - Throws: `SleepfoldError`: `.io` naming the file, or `.invalidWriteAheadLog` when the
    ///   file is not a write-ahead log.
    public static func recover(url: URL, crashAfterLines crash: Int? = nil) throws -> Recovery {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        if fd < 0 && errno == ENOENT { return Recovery() }
        guard fd >= 0 else { throw SleepfoldError.system("open", file: url.path, errno: errno) }
        defer { Glibc.close(fd) }
        guard let generation = try readHeader(fd: fd, path: url.path) else { return Recovery() }
        let data = try readAll(fd: fd, path: url.path)
        let directory = url.deletingLastPathComponent().path
        var recovery = Recovery()
        var checkpoints: [String: Data] = [:], lines: [String: [(offset: Int, bytes: Data)]] = [:], journals: [String] = []
        var at = headerSize
        while let (kind, payload, next) = record(in: data, at: at, generation: generation) {
            guard let (path, rest) = readPath(payload, relativeTo: directory) else { break }
            recovery.records += 1
            switch kind {
            case .checkpoint:
                checkpoints[path] = rest
            case .line:
                guard rest.count >= 8 else { break }
                if lines[path] == nil { journals.append(path) }
                lines[path, default: []].append((Int(read(UInt64.self, rest, at: 0)), rest.dropFirst(8)))
            }
            at = next
        }
        // Checkpoints first: a line names a fold whose checkpoint is in place.
        for (path, bytes) in checkpoints.sorted(by: { $0.key < $1.key }) {
            if FileManager.default.contents(atPath: path) == bytes { continue }
            let file = URL(fileURLWithPath: path)
            if let failure = Journal.replace(file.lastPathComponent, in: file.deletingLastPathComponent().path,
                                             with: bytes, durable: false) {
                throw SleepfoldError(.io, file: path, "cannot put back this checkpoint from \(url.path): \(failure)")
            }
            recovery.checkpointsRestored += 1
        }
        var crash = crash
        for journal in journals {
            try restore(lines[journal]!, journal: journal, log: url.path, recovery: &recovery, crashAfter: &crash)
        }
        let directories = Set((Array(checkpoints.keys) + journals).map { URL(fileURLWithPath: $0).deletingLastPathComponent().path })
        try FileSystemSync.sync([url.path] + directories.sorted(), open: fd)
        return recovery
    }

    /// Cuts the journal at the first of `lines` that is not at its offset, and writes that line
    /// and the rest again at its end, in order; or, all in place, cuts what follows the last.
    private static func restore(_ lines: [(offset: Int, bytes: Data)], journal: String, log: String,
                                recovery: inout Recovery, crashAfter: inout Int?) throws {
        let fd = open(journal, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SleepfoldError.system("open", file: journal, errno: errno) }
        defer { Glibc.close(fd) }
        let contents = try readAll(fd: fd, path: journal)
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
            throw SleepfoldError.system("cut at byte \(cut) (replaying \(log))", file: journal, errno: errno)
        }
        recovery.journalBytesCut += contents.count - cut
        guard let first else { return }
        var offset = cut
        for line in lines[first...] {
            if let n = crashAfter {
                if n == 0 { throw Crashed() }
                crashAfter = n - 1
            }
            try line.bytes.withUnsafeBytes { try writeFully(fd, $0, at: offset, path: journal) }
            offset += line.bytes.count
            recovery.linesRestored += 1
        }
    }

    /// What `recover` throws when a test has it crash.
    public struct Crashed: Error {}

    // MARK: - File format

    /// Writes a record whose payload is `fields` then `body` (written from where it is, not
    /// copied into one buffer: a checkpoint is megabytes).
    private func append(_ kind: Kind, fields: [UInt8], body: UnsafeRawBufferPointer, directoryOf path: String) throws {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        try state.withLock { s in
            let head = fields.withUnsafeBytes { Self.head(kind, payload: [$0, body], generation: s.generation) }
            var at = s.end
            for part in [head, fields] {
                try part.withUnsafeBytes { try Self.writeFully(fd, $0, at: at, path: url.path) }
                at += part.count
            }
            try Self.writeFully(fd, body, at: at, path: url.path)
            s.end = at + body.count
            s.unsynced = true
            if s.oldest == nil { s.oldest = BusyClock.now() }
            if directory != self.directory { s.directories.insert(directory) }
        }
    }

    /// `path` relative to the log's directory when inside it, as a record's first field.
    private func pathField(_ path: String) -> [UInt8] {
        let prefix = directory + "/"
        let name = path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
        var bytes = [UInt8]()
        Self.put(UInt16(name.utf8.count), into: &bytes)
        bytes.append(contentsOf: name.utf8)
        return bytes
    }

    /// A record's path (made absolute) and the rest of its payload.
    private static func readPath(_ payload: Data, relativeTo directory: String) -> (String, Data)? {
        guard payload.count >= 2 else { return nil }
        let n = Int(read(UInt16.self, payload, at: 0))
        guard payload.count >= 2 + n, n > 0 else { return nil }
        let name = String(decoding: payload.dropFirst(2).prefix(n), as: UTF8.self)
        return (name.hasPrefix("/") ? name : directory + "/" + name, Data(payload.dropFirst(2 + n)))
    }

    /// A record's 48-byte head for the payload made of `payload`'s parts in order.
    static func head(_ kind: Kind, payload: [UnsafeRawBufferPointer], generation: UInt64) -> [UInt8] {
        var head = [UInt8](); head.reserveCapacity(recordHeadSize)
        put(kind.rawValue, into: &head)
        put(UInt32(payload.reduce(0) { $0 + $1.count }), into: &head)
        put(generation, into: &head)
        var digest = SHA256()
        digest.update(head)
        for part in payload { digest.update(part) }
        head += digest.finalize()
        return head
    }

    /// The record at `at` of `data`, if it is whole, of `generation`, and passes its digest.
    static func record(in data: Data, at: Int, generation: UInt64) -> (Kind, Data, next: Int)? {
        guard data.count - at >= recordHeadSize else { return nil }
        let length = Int(read(UInt32.self, data, at: at + 4))
        guard let kind = Kind(rawValue: read(UInt32.self, data, at: at)),
              read(UInt64.self, data, at: at + 8) == generation,
              data.count - at - recordHeadSize >= length else { return nil }
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
        let failure = Basics.writeFully(fd, bytes, at: start)
        if failure != 0 { throw SleepfoldError.system("write", file: path, errno: failure) }
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
