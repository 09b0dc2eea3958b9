import Foundation
import Synchronization
import Basics
import Shared

/// Writes fold checkpoints and journal lines off the coordinator loop's thread, in the
/// order they were queued, and syncs them in groups: what was queued while one group was
/// being written and synced goes out in the next (up to `maxGroup` jobs), with one fsync
/// per journal touched.
///
/// Why: a result's checkpoint file, its JSON line and the fsync take milliseconds each,
/// and a thousand workers finishing together would otherwise have the loop do them one
/// after another while heartbeats, states and the next tasks wait. The loop queues a
/// result (`write`), goes on reading messages, and collects each turn what is on disk
/// (`finished()`): only those are acknowledged, so an acknowledged result is on disk.
/// A job that only needs the jobs before it on disk (`barrier`: a duplicate result to
/// acknowledge again) writes nothing and is finished with their group.
public final class JournalWriter: Sendable {
    /// Jobs written before their journals are synced and they are reported done: more per
    /// fsync saves syncs, but every job of a group waits for the group's last (a burst of a
    /// thousand results in one group held them all for a quarter second).
    public static let maxGroup = 16
    /// Seconds a group waits after its first job for more (up to `maxGroup`) before it is
    /// written. Each group costs an fsync per checkpoint, one per checkpoint directory and
    /// one per journal; results trickling in one by one (task times spread ±20 %, 1,000
    /// workers) made a group of each: 3 fsyncs per result, 17 % of a core. Since protocol 4
    /// no task waits for an acknowledgement, only the durability promise does, so a few
    /// milliseconds more buy fewer fsyncs (Benchmarks/load/README.md, third session).
    public static let groupWindow = 0.02   // s
    /// What to write; `token` comes back with it in `finished()`.
    public enum Entry: Sendable {
        /// A fold's result: its checkpoint (if it carries one) in `checkpointDirectory`, then its line.
        case result(Sleepfold_FoldResult, checkpointDirectory: URL)
        /// An attempt that ended without a result.
        case attempt(Sleepfold_AttemptRecord)
        /// Nothing: finished once everything queued before it is on disk.
        case barrier
    }

    struct Job: Sendable {
        let file: JournalFile?
        let entry: Entry
        let token: Token
        /// When it was queued (s, `BusyClock.now()`).
        let queued: Double
    }

    public struct Done: Sendable {
        public let token: Token
        /// nil when written and synced; else why not (the job is not on disk).
        public let error: SleepfoldError?
        /// A `barrier`: nothing of its own was written.
        public let isBarrier: Bool
    }

    /// What the loop gets back: the routing id and address to acknowledge, and the result.
    public struct Token: Sendable {
        public let routingID: [UInt8]
        public let address: String
        /// The result as received (what the acknowledgement names); nil for an attempt record.
        public let result: Sleepfold_FoldResult?

        public init(routingID: [UInt8], address: String, result: Sleepfold_FoldResult?) {
            self.routingID = routingID
            self.address = address
            self.result = result
        }
    }

    public init() {}

    private let queue = DispatchQueue(label: "sleepfold.coordinator.journal")
    /// Where a group's checkpoints are written and fsync'ed, one queue (a thread while busy)
    /// per checkpoint: fsyncs issued together share the file system's journal commits. Measured
    /// on this project's VM (ext4), 16 small files written, fsync'ed and renamed: 46–57 ms one
    /// after another, 27–31 ms from 16 threads (Benchmarks/load/results/2026-12-05-session3.md).
    private let checkpointQueues = (0..<maxGroup).map { DispatchQueue(label: "sleepfold.coordinator.checkpoint.\($0)") }

    /// What the checkpoint threads hand back, by job index.
    private final class Written: @unchecked Sendable {
        private let lock = NSLock()
        private var outcomes: [Int: Result<(entry: Sleepfold_FoldResult, written: String?), Error>] = [:]
        func set(_ i: Int, _ outcome: Result<(entry: Sleepfold_FoldResult, written: String?), Error>) {
            lock.withLock { outcomes[i] = outcome }
        }
        func get(_ i: Int) -> Result<(entry: Sleepfold_FoldResult, written: String?), Error>? { lock.withLock { outcomes[i] } }
    }
    private let state = Mutex(State())

    private struct State: Sendable {
        var pending: [Job] = []
        /// A drain is queued or running: it takes `pending` until it finds it empty.
        var draining = false
        var done: [Done] = []
    }

    /// Queues `entry` for `file`; it comes back in `finished()` once on disk (or refused).
    public func write(_ entry: Entry, to file: JournalFile?, token: Token) {
        let start = state.withLock { s -> Bool in
            s.pending.append(Job(file: file, entry: entry, token: token, queued: BusyClock.now()))
            defer { s.draining = true }
            return !s.draining
        }
        if start { queue.async { [self] in drain() } }
    }

    /// Whether anything is finished and waiting for `finished()` (cheap: the loop asks after each message).
    public var hasFinished: Bool { state.withLock { !$0.done.isEmpty } }

    /// Whether a job is queued, being written, or done and not yet collected by `finished()`.
    public var isBusy: Bool { state.withLock { $0.draining || !$0.done.isEmpty } }

    /// What was written and synced (or refused) since the last call, in queue order.
    public func finished() -> [Done] {
        state.withLock { s in
            defer { s.done.removeAll() }
            return s.done
        }
    }

    /// Waits until everything queued so far is written and synced.
    public func waitUntilIdle() {
        while state.withLock({ $0.draining }) { queue.sync {} }
    }

