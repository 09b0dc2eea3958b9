import Foundation
import Synchronization
import Basics
import Recordings
import Shared

/// Checks and writes fold states off the coordinator loop's thread, in the order they
/// arrived, and makes them durable in groups through the coordinator's write-ahead log. A
/// state's digest, checks and writes take milliseconds (more for a large model), and a
/// thousand workers ending an epoch together would otherwise hold up heartbeats and dispatch
/// for seconds. The loop collects what is written each turn (`finished()`) and acknowledges
/// it then: an acknowledged state is on disk, under its name or in the log.
///
/// A group is every state queued while the one before was written: each is written into a
/// spare without a sync and appended to the log under the name it takes; one sync of the log
/// (shared with the `JournalWriter`'s) makes the group durable; then each spare takes its
/// name (`FoldStateStore.install`). A state thus takes its name only once it is durable in
/// the log, so a crash never leaves an older or torn state under it that the log cannot
/// put back. Removals (`recycle`) go through the same queue, so a fold's state written after
/// its result never outlives the removal that follows it; each leaves a removal record, so a
/// replay does not bring the state back.
public final class StateWriter: Sendable {
    /// A whole state received from the holder of `task`'s attempt `attempt`.
    public struct Job: Sendable {
        public let task: Int
        public let attempt: Int
        public let routingID: [UInt8]
        public let address: String
        /// The upload's header (its last chunk without the data).
        public let header: Sleepfold_StateChunk
        public let data: Data
        public let fingerprint: String
        public let directory: URL
        public let fold: Int
        /// How logs and errors name it: "state of fold 3 from worker w1".
        public let source: String
        /// When its first chunk and its last arrived (the loop's clock, s).
        public let started: Double
        public let received: Double

        public init(task: Int, attempt: Int, routingID: [UInt8], address: String, header: Sleepfold_StateChunk, data: Data,
                    fingerprint: String, directory: URL, fold: Int, source: String, started: Double, received: Double) {
            self.task = task
            self.attempt = attempt
            self.routingID = routingID
            self.address = address
            self.header = header
            self.data = data
            self.fingerprint = fingerprint
            self.directory = directory
            self.fold = fold
            self.source = source
            self.started = started
            self.received = received
        }
    }

    public struct Done: Sendable {
        public let job: Job
        public let outcome: Result<FoldStateStore.Saved, any Error>
        /// When it was written (or refused), the loop's clock (s).
        public let finished: Double
    }

    private enum Operation: Sendable {
        case write(Job)
        /// Fold `fold`'s states in `directory` are no longer needed.
        case recycle(fold: Int, directory: String)
    }

    /// Where every group is made durable: the coordinator's write-ahead log.
    public let log: WriteAheadLog

    public init(log: WriteAheadLog) {
        self.log = log
    }

    private let queue = DispatchQueue(label: "sleepfold.coordinator.states")
    private let state = Mutex(State())
    /// Files of finished folds' states, written into again (used on `queue` only).
    private let spares = Mutex(SpareStateFiles())

    private struct State: Sendable {
        var pending: [Operation] = []
        /// A drain is queued or running: it takes `pending` until it finds it empty.
        var draining = false
        var done: [Done] = []
        /// States written since the start (the coordinator logs it at the end).
        var written = 0
    }

    /// Checks the state (digest, framing, fingerprint, position) and writes it, later.
    public func write(_ job: Job) { enqueue(.write(job)) }

    /// Makes fold `fold`'s state files in `directory` spares (its result is on disk), after
    /// every write queued before.
    public func recycle(fold: Int, in directory: String) { enqueue(.recycle(fold: fold, directory: directory)) }

    private func enqueue(_ operation: Operation) {
        let start = state.withLock { s -> Bool in
            s.pending.append(operation)
            defer { s.draining = true }
            return !s.draining
        }
        if start { queue.async { [self] in drain() } }
    }

    /// Takes the spares left in `directories` by an earlier coordinator, before any write.
    public func adoptSpares(in directories: [String]) {
        queue.sync { spares.withLock { $0.adopt(directories) } }
    }

