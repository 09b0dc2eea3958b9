import Foundation
import Synchronization
import Basics
import Recordings
import Shared

/// Checks and writes fold states off the coordinator loop's thread, in the order they
/// arrived, and makes them durable in groups. A state's digest, checks and writes take
/// milliseconds (more for a large model), and a thousand workers ending an epoch together
/// would otherwise hold up heartbeats and dispatch for seconds. The loop collects what is
/// written each turn (`finished()`) and acknowledges it then: an acknowledged state is on
/// disk.
///
/// A group is every state queued in `groupWindow` after its first: each is written into a
/// spare without a sync, one `syncfs` of their file systems makes them all durable, and only
/// then does each spare take its state's name (`FoldStateStore.install`), so a name always
/// holds a whole state. Why not an `fdatasync` per state: at 1,000 workers those were 6.5 %
/// of the coordinator's CPU, as it wrote each state's pages itself; a `syncfs` has the
/// kernel's flusher threads write them (Benchmarks/load/README.md, tenth session). No one
/// waits for a state's acknowledgement (a worker trains on), so the window costs nothing.
/// (Putting states through the results' write-ahead log was tried: the coordinator then
/// wrote each state twice, and its CPU did not fall.) Removals (`recycle`) go through the same
/// queue, so a fold's state written after its result never outlives the removal that
/// follows it.
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

    /// Seconds a group waits after its first state for more, before it is written and synced.
    public static let groupWindow = 0.25   // s

    public init() {}

    private let queue = DispatchQueue(label: "sleepfold.coordinator.states")
    private let state = Mutex(State())
    /// Files of finished folds' states, written into again (used on `queue` only).
    private let spares = Mutex(SpareStateFiles())

    private struct State: Sendable {
        var pending: [Operation] = []
        /// When the first of `pending` was queued (s, `BusyClock.now()`).
        var firstQueued = 0.0
        /// A drain is queued or running: it takes `pending` until it finds it empty.
        var draining = false
        var done: [Done] = []
        /// States written since the start.
        var written = 0
    }

    /// Checks the state (digest, framing, fingerprint, position) and writes it, later.
    public func write(_ job: Job) { enqueue(.write(job)) }

    /// Makes fold `fold`'s state files in `directory` spares (its result is on disk), after
    /// every write queued before.
    public func recycle(fold: Int, in directory: String) { enqueue(.recycle(fold: fold, directory: directory)) }

    private func enqueue(_ operation: Operation) {
        let start = state.withLock { s -> Bool in
            if s.pending.isEmpty { s.firstQueued = BusyClock.now() }
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
            // A group waits until its first operation is `groupWindow` old.
            let wait = state.withLock { s in s.pending.isEmpty ? 0 : s.firstQueued + Self.groupWindow - BusyClock.now() }
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
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

    /// Writes `group` in order: each state checked and written to a spare; their file
    /// systems synced once; then each state installed under its name and each removal done,
    /// in the group's order.
    private func writeAndSync(_ group: [Operation], spares: inout SpareStateFiles) -> [Done] {
        var prepared: [Result<FoldStateStore.Prepared, any Error>?] = group.map { operation in
            guard case .write(let job) = operation else { return nil }
            return Result { try Self.checkAndPrepare(job, spares: &spares) }
        }
        let directories = Set(group.compactMap { operation -> String? in
            guard case .write(let job) = operation else { return nil }
            return job.directory.path
        })
        do {
            try FileSystemSync.sync(directories.sorted())
        } catch {
            // Not durable: refused (not acknowledged), their spares handed back.
            for (i, operation) in group.enumerated() {
                guard case .write(let job) = operation, case .success(let p)? = prepared[i] else { continue }
                spares.keep(p.spare, in: job.directory.path)
                prepared[i] = .failure(error)
            }
        }
        var done: [Done] = []
        for (i, operation) in group.enumerated() {
            switch operation {
            case .write(let job):
                let outcome = prepared[i]!.flatMap { p in Result { try FoldStateStore.install(p, job.data, spares: &spares) } }
                done.append(Done(job: job, outcome: outcome, finished: BusyClock.now()))
            case .recycle(let fold, let directory):
                FoldStateStore.recycle(fold: fold, in: directory, spares: &spares)
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