    /// Writes groups until nothing is pending: each group's lines, then one fsync per file.
    private func drain() {
        while true {
            // A group not yet full waits until its first job is `groupWindow` old.
            let wait = state.withLock { s -> Double in
                guard let first = s.pending.first, s.pending.count < Self.maxGroup else { return 0 }
                return first.queued + Self.groupWindow - BusyClock.now()
            }
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            let group = state.withLock { s -> [Job] in
                if s.pending.isEmpty { s.draining = false }
                let n = min(s.pending.count, Self.maxGroup)
                defer { s.pending.removeFirst(n) }
                return Array(s.pending.prefix(n))
            }
            if group.isEmpty { return }
            let finished = writeAndSync(group)
            state.withLock { $0.done += finished }
        }
    }

    /// What the writer's fsyncs cost so far: how many and the seconds they took, by kind
    /// (the price of durability; the coordinator logs it at the end of a run).
    public struct Stats: Sendable, Equatable {
        public var groups = 0
        /// Checkpoint files, one fsync each (a file's bytes need their own), a group's at once.
        public var checkpointSyncs = 0
        /// Checkpoint directories, one fsync per directory per group (the renames).
        public var directorySyncs = 0
        /// Journals, one fsync per journal per group.
        public var journalSyncs = 0
        /// Wall seconds the writer waited for each kind (a group's checkpoints together).
        public var checkpointSeconds = 0.0
        public var directorySeconds = 0.0
        public var journalSeconds = 0.0
    }

    private let statistics = Mutex(Stats())
    public var stats: Stats { statistics.withLock { $0 } }

    /// Writes `group` in order and syncs every file it touched, so that each line names only
    /// what is already durable: first every result's checkpoint (written, fsync'ed, renamed),
    /// then each checkpoint directory once (the renames), then the lines, then each journal
    /// once. A job whose checkpoint or line cannot be written is refused and leaves no line;
    /// when a directory's fsync fails, every result of the group with a checkpoint there is;
    /// when a journal's fsync fails, every job of the group on that journal is.
    func writeAndSync(_ group: [Job]) -> [Done] {
        var stats = Stats()
        stats.groups = 1
        var errors = [SleepfoldError?](repeating: nil, count: group.count)
        func failure(_ error: Error, _ path: String) -> SleepfoldError {
            error as? SleepfoldError ?? SleepfoldError(.io, file: path, "\(error)")
        }
        // 1. Checkpoints, each fsync'ed before its rename, all of the group's at once.
        var entries = [Sleepfold_FoldResult?](repeating: nil, count: group.count)
        // Each result's checkpoint directory as a path (nil: none written, or its write failed).
        var directories = Set<String>(), directoryOf = [String?](repeating: nil, count: group.count)
        let written = Written(), writing = DispatchGroup(), start = BusyClock.now()
        for (i, job) in group.enumerated() {
            guard job.file != nil, case .result(let result, let url) = job.entry else { continue }
            let directory = url.path
            directoryOf[i] = directory
            checkpointQueues[i % checkpointQueues.count].async(group: writing) {
                written.set(i, Result { try Journal.writeCheckpoint(of: result, in: directory, durable: true) })
            }
        }
        writing.wait()
        for i in group.indices {
            guard let directory = directoryOf[i], let outcome = written.get(i) else { continue }
            switch outcome {
            case .success(let (entry, path)):
                entries[i] = entry
                if path != nil {
                    directories.insert(directory)
                    stats.checkpointSyncs += 1
                } else {
                    directoryOf[i] = nil
                }
            case .failure(let error):
                errors[i] = failure(error, directory)
                directoryOf[i] = nil
            }
        }
        if stats.checkpointSyncs > 0 { stats.checkpointSeconds = BusyClock.now() - start }
        // 2. Each directory once: the renamed checkpoints' names.
        for path in directories {
            let start = BusyClock.now()
            do {
                try Journal.syncDirectory(path)
                stats.directorySyncs += 1
                stats.directorySeconds += BusyClock.now() - start
            } catch {
                for i in group.indices where directoryOf[i] == path && errors[i] == nil { errors[i] = failure(error, path) }
            }
        }
        // 3. The lines of what is durable so far.
        var files: [ObjectIdentifier: JournalFile] = [:]
        for (i, job) in group.enumerated() where errors[i] == nil {
            guard let file = job.file else { continue }
            do {
                switch job.entry {
                case .result:
                    try file.write(Journal.line(entries[i]!))
                case .attempt(let record):
                    try file.write(Journal.line(record))
                case .barrier:
                    break
                }
                files[ObjectIdentifier(file)] = file
            } catch {
                errors[i] = failure(error, file.url.path)
            }
        }
        // 4. Each journal once.
        var syncErrors: [ObjectIdentifier: SleepfoldError] = [:]
        for (id, file) in files {
            let start = BusyClock.now()
            do {
                try file.sync()
                stats.journalSyncs += 1
                stats.journalSeconds += BusyClock.now() - start
            } catch {
                syncErrors[id] = failure(error, file.url.path)
            }
        }
        statistics.withLock {
            $0.groups += stats.groups
            $0.checkpointSyncs += stats.checkpointSyncs
            $0.directorySyncs += stats.directorySyncs
            $0.journalSyncs += stats.journalSyncs
            $0.checkpointSeconds += stats.checkpointSeconds
            $0.directorySeconds += stats.directorySeconds
            $0.journalSeconds += stats.journalSeconds
        }
        return group.enumerated().map { i, job in
            var isBarrier = false
            if case .barrier = job.entry { isBarrier = true }
            return Done(token: job.token, error: errors[i] ?? job.file.flatMap { syncErrors[ObjectIdentifier($0)] },
                        isBarrier: isBarrier)
        }
    }
}