    /// Deletes the spare files, after every write queued before (the run's end).
    public func removeSpares() {
        waitUntilIdle()
        queue.sync { spares.withLock { $0.removeAll() } }
    }

    /// What was written (or refused) since the last call, in order.
    public func finished() -> [Done] {
        state.withLock { s in
            defer { s.done.removeAll() }
            return s.done
        }
    }

    /// States written so far.
    public var written: Int { state.withLock { $0.written } }

    /// Waits until every queued write and removal is done.
    public func waitUntilIdle() {
        while state.withLock({ $0.draining }) { queue.sync {} }
    }

    /// Writes groups until nothing is pending.
    private func drain() {
        while true {
            let group = state.withLock { s -> [Operation] in
                if s.pending.isEmpty { s.draining = false }
                defer { s.pending.removeAll() }
                return s.pending
            }
            if group.isEmpty { return }
            let finished = spares.withLock { writeAndSync(group, spares: &$0) }
            state.withLock { s in
                s.done += finished
                s.written += finished.count { if case .success = $0.outcome { true } else { false } }
            }
        }
    }

    /// Writes `group` in order: each state checked, written to a spare and logged; the log
    /// synced once; then each state installed under its name and each removal done (and
    /// logged, durable with the next sync), in the group's order.
    private func writeAndSync(_ group: [Operation], spares: inout SpareStateFiles) -> [Done] {
        var prepared: [Result<FoldStateStore.Prepared, any Error>?] = group.map { operation in
            guard case .write(let job) = operation else { return nil }
            return Result {
                let prepared = try Self.checkAndPrepare(job, spares: &spares)
                do {
                    try log.appendState(path: prepared.path, bytes: job.data)
                } catch {
                    spares.keep(prepared.spare, in: job.directory.path)
                    throw error
                }
                return prepared
            }
        }
        do {
            try log.sync()
        } catch {
            // Not durable: refused (not acknowledged), their spares handed back.
            for (i, operation) in group.enumerated() {
                guard case .write(let job) = operation, case .success(let p)? = prepared[i] else { continue }
                spares.keep(p.spare, in: job.directory.path)
                prepared[i] = .failure(error)
            }
        }
        _ = log.compactIfDue()
        var done: [Done] = []
        for (i, operation) in group.enumerated() {
            switch operation {
            case .write(let job):
                let outcome = prepared[i]!.flatMap { p in Result { try FoldStateStore.install(p, job.data, spares: &spares) } }
                done.append(Done(job: job, outcome: outcome, finished: BusyClock.now()))
            case .recycle(let fold, let directory):
                FoldStateStore.recycle(fold: fold, in: directory, spares: &spares)
                // Not synced: a replay that misses it leaves a state file of a fold that is done (never read).
                try? log.appendRemoval(path: FoldStateStore.statePath(fold, in: directory))
            }
        }
        return done
    }

    private static func checkAndPrepare(_ job: Job, spares: inout SpareStateFiles) throws -> FoldStateStore.Prepared {
        let digest = SHA256.hexDigest(job.data)
        guard digest == job.header.sha256 else {
            throw SleepfoldError(.invalidFoldState, file: job.source, field: "sha256",
                                 found: "\(digest.prefix(12))…", expected: "\(job.header.sha256.prefix(12))… as announced")
        }
        // The bytes are whole as sent (the digest above): `data_sha256` is checked when a
        // restarted coordinator reads the file back, and by the trainer that resumes it.
        let state = try FoldStateFile(job.data, fingerprint: job.fingerprint, source: job.source, checkDigest: false)
        guard state.epochsCompleted == Int(job.header.epochsCompleted), state.nextBatch == Int(job.header.nextBatch) else {
            throw SleepfoldError(.invalidFoldState, file: job.source, field: "epochs_completed, next_batch",
                                 found: "\(job.header.epochsCompleted), \(job.header.nextBatch) announced",
                                 expected: "the file's \(state.epochsCompleted), \(state.nextBatch)")
        }
        return try FoldStateStore.prepare(job.data, sha256: digest, state: state, fold: job.fold, in: job.directory,
                                          spares: &spares, durable: false)
    }
}
