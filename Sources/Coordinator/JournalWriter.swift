import Foundation
import Synchronization
import Basics
import Shared

/// Writes fold checkpoints and journal lines off the coordinator loop's thread, in the
/// order they were queued, and makes them durable in groups: what was queued while one group
/// was being written and synced goes out in the next (up to `maxGroup` jobs), with one
/// `fdatasync` of the coordinator's write-ahead log (`WriteAheadLog`) per group.
///
/// Why: a result's checkpoint file, its JSON line and their syncs take milliseconds each,
/// and a thousand workers finishing together would otherwise have the loop do them one
/// after another while heartbeats, states and the next tasks wait. The loop queues a
/// result (`write`), goes on reading messages, and collects each turn what is on disk
/// (`finished()`): only those are acknowledged, so an acknowledged result is on disk.
/// A job that only needs the jobs before it on disk (`barrier`: a duplicate result to
/// acknowledge again) writes nothing and is finished with their group.
public final class JournalWriter: Sendable {
    /// Jobs written before their logs are synced and they are reported done: more per
    /// sync saves syncs, but every job of a group waits for the group's last (a burst of a
    /// thousand results in one group held them all for a quarter second).
    public static let maxGroup = 16
    /// Seconds a group waits after its first job for more (up to `maxGroup`) before it is
    /// written. Results trickling in one by one (task times spread ±20 %, 1,000 workers)
    /// made a group of each. Since protocol 4 no task waits for an acknowledgement, only the
    /// durability promise does, so a few milliseconds more buy fewer syncs
    /// (Benchmarks/load/README.md, third session).
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

    /// Where every group is made durable: the coordinator's write-ahead log.
    public let log: WriteAheadLog

    public init(log: WriteAheadLog) {
        self.log = log
    }

    private let queue = DispatchQueue(label: "sleepfold.coordinator.journal")
    private let state = Mutex(State())

    private struct State: Sendable {
        var pending: [Job] = []
        /// A drain is queued or running: it takes `pending` until it finds it empty.
        var draining = false
        var done: [Done] = []
    }

    /// Queues `entry` for `file` (nil only for a `barrier`); it comes back in `finished()` once
    /// on disk (or refused).
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

    /// Writes groups until nothing is pending: each group's checkpoints and lines, then one
    /// sync of the log.
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

    /// What the writer's syncs cost so far: how many and the seconds they took (the price of
    /// durability; the coordinator logs it at the end of a run).
    public struct Stats: Sendable, Equatable {
        public var groups = 0
        /// Checkpoint files written (synced only by the compactions).
        public var checkpoints = 0
        /// Syncs of the write-ahead log, one `fdatasync` per group that wrote.
        public var logSyncs = 0
        /// Compactions: a `syncfs` of the files the log stood for, and the log started over.
        public var compactions = 0
        /// Wall seconds the writer waited for each.
        public var logSeconds = 0.0
        public var compactionSeconds = 0.0
        /// The last compaction that failed, if any (its log kept its records).
        public var compactionFailure: String?
    }

    private let statistics = Mutex(Stats())
    public var stats: Stats { statistics.withLock { $0 } }

    /// Writes `group` in order and makes it durable: every result's checkpoint file, then the
    /// lines, each logged in the write-ahead log as it is written; then the log is synced once,
    /// and compacted when due. A job whose checkpoint or line cannot be written or logged is
    /// refused; when the log's sync fails, every job of the group is. A refused job's line may
    /// be in the journal without being durable (as a line whose fsync failed): it is not
    /// acknowledged, and a replay after a crash cuts it off.
    func writeAndSync(_ group: [Job]) -> [Done] {
        var stats = Stats()
        stats.groups = 1
        var errors = [SleepfoldError?](repeating: nil, count: group.count)
        func failure(_ error: Error, _ path: String) -> SleepfoldError {
            error as? SleepfoldError ?? SleepfoldError(.io, file: path, "\(error)")
        }
        // 1. Checkpoints (not synced), each logged: a line is logged after its checkpoint.
        var entries = [Sleepfold_FoldResult?](repeating: nil, count: group.count)
        for (i, job) in group.enumerated() {
            guard job.file != nil, case .result(let result, let url) = job.entry else { continue }
            let directory = url.path
            do {
                let (entry, written) = try Journal.writeCheckpoint(of: result, in: directory, durable: false)
                if let written {
                    try log.appendCheckpoint(path: written, bytes: result.checkpoint)
                    stats.checkpoints += 1
                }
                entries[i] = entry
            } catch {
                errors[i] = failure(error, directory)
            }
        }
        // 2. The lines (not synced), each logged with its offset.
        for (i, job) in group.enumerated() where errors[i] == nil {
            guard let file = job.file else { continue }
            do {
                let line: [UInt8]
                switch job.entry {
                case .result: line = try Journal.line(entries[i]!)
                case .attempt(let record): line = try Journal.line(record)
                case .barrier: continue
                }
                let (offset, written) = try file.write(line)
                try log.appendLine(journal: file.url.path, offset: offset, bytes: written)
            } catch {
                errors[i] = failure(error, file.url.path)
            }
        }
        // 3. The log once (nothing to do when nothing was logged); then, when due, its files
        // synced and the log started over. A failed compaction leaves the log whole (the group
        // is durable in it) and is tried again after the next group.
        var syncError: SleepfoldError?
        let start = BusyClock.now()
        do {
            if try log.sync() {
                stats.logSyncs += 1
                stats.logSeconds += BusyClock.now() - start
            }
        } catch {
            syncError = failure(error, log.url.path)
        }
        if syncError == nil && log.compactionDue {
            let compacting = BusyClock.now()
            do {
                try log.compact()
                stats.compactions += 1
                stats.compactionSeconds += BusyClock.now() - compacting
            } catch {
                stats.compactionFailure = "\(error)"
            }
        }
        statistics.withLock {
            $0.groups += stats.groups
            $0.checkpoints += stats.checkpoints
            $0.logSyncs += stats.logSyncs
            $0.compactions += stats.compactions
            $0.logSeconds += stats.logSeconds
            $0.compactionSeconds += stats.compactionSeconds
            if let failure = stats.compactionFailure { $0.compactionFailure = failure }
        }
        return group.enumerated().map { i, job in
            var isBarrier = false
            if case .barrier = job.entry { isBarrier = true }
            return Done(token: job.token, error: errors[i] ?? (job.file == nil ? nil : syncError), isBarrier: isBarrier)
        }
    }
}
