import Foundation
import Synchronization
import Basics
import Recordings
import Shared

/// Checks and writes fold states off the coordinator loop's thread, one at a time in
/// the order they arrived. A state's digest, checks and fsync take milliseconds (more
/// for a large model), and a thousand workers ending an epoch together would
/// otherwise hold up heartbeats and dispatch for seconds. The loop collects what is
/// written each turn (`finished()`) and acknowledges it then: an acknowledged state is
/// on disk. Removals (`recycle`) go through the same queue, so a fold's state written after
/// its result never outlives the removal that follows it.
final class StateWriter: Sendable {
    /// A whole state received from the holder of `task`'s attempt `attempt`.
    struct Job: Sendable {
        let task: Int
        let attempt: Int
        let routingID: [UInt8]
        let address: String
        /// The upload's header (its last chunk without the data).
        let header: Sleepfold_StateChunk
        let data: Data
        let fingerprint: String
        let directory: URL
        let fold: Int
        /// How logs and errors name it: "state of fold 3 from worker w1".
        let source: String
        /// When its first chunk and its last arrived (the loop's clock, s).
        let started: Double
        let received: Double
    }

    struct Done: Sendable {
        let job: Job
        let outcome: Result<FoldStateStore.Saved, any Error>
        /// When it was written (or refused), the loop's clock (s).
        let finished: Double
    }

    private let queue = DispatchQueue(label: "sleepfold.coordinator.states")
    private let done = Mutex<[Done]>([])
    /// Files of finished folds' states, written into again (used on `queue` only).
    private let spares = Mutex(SpareStateFiles())

    /// Checks the state (digest, framing, fingerprint, position) and writes it, later.
    func write(_ job: Job) {
        queue.async { [self] in
            let outcome = Result { try spares.withLock { try Self.checkAndWrite(job, spares: &$0) } }
            done.withLock { $0.append(Done(job: job, outcome: outcome, finished: BusyClock.now())) }
        }
    }

    /// Makes fold `fold`'s state files in `directory` spares (its result is on disk), after
    /// every write queued before.
    func recycle(fold: Int, in directory: String) {
        queue.async { [self] in spares.withLock { FoldStateStore.recycle(fold: fold, in: directory, spares: &$0) } }
    }

    /// Takes the spares left in `directories` by an earlier coordinator, before any write.
    func adoptSpares(in directories: [String]) {
        queue.sync { spares.withLock { $0.adopt(directories) } }
    }

    /// Deletes the spare files, after every write queued before (the run's end).
    func removeSpares() {
        queue.sync { spares.withLock { $0.removeAll() } }
    }

    /// What was written (or refused) since the last call, in order.
    func finished() -> [Done] {
        done.withLock { jobs in
            defer { jobs.removeAll() }
            return jobs
        }
    }

    /// Waits until every queued write and removal is done.
    func waitUntilIdle() { queue.sync {} }

    private static func checkAndWrite(_ job: Job, spares: inout SpareStateFiles) throws -> FoldStateStore.Saved {
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
        return try FoldStateStore.write(job.data, sha256: digest, state: state, fold: job.fold, in: job.directory,
                                        spares: &spares)
    }
}
