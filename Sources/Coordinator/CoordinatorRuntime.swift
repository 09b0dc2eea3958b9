import Foundation
import Basics
import Recordings
import Shared

/// The coordinator: binds a ROUTER socket, hands folds to workers (longest
/// first), watches their heartbeats, re-queues the folds of dead workers,
/// journals each result before acknowledging it, serves recordings to workers
/// without shared storage, and stops the workers when every fold is done.
///
/// It serves one run (`sleepfold run`, `coordinator`) or several at once (a
/// study: arms × seeds). Each run keeps its own plan, journal and checkpoints;
/// their folds form one queue, so no worker idles while any run has a fold
/// queued. A task is a (run, fold) pair, numbered across runs: run 0's folds
/// first, then run 1's, and so on; messages name the run by its id.
///
/// Modelled on the ZeroMQ Guide's Paranoid Pirate queue and Majordomo broker:
/// poll, handle each message by its command, send heartbeats when due, purge
/// expired workers, hand queued folds to idle workers.
///
/// Folds survive lost workers (docs/fold-state.md): the holder of a fold uploads
/// its state after every epoch (and mid-epoch when it is told to stop); the
/// newest is kept under the run directory, and a fold sent out again carries it,
/// so the next worker continues there. Attempts that end without a result are
/// journalled with the batches they trained.
public final class CoordinatorRuntime {
    public static let heartbeatInterval = 1.0        // s
    public static let liveness = 3                   // silent intervals before a worker is dead
    public static let maxAttempts = 3                // failures of one fold before the run gives it up
    static let pollInterval = heartbeatInterval / 4  // s, longest wait for a message
    /// s, longest wait for a message while the journal writer has results in flight: they
    /// are acknowledged on the next turn, not after a quarter second of quiet. Since protocol
    /// 4 no next task waits for an acknowledgement, so 5 ms (not 1 ms: a thousand polls a
    /// second while the writer is rarely idle). (States are acknowledged with the next
    /// message or poll: no one waits.)
    static let busyPollInterval = 0.005
    static let maxChunk: UInt64 = 4 << 20            // bytes, largest data chunk served
    static let maxMessagesPerTurn = 256              // messages handled between two heartbeat/dispatch turns
    static let refusalBackoff = 10.0                 // s without tasks for a worker that refused one
    static let maxStateBytes: UInt64 = 1 << 30       // bytes, largest fold state accepted
    /// Connections the ROUTER's listening socket queues before accepting them
    /// (ZMQ_BACKLOG; libzmq's default is 100, the kernel caps it at
    /// net.core.somaxconn): a thousand workers starting together overflowed 100,
    /// and only SYN cookies let them in (Benchmarks/load/README.md, limits).
    static let listenBacklog: Int32 = 4096
    /// Seconds a stopping coordinator (`requestStop`) waits for its running folds' states:
    /// above the worker's own `stopGrace`, so a worker that saves its state in time is heard.
    public static let stopGrace = 75.0

    public struct Options: Sendable {
        public var bind: String
        /// CURVE: the coordinator's key pair and the admitted worker public keys.
        public var curve: (keys: CurveKeyPair, allowedWorkers: [String])?
        /// Messages larger than this are logged and dropped (bytes).
        public var maxMessageBytes: Int
        /// When a fold is stuck: no epoch for a multiple of the median epoch time (see `FoldDeadlines`).
        public var deadlines: FoldDeadlines
        /// The id a worker is welcomed with: the run's, or the study's when serving several runs.
        public var welcomeID: String?

        public init(bind: String, curve: (keys: CurveKeyPair, allowedWorkers: [String])? = nil,
                    maxMessageBytes: Int = 256 << 20, deadlines: FoldDeadlines = FoldDeadlines(),
                    welcomeID: String? = nil) {
            self.bind = bind
            self.curve = curve
            self.maxMessageBytes = maxMessageBytes
            self.deadlines = deadlines
            self.welcomeID = welcomeID
        }
    }

    /// One run the coordinator serves: its plan, where its journal and
    /// checkpoints go, and a label for logs and the live view (e.g. "ex1/seed-0").
    public struct Run: Sendable {
        public let plan: RunPlan
        public let journalURL: URL
        public let checkpointDirectory: URL
        public let label: String
        /// Where the run's unfinished folds keep their newest states: `states/` beside the journal.
        public var stateDirectory: URL { journalURL.deletingLastPathComponent().appendingPathComponent("states") }

        public init(plan: RunPlan, journalURL: URL, checkpointDirectory: URL, label: String = "") {
            self.plan = plan
            self.journalURL = journalURL
            self.checkpointDirectory = checkpointDirectory
            self.label = label
        }
    }

    /// What the runs ended with, one entry per run in `runs` order: every fold's
    /// result (from this session or the journal), the folds given up after
    /// `maxAttempts` failures (with the last failure's message); and the
    /// coordinator's own work and timing.
    public struct Outcome {
        public let results: [[Int: Sleepfold_FoldResult]]
        public let failedFolds: [[Int: String]]
        public let busy: Busy
        public let timing: Timing
        /// Stopped by `requestStop` before every fold was done.
        public let interrupted: Bool
    }

    /// When this session's work happened, for a study's utilisation (makespan
    /// against the LPT lower bound).
    public struct Timing: Sendable {
        /// Seconds from the first task sent to the last result journalled in this
        /// session; nil when no result was accepted in it.
        public var makespan: Double?
        /// Training seconds (the workers' `train_seconds`) of each result accepted in this session.
        public var taskSeconds: [Double] = []
        /// Most workers connected at once.
        public var peakWorkers = 0
    }

    /// Wall time (s) the coordinator's loop spent on its own work, by kind:
    /// what a big cohort could slow down (waiting for messages is not counted).
    public struct Busy: Sendable {
        /// Building and sending fold tasks (every task lists the fold's recordings).
        public var tasks = 0.0
        /// Checking, checkpointing and journalling fold results.
        public var results = 0.0
        /// Serving recording chunks to workers without the data.
        public var data = 0.0
        /// Everything else: hellos, heartbeats, progress, the live view.
        public var other = 0.0
        /// Results accepted in this run (journalled folds from an earlier run excluded).
        public var foldsAccepted = 0
    }

    /// A decoded message and the worker (ROUTER routing id) it came from.
    private struct Message {
        let routingID: [UInt8]
        let address: String
        let envelope: Sleepfold_Envelope
        /// When the loop read it off the socket (s, `BusyClock.now()`).
        let received: Double
    }

    public let runs: [Run]
    private let options: Options
    private let log: (String) -> Void
    private let context: ZMQContext
    private let router: ZMQSocket
    private let zap: ZAPAuthenticator?
    private let journals: [Journal]
    private let journalledAtStart: Int
    /// Tasks in queue order: task t is fold `tasks[t].fold` of run `tasks[t].run`.
    private let tasks: [(run: Int, fold: Int)]
    /// The first task of each run: task = `firstTask[run] + fold`.
    private let firstTask: [Int]
    private let runIndex: [String: Int]
    /// Recording id → file, over all runs (what `serve` may read).
    private let files: [String: URL]
    private var queue: FoldQueue
    private var registry = WorkerRegistry(heartbeatInterval: heartbeatInterval, liveness: liveness)
    private var nextHeartbeat = 0.0
    private var deadlines: FoldDeadlines
    private let view: ProgressView
    private let clock = BusyClock()
    private var firstTaskSent: Double?
    private var timing = Timing()
    /// Workers that may be free for a task. Every idle worker is in it (added when a
    /// message of its leaves it registered, without a fold and not busy by its own
    /// account); dispatch drops those it finds busy or gone. So a turn of the loop looks
    /// at the workers that changed, not at all of them.
    private var mayBeIdle = Set<String>()
    /// Writes results' checkpoints and journal lines, and ended attempts, off the loop's
    /// thread; a result is acknowledged once it comes back from there synced.
    private let journalWriter: JournalWriter
    /// Results of each worker being journalled, not yet acknowledged. The worker's next task
    /// does not wait for them (protocol 4: it keeps them until acknowledged), but a worker
    /// with `Wire.maxUnacknowledgedResults` of them gets none until one is.
    private var awaitingAck: [String: Int] = [:]
    /// Seconds the journals took to read at start.
    private let journalSeconds: Double
    /// When the loop read each worker's last result, until the worker's next task is sent:
    /// issue 17's dispatch latency (result received → next task sent), timed inside the
    /// coordinator (the load benchmark's workers time it with the network and their own turn).
    private var resultRead: [String: Double] = [:]
    private var dispatchLatency = LatencyHistogram()
    /// How long each result waited in the loop's turn: from the poll that found messages to
    /// its read (the messages read before it). The part of the way in the coordinator sees.
    private var resultWaitInTurn = LatencyHistogram()
    /// When the turn's poll returned (s, `BusyClock.now()`).
    private var turnPolled = 0.0

    // Fold states and the work of attempts.
    private let stateStores: [FoldStateStore]
    /// Each run's `states/` directory, as a path (built once: URLs cost per result).
    private let stateDirectoryPaths: [String]
    /// Checks and writes whole states off the loop's thread; acknowledged when written.
    private let stateWriter = StateWriter()
    /// States being received, by task: from the holder, the bytes so far.
    private var uploads: [Int: StateUpload] = [:]
    /// States being served to workers: ref id → file.
    private var stateFiles: [String: URL] = [:]
    /// The running attempt's batches trained so far and batches per epoch, by task.
    private var attemptWork: [Int: (batches: Int, perEpoch: Int)] = [:]
    /// Attempts that ended without a result, by task: the highest attempt number and their batches.
    private var endedWork: [Int: (attempts: Int, batches: Int)] = [:]
    /// Where a running attempt resumed, by task: its state's position.
    private var resumedFrom: [Int: FoldStateStore.Saved] = [:]
    /// Set from any thread (a signal handler) to ask for a clean stop, as `requestStop()`.
    public let stopRequest = StopFlag()
    private var stopDeadline: Double?

    private struct StateUpload {
        let address: String
        let header: Sleepfold_StateChunk
        var data: Data
        /// When its first chunk arrived.
        let started: Double
    }

    /// The endpoint actually bound (with the real port when binding port `*`).
    public let endpoint: String

    /// A coordinator for one run.
    public convenience init(plan: RunPlan, journalURL: URL, checkpointDirectory: URL, options: Options,
                            view: ProgressView, log: @escaping (String) -> Void) throws {
        try self.init(runs: [Run(plan: plan, journalURL: journalURL, checkpointDirectory: checkpointDirectory)],
                      writeAheadLog: journalURL.deletingLastPathComponent().appendingPathComponent("journal.wal"),
                      options: options, view: view, log: log)
    }

    /// A coordinator for `runs` (at least one, distinct run ids), their folds in one queue,
    /// their results made durable through the write-ahead log at `writeAheadLog` (replayed
    /// first, when a coordinator before this one left it: docs/durability.md).
    public init(runs: [Run], writeAheadLog: URL, options: Options, view: ProgressView,
                log: @escaping (String) -> Void) throws {
        precondition(!runs.isEmpty, "a coordinator serves at least one run")
        self.runs = runs
        self.options = options
        self.log = log
        self.view = view
        deadlines = options.deadlines
        context = try ZMQContext()
        if let curve = options.curve {
            zap = try ZAPAuthenticator(context: context, allowedKeys: curve.allowedWorkers)
        } else {
            zap = nil
        }
        router = try ZMQSocket(context, .router); try router.setMaxMessageSize(options.maxMessageBytes)
        if let curve = options.curve { try router.makeCurveServer(secretKey: curve.keys.secretKey) }
        try router.setListenBacklog(Self.listenBacklog)
        try router.bind(options.bind)
        endpoint = try router.lastEndpoint
        var runIndex: [String: Int] = [:], tasks: [(run: Int, fold: Int)] = [], firstTask: [Int] = []
        var files: [String: URL] = [:], journals: [Journal] = [], done = Set<Int>(), cost: [Int] = []
        var stores: [FoldStateStore] = [], attemptsSoFar: [Int: Int] = [:], endedWork: [Int: (attempts: Int, batches: Int)] = [:]
        var journalSeconds = 0.0
        let replay = try WriteAheadLog.recover(url: writeAheadLog)
        if replay.records > 0 {
            log("\(writeAheadLog.path): replayed \(replay.records) records; put back " +
                "\(replay.checkpointsRestored) checkpoints and \(replay.linesRestored) journal lines" +
                (replay.journalBytesCut > 0 ? " (cut \(replay.journalBytesCut) bytes of lines never acknowledged)" : ""))
        }
        for (r, run) in runs.enumerated() {
            guard runIndex.updateValue(r, forKey: run.plan.runID) == nil else {
                throw SleepfoldError(.invalidRunPlan, file: run.journalURL.path, field: "runID", found: "\"\(run.plan.runID)\" twice",
                                     expected: "one run id per run served (the same run listed twice?)")
            }
            firstTask.append(tasks.count)
            for directory in [run.journalURL.deletingLastPathComponent(), run.checkpointDirectory] {
                try fileAccess(directory.path, cannot: "create the run directory") {
                    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                }
            }
            let reading = BusyClock.now()
            // Results are not held (they would grow with the run): read back at the end.
            let journal = try Journal(url: run.journalURL, runID: run.plan.runID, holdsResults: false) { [plan = run.plan] in
                try plan.validate($0, checkpoint: false)
            }
            journalSeconds += BusyClock.now() - reading
            for w in journal.warnings { log(w) }
            for fold in journal.doneFolds { done.insert(tasks.count + fold) }
            for (fold, records) in journal.endedAttempts where !journal.doneFolds.contains(fold) {
                let n = records.map { Int($0.attempt) }.max() ?? 0
                attemptsSoFar[tasks.count + fold] = n
                endedWork[tasks.count + fold] = (n, records.reduce(0) { $0 + Int($1.batchesTrained) })
            }
            var unfinished: [Int: String] = [:]
            for fold in run.plan.folds.indices where !journal.doneFolds.contains(fold) {
                unfinished[fold] = run.plan.stateFingerprint(fold: fold)
            }
            let store = FoldStateStore(directory: run.stateDirectory, folds: unfinished, warn: log)
            for (fold, saved) in store.newest.sorted(by: { $0.key < $1.key }) {
                log("\(run.label.isEmpty ? "" : run.label + " ")fold \(fold): continues from its saved state \(saved.position)")
            }
            stores.append(store)
            for (fold, f) in run.plan.folds.enumerated() {
                tasks.append((r, fold))
                cost.append(f.cost)
            }
            files.merge(run.plan.files) { first, _ in first }
            journals.append(journal)
        }
        self.runIndex = runIndex
        self.tasks = tasks
        self.firstTask = firstTask
        self.files = files
        self.journals = journals
        journalledAtStart = journals.reduce(0) { $0 + $1.doneFolds.count }
        self.journalSeconds = journalSeconds
        stateStores = stores
        stateDirectoryPaths = stores.map { $0.directory.path }
        stateWriter.adoptSpares(in: stateDirectoryPaths)
        journalWriter = JournalWriter(log: try WriteAheadLog(url: writeAheadLog))
        self.endedWork = endedWork
        queue = FoldQueue(cost: cost, done: done, maxAttempts: Self.maxAttempts, attemptsSoFar: attemptsSoFar)
        zap?.onDecision = { key, admitted in
            if !admitted { log("refused a worker with public key \(key): not in the admitted keys") }
        }
    }

    /// Asks the coordinator to stop (Ctrl-C on `run` or `study`; safe from any thread):
    /// no more tasks go out, and `run()` returns once no fold is running (their
    /// workers, told to stop as well, hand back their states) or after `stopGrace`.
    public func requestStop() { stopRequest.set() }

    /// Runs until every fold is done or given up, or a stop request; then tells workers to stop.
    public func run() throws -> Outcome {
        if queue.doneCount > 0 {
            log(String(format: "journal: %d of %d folds already done (journals read in %.2f s)", queue.doneCount, tasks.count, journalSeconds))
        }
        view.update(snapshot())
        let poller = ZMQPoller(zap.map { [router, $0.socket] } ?? [router])
        var interrupted = false
        while !queue.isFinished {
            if stopRequest.isSet {
                if stopDeadline == nil {
                    stopDeadline = now() + Self.stopGrace
                    log("stopping: no more tasks; waiting up to \(Int(Self.stopGrace)) s for the \(queue.runningCount) running folds' states")
                }
                if queue.runningCount == 0 || now() > stopDeadline! {
                    interrupted = true
                    break
                }
            }
            let ready = try poller.poll(timeout: journalWriter.isBusy ? Self.busyPollInterval : Self.pollInterval)
            turnPolled = now()
            if ready.count > 1 && ready[1] { try zap?.answerPending() }
            let drained = ready[0] ? try receiveMessages() : true
            try clock.time(.results) { try collectJournalled(); try collectWrittenStates() }
            clock.time(.other) { sendHeartbeatsIfDue() }
            // A worker is dead when it is silent, not when its heartbeat waits unread in our
            // own queue: purge only once everything that arrived is read.
            if drained { clock.time(.other) { purgeExpiredWorkers() } }
            if stopDeadline == nil { try clock.time(.tasks) { try dispatchToIdleWorkers() } }
            clock.time(.other) { view.update(snapshot()) }
        }
        journalWriter.waitUntilIdle()
        try collectJournalled()
        if let summary = dispatchLatency.summary {
            // Benchmarks/load reads it (goal: p99 < 10 ms at 1,000 workers).
            log("dispatch latency (result read → next task sent): \(dispatchLatency.count) tasks, \(summary)")
        }
        if let summary = resultWaitInTurn.summary {
            log("results read after their turn's poll: \(resultWaitInTurn.count) results, \(summary)")
        }
        // The results' files made durable and the write-ahead log deleted; a log that cannot
        // be is kept (its records are durable) and replayed by the next coordinator.
        do { try journalWriter.log.close() } catch { log("\(error); kept for the next start") }
        let w = journalWriter.stats
        if w.groups > 0 {
            // What durability cost this session (Benchmarks/load reads it).
            log("journal writer: \(w.groups) groups, \(w.checkpoints) checkpoints; fdatasync of the write-ahead log " +
                "\(w.logSyncs)× \(LogNumber.fixed(w.logSeconds, places: 2)) s, \(w.compactions) compactions (syncfs) " +
                "\(LogNumber.fixed(w.compactionSeconds, places: 2)) s")
            if let failure = w.compactionFailure { log("journal writer: a compaction failed (\(failure)); its log kept its records") }
        }
        stateWriter.waitUntilIdle()
        try collectWrittenStates()
        // Spares are kept for states still to come; a coordinator that ends has none to write.
        stateWriter.removeSpares()
        if !interrupted {
            for w in registry.workers.values { try? router.send(.stop(reason: "all folds done"), to: w.routingID) }
        }
        view.finish(snapshot())
        var busy = clock.busy
        busy.foldsAccepted = journals.reduce(0) { $0 + $1.doneFolds.count } - journalledAtStart
        var failed = [[Int: String]](repeating: [:], count: runs.count)
        for (task, reason) in queue.givenUp { failed[tasks[task].run][tasks[task].fold] = reason }
        // The results, read back from the journals rather than held through the run.
        let results = try runs.map { run in
            try Journal.readResults(url: run.journalURL, runID: run.plan.runID) { [plan = run.plan] in
                try plan.validate($0, checkpoint: false)
            }
        }
        return Outcome(results: results, failedFolds: failed, busy: busy, timing: timing, interrupted: interrupted)
    }

    // MARK: - The loop's steps

    /// Handles what has arrived, at most `maxMessagesPerTurn` messages: a worker
    /// flooding the socket must not starve heartbeats and dispatch. True when it read
    /// everything that had arrived.
    private func receiveMessages() throws -> Bool {
        var drained = false
        for _ in 0..<Self.maxMessagesPerTurn {
            // Results on disk are acknowledged, and their workers get their next folds, at
            // once: not after hundreds of other messages.
            guard !journalWriter.hasFinished else { break }
            guard let frames = try router.receive(wait: false) else { drained = true; break }
            let received = now()
            try clock.time {
                guard let message = decode(frames, received: received) else { return .other }
                try handle(message)
                noteMayBeIdle(message.address)
                return BusyClock.Kind(message.envelope.body)
            }
        }
        return drained
    }

    /// Acknowledges the results the `JournalWriter` has written and synced since the last
    /// turn (whatever is acknowledged is on disk), in the order they came; their workers
    /// may have their next folds. A result that could not be written stops the coordinator
    /// (as a failed write on the loop did): it is not acknowledged, and its worker sends it
    /// again to the restarted coordinator.
    private func collectJournalled() throws {
        for done in journalWriter.finished() {
            let token = done.token
            guard let result = token.result else {
                if let error = done.error {
                    log("\(token.address) not journalled (\(error)); its work is left out of epochs_trained")
                }
                continue
            }
            if let error = done.error { throw error }
            // The fold's states are no longer needed once its result is on disk (not before:
            // a coordinator killed meanwhile resumes the fold from them).
            if !done.isBarrier, let run = runIndex[result.runID] {
                let fold = Int(result.fold)
                stateWriter.recycle(fold: fold, in: stateDirectoryPaths[run])
                if let start = firstTaskSent { timing.makespan = now() - start }
                log("\(describe(firstTask[run] + fold)) done by \(name(of: token.address)) (attempt \(result.attempt), \(Int(result.trainSeconds)) s)")
            }
            try router.send(.ack(result), to: token.routingID)
            registry.noteSent(token.address, now: now())
            if let n = awaitingAck[token.address], n > 1 { awaitingAck[token.address] = n - 1 } else { awaitingAck[token.address] = nil }
            noteMayBeIdle(token.address)
        }
    }

    /// Adds the worker to `mayBeIdle` when it is registered, holds no fold, is not busy by
    /// its own account and may hold another unacknowledged result (one at the limit joins
    /// once acknowledged).
    private func noteMayBeIdle(_ address: String) {
        if let w = registry.workers[address], w.busyWith == nil, queue.fold(of: address) == nil, mayHoldAnotherResult(address) {
            mayBeIdle.insert(address)
        }
    }

    /// Whether a task for the worker keeps it within `Wire.maxUnacknowledgedResults` (its
    /// result would be one more it holds until acknowledged).
    private func mayHoldAnotherResult(_ address: String) -> Bool {
        (awaitingAck[address] ?? 0) < Wire.maxUnacknowledgedResults
    }

    /// Heartbeats to the workers we sent nothing else in the last interval (the ZeroMQ
    /// Guide's rule: any message tells a worker we are alive). A worker hears from us at
    /// least every two intervals, within its liveness of three.
    private func sendHeartbeatsIfDue() {
        let t = now()
        guard t >= nextHeartbeat else { return }
        nextHeartbeat = t + Self.heartbeatInterval
        // One heartbeat serialized for every worker.
        if let frames = try? Wire.frames(.heartbeat()) {
            for w in registry.heartbeatsDue(now: t) {
                try? router.send([w.routingID] + frames)
                registry.noteSent(w.address, now: t)
            }
        }
        stopStuckFolds()
    }

    /// Queues again the folds whose holders heartbeat but report no epoch in time
    /// (`FoldDeadlines`); the stuck worker is told to stop and forgotten. Counts as
    /// a failure of the fold. Checked once per heartbeat interval.
    private func stopStuckFolds() {
        for task in deadlines.expired(now: now()) {
            deadlines.ended(fold: task)
            guard case .running(let address, _) = queue.states[task] else { continue }
            let message = String(format: "no epoch within %.0f s (%.0f × the median epoch time, at least %.0f s; %.0f s for the first)",
                                 deadlines.stallLimit, deadlines.multiple, deadlines.floor, deadlines.firstEpochAllowance)
            if let worker = registry.workers[address] {
                try? router.send(.stop(reason: "\(describe(task)) stuck: \(message)"), to: worker.routingID)
            }
            workerFailed(address, task: task, message: "stuck: \(message)", ended: "stuck")
            forget(address)
        }
    }

    /// Removes a worker from the registry, with its pending dispatch timing.
    private func forget(_ address: String) {
        registry.remove(address)
        resultRead[address] = nil
    }

    /// Forgets workers silent for `liveness` heartbeats and queues their folds again.
    private func purgeExpiredWorkers() {
        for dead in registry.purgeExpired(now: now()) {
            resultRead[dead.address] = nil
            if let task = queue.fold(of: dead.address) { endAttempt(task, ended: "dead") }
            let requeued = queue.requeue(worker: dead.address)
            for task in requeued { deadlines.ended(fold: task) }
            log("worker \(dead.hello.workerID) silent for \(Self.liveness) heartbeats: declared dead" +
                (requeued.isEmpty ? "" : "; \(requeued.map(describe).joined(separator: ", ")) queued again"))
        }
    }

    /// Hands the longest queued folds to idle workers, in address order. Looks only at
    /// `mayBeIdle`: a worker found busy or gone leaves it, one backing off stays.
    private func dispatchToIdleWorkers() throws {
        guard queue.queuedCount > 0, !mayBeIdle.isEmpty else { return }
        let t = now()
        for address in mayBeIdle.sorted() {
            guard queue.queuedCount > 0 else { return }
            try dispatch(to: address, now: t)
        }
    }

    /// Hands the longest queued fold to the worker at `address` if it may take one; it
    /// leaves `mayBeIdle` when it gets one, or when it turns out busy or gone.
    private func dispatch(to address: String, now t: Double) throws {
        guard let worker = registry.workers[address], worker.busyWith == nil, queue.fold(of: address) == nil else {
            mayBeIdle.remove(address)
            if registry.workers[address] == nil { resultRead[address] = nil }
            return
        }
        guard registry.mayTakeTask(address, now: t), mayHoldAnotherResult(address),
              let (task, attempt) = queue.take(for: address) else { return }
        mayBeIdle.remove(address)
        deadlines.started(fold: task, now: t)
        let (run, fold) = tasks[task]
        var message = runs[run].plan.task(fold: fold, attempt: attempt)
        var from = ""
        if let saved = stateStores[run].newest[fold] {
            message.resumeState = saved.ref
            stateFiles[saved.ref.id] = saved.url
            resumedFrom[task] = saved
            from = ", from its state \(saved.position)"
        }
        try router.send(.task(message), to: worker.routingID)
        var after = ""
        if let read = resultRead.removeValue(forKey: address) {
            let seconds = now() - read
            dispatchLatency.record(seconds)
            after = ", \(LogNumber.fixed(1000 * seconds, places: 3)) ms after its result"
        }
        registry.noteSent(address, now: t)
        if firstTaskSent == nil { firstTaskSent = t }
        log("\(describe(task)) (attempt \(attempt)\(from)) → \(worker.hello.workerID)\(after)")
    }

    // MARK: - Messages

    /// Decodes `frames` (routing id, version, envelope); nil when the message is
    /// dropped: too large, or not of this protocol. A worker speaking another
    /// version is told so and forgotten.
    private func decode(_ frames: [[UInt8]], received: Double) -> Message? {
        guard frames.count >= 2 else { return nil }
        let routingID = frames[0]
        let address = WorkerRegistry.address(of: routingID)
        let size = frames.reduce(0) { $0 + $1.count }
        guard size <= options.maxMessageBytes else {
            log("dropped an oversized message from \(address): \(size) bytes, limit \(options.maxMessageBytes)")
            return nil
        }
        do {
            return Message(routingID: routingID, address: address, envelope: try Wire.decode(Array(frames.dropFirst())),
                           received: received)
        } catch {
            log("dropped a message from \(address): \(error)")
            if error.code == .badVersion {
                let speaks = String(decoding: Wire.versionFrame, as: UTF8.self)
                try? router.send(.error(.versionMismatch, "coordinator speaks \(speaks): \(error)"), to: routingID)
                forget(address)
            }
            return nil
        }
    }

    /// Handles one message by its command. A worker says hello before anything else.
    private func handle(_ message: Message) throws {
        let address = message.address
        if case .hello(let hello) = message.envelope.body {
            _ = registry.register(routingID: message.routingID, hello: hello, now: now())
            timing.peakWorkers = max(timing.peakWorkers, registry.workers.count)
            log("worker \(hello.workerID) joined (\(hello.host), \(hello.cores) cores, \(hello.threads) threads, sleepfold \(hello.softwareVersion))")
            try router.send(.welcome(runID: options.welcomeID ?? runs[0].plan.runID,
                                     heartbeatInterval: Self.heartbeatInterval, liveness: Self.liveness),
                            to: message.routingID)
            registry.noteSent(address, now: now())
            return
        }
        guard registry.touch(address, now: now()) else {
            // E.g. a worker's old connection after a coordinator restart: ask it to say hello.
            log("dropped a message from \(address): it has not said hello")
            try? router.send(.error(.unexpectedMessage, "unknown worker: say hello first"), to: message.routingID)
            return
        }
        switch message.envelope.body {
        case .heartbeat(let hb):
            // What the worker trains: no task for it meanwhile (even a fold of a run we
            // do not serve). A fold of ours we don't know it has (we restarted) is adopted.
            let task = hb.fold >= 0 ? self.task(run: hb.runID, fold: UInt32(hb.fold)) : nil
            registry.setBusy(address, with: hb.fold >= 0 ? (task ?? -1) : nil)
            if let task, queue.adopt(fold: task, attempt: Int(hb.attempt), worker: address) {
                deadlines.started(fold: task, now: now())
                log("\(describe(task)) (attempt \(hb.attempt)) adopted: \(name(of: address)) is training it")
            }
            if let task, queue.holds(worker: address, fold: task, attempt: Int(hb.attempt)) {
                noteWork(task, batches: hb.batchesTrained, perEpoch: hb.batchesPerEpoch)
            }
        case .progress(let p):
            // Only the holder's progress counts (and moves the fold's deadline).
            guard let task = task(run: p.runID, fold: p.fold),
                  queue.holds(worker: address, fold: task, attempt: Int(p.attempt)) else {
                log("dropped progress of fold \(p.fold) (attempt \(p.attempt)) from \(name(of: address)): not its fold")
                return
            }
            deadlines.progressed(fold: task, epochSeconds: p.epochSeconds, now: now())
            registry.setProgress(address, p)
            if !view.isInteractive {
                log("\(describe(task)) epoch \(p.epoch)/\(p.epochs): loss \(LogNumber.fixed(p.trainLoss, places: 4)), " +
                    "validation macro-F1 \(LogNumber.fixed(p.validationMacroF1, places: 3))")
            }
        case .foldResult(let result):
            resultWaitInTurn.record(message.received - turnPolled)
            try accept(result, from: message)
        case .dataRequest(let request):
            try serve(request, to: message.routingID)
        case .stateChunk(let chunk):
            try receive(chunk, from: message)
        case .error(let report) where report.code == .preempted:
            // The worker was told to stop (SIGTERM) and has handed back the fold's state: not a failure.
            if report.fold >= 0, let task = task(run: report.runID, fold: UInt32(report.fold)), queue.fold(of: address) == task {
                endAttempt(task, ended: "preempted")
                queue.requeue(worker: address)
                deadlines.ended(fold: task)
                let (run, fold) = tasks[task]
                let from = stateStores[run].newest[fold].map { "from its state \($0.position)" } ?? "from epoch 1"
                log("\(describe(task)) queued again, \(from): \(name(of: address)) stopped (\(report.message))")
            } else {
                log("worker \(name(of: address)) stopped: \(report.message)")
            }
            // It is leaving: no task for it.
            forget(address)
        case .error(let report) where report.code == .unexpectedMessage:
            // The worker was busy (it had a fold we did not know about): not a failure.
            if report.fold >= 0, let task = task(run: report.runID, fold: UInt32(report.fold)), queue.fold(of: address) == task {
                endAttempt(task, ended: "refused")
                queue.requeue(worker: address)
                deadlines.ended(fold: task)
                registry.backOff(address, until: now() + Self.refusalBackoff)
                log("\(describe(task)) queued again: \(name(of: address)) is \(report.message); no task for it for \(Int(Self.refusalBackoff)) s")
            }
        case .error(let report):
            guard report.fold >= 0, let task = task(run: report.runID, fold: UInt32(report.fold)) else {
                log("worker \(name(of: address)) reports: \(report.message)")
                return
            }
            workerFailed(address, task: task, message: report.message)
        default:
            log("dropped an unexpected message from worker \(address)")
        }
    }

    /// Journals a sound result (checkpoint and journal line first, then the
    /// acknowledgement: whatever was acknowledged is on disk); a fold already
    /// journalled is acknowledged again. A result is sound when it passes the
    /// plan's checks and comes from the worker holding the fold's current attempt
    /// (a queued fold is adopted first, as from a heartbeat: a worker's result may
    /// reach a restarted coordinator before anything else). An unsound result is
    /// logged and dropped: not acknowledged, and not a failure of the fold.
    private func accept(_ result: Sleepfold_FoldResult, from message: Message) throws {
        let address = message.address
        /// Logged, and the worker told: it will never be journalled here, so the worker
        /// forgets it rather than hold it (and a place among its unacknowledged results).
        func reject(_ why: String) throws {
            log("rejected the result of \(why)")
            try router.send(.error(.resultRejected, runID: result.runID, fold: Int32(result.fold), "result rejected: \(why)"),
                            to: message.routingID)
        }
        guard let run = runIndex[result.runID] else {
            try reject("fold \(result.fold) from \(name(of: address)): run id \"\(result.runID)\" is not a run served here")
            return
        }
        do {
            try runs[run].plan.validate(result)
        } catch {
            try reject("fold \(result.fold) from \(name(of: address)): \(error)")
            return
        }
        let fold = Int(result.fold), task = firstTask[run] + fold
        if journals[run].doneFolds.contains(fold) {
            log("\(describe(task)): duplicate result (attempt \(result.attempt)) ignored")
            // Acknowledged once the first result is on disk: it may still be on its way there.
            journalWriter.write(.barrier, to: nil, token: .init(routingID: message.routingID, address: address, result: result))
            awaitingAck[address, default: 0] += 1
            if queue.fold(of: address) == task { _ = queue.complete(fold: task, attempt: Int(result.attempt)) }
            resultRead[address] = message.received
            try finished(task, on: address)
            return
        }
        if queue.adopt(fold: task, attempt: Int(result.attempt), worker: address) {
            log("\(describe(task)) (attempt \(result.attempt)) adopted: \(name(of: address)) sends its result")
        }
        // The holder's result counts, whichever attempt it names (folds are deterministic),
        // and so does a result of a queued fold, held by no one: one the worker trained for an
        // earlier coordinator, re-sent after a restart while it already trains its next fold
        // (protocol 4). A result of a fold another worker holds does not (issue 18: a client
        // must not override an honest worker's fold).
        let holds = queue.fold(of: address) == task
        guard holds || queue.states[task] == .queued else {
            try reject("\(describe(task)) (attempt \(result.attempt)) from \(name(of: address)): " +
                       "not the worker holding the fold's current attempt")
            return
        }
        if !holds {
            log("\(describe(task)) (attempt \(result.attempt)): result from \(name(of: address)), which trained it before this coordinator started")
        }
        var entry = result
        let ended = endedWork[task] ?? (0, 0)
        entry.attempts = UInt32(max(Int(result.attempt), ended.attempts))
        if result.batchesPerEpoch > 0 {
            // The work before the state it resumed from was done at least once, even when
            // those attempts were not journalled (this coordinator was restarted meanwhile).
            let perEpoch = Int(result.batchesPerEpoch)
            let before = max(ended.batches, resumedFrom[task].map { $0.epochsCompleted * perEpoch + $0.nextBatch } ?? 0)
            entry.epochsTrained = Double(before + Int(result.batchesTrained)) / Double(perEpoch)
        }
        // Written and synced by the journal writer, acknowledged when it is done (`collectJournalled`).
        journals[run].noteWritten(entry)
        journalWriter.write(.result(entry, checkpointDirectory: runs[run].checkpointDirectory), to: journals[run].file,
                            token: .init(routingID: message.routingID, address: address, result: result))
        awaitingAck[address, default: 0] += 1
        _ = queue.complete(fold: task, attempt: Int(result.attempt))
        stateStores[run].forget(fold: fold)   // its files go once the result is on disk (`collectJournalled`)
        clearAttempt(task)
        endedWork[task] = nil
        deadlines.ended(fold: task)
        timing.taskSeconds.append(result.trainSeconds)
        resultRead[address] = message.received
        try finished(task, on: address)
    }

    /// The worker at `address` sent the result of `task`: it no longer trains it, and gets its
    /// next fold at once, before the result is on disk (protocol 4: the acknowledgement follows
    /// when it is; the worker keeps the result until then). The next fold does not wait for the
    /// journal's fsync, and is sent before the writer can report anything about this result: a
    /// coordinator that dies now leaves the worker with the result unacknowledged and a new fold.
    /// (Its time counts as the result's.)
    private func finished(_ task: Int, on address: String) throws {
        if registry.workers[address]?.busyWith == task { registry.setBusy(address, with: nil) }
        if queue.fold(of: address) == nil { registry.setProgress(address, nil) }
        if stopDeadline == nil && !stopRequest.isSet { try dispatch(to: address, now: now()) }
    }

    private func workerFailed(_ address: String, task: Int, message: String, ended: String = "failed") {
        if queue.fold(of: address) == task { endAttempt(task, ended: ended) }
        switch queue.fail(fold: task, worker: address, reason: message) {
        case .unknownFold:
            log("worker \(address) reports: \(message)")
        case .notHolder:
            log("\(describe(task)): failure reported by \(name(of: address)), which does not hold it, not counted: \(message)")
        case .counted:
            deadlines.ended(fold: task)
            log("\(describe(task)) failed on \(name(of: address)): \(message)")
        case .givenUp:
            deadlines.ended(fold: task)
            log("\(describe(task)) failed on \(name(of: address)): \(message)")
            log("\(describe(task)) given up after \(Self.maxAttempts) failures")
        }
    }

    private func serve(_ request: Sleepfold_DataRequest, to routingID: [UInt8]) throws {
        guard let (data, totalSize) = read(request) else {
            try router.send(.error(.dataUnavailable, "recording \(request.recordingID): no chunk of \(request.length) bytes at offset \(request.offset) here, " +
                                   "expected a recording of this run, a chunk of at most \(Self.maxChunk) bytes and an offset within the file"),
                            to: routingID)
            return
        }
        try router.send(.dataChunk(recordingID: request.recordingID, offset: request.offset, data: data, totalSize: totalSize),
                        to: routingID)
    }

    /// The bytes `request` asks for and the file's size; nil unless the recording
    /// is one of the plan's, the chunk at most `maxChunk` bytes, and the offset within the file.
    private func read(_ request: Sleepfold_DataRequest) -> (data: Data, totalSize: UInt64)? {
        guard let url = files[request.recordingID] ?? stateFiles[request.recordingID], request.length <= Self.maxChunk,
              let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.uint64Value,
              request.offset <= size,
              let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: request.offset)
            return (try handle.read(upToCount: Int(request.length)) ?? Data(), size)
        } catch {
            return nil
        }
    }

    // MARK: - Fold states and attempts

    /// Takes a chunk of a fold state from the holder of the fold's current attempt;
    /// once whole, checks it (digest, framing, fingerprint, position), writes it under
    /// the run directory and acknowledges it. A chunk of anyone else, of an older state
    /// or out of order is dropped; a bad state is logged and not acknowledged.
    private func receive(_ chunk: Sleepfold_StateChunk, from message: Message) throws {
        let address = message.address
        guard let task = task(run: chunk.runID, fold: chunk.fold),
              queue.holds(worker: address, fold: task, attempt: Int(chunk.attempt)) else {
            if chunk.offset == 0 {
                log("dropped a state of fold \(chunk.fold) (attempt \(chunk.attempt)) from \(name(of: address)): " +
                    "not the worker holding the fold's current attempt")
            }
            return
        }
        guard chunk.totalSize <= Self.maxStateBytes else {
            if chunk.offset == 0 {
                log("dropped a state of \(describe(task)) from \(name(of: address)): \(chunk.totalSize) bytes, limit \(Self.maxStateBytes)")
            }
            return
        }
        if chunk.offset == 0 { uploads[task] = StateUpload(address: address, header: chunk, data: Data(), started: now()) }
        guard var upload = uploads.removeValue(forKey: task) else { return }
        guard upload.header.sha256 == chunk.sha256, UInt64(upload.data.count) == chunk.offset,
              UInt64(upload.data.count + chunk.data.count) <= chunk.totalSize else {
            uploads[task] = upload   // a chunk of an older state, or out of order: the upload goes on without it
            return
        }
        upload.data.append(chunk.data)
        guard UInt64(upload.data.count) == chunk.totalSize else {
            uploads[task] = upload
            return
        }
        let (run, fold) = tasks[task]
        var header = chunk
        header.data = Data()
        stateWriter.write(.init(task: task, attempt: Int(chunk.attempt), routingID: message.routingID, address: address,
                                header: header, data: upload.data,
                                fingerprint: runs[run].plan.stateFingerprint(fold: fold),
                                directory: stateStores[run].directory, fold: fold,
                                source: "state of \(describe(task)) from \(name(of: address))",
                                started: upload.started, received: now()))
    }

    /// Takes the states the `StateWriter` has written (or refused) since the last turn:
    /// a written one becomes its fold's newest (unless the fold is done meanwhile) and is
    /// acknowledged; a refused one is logged and not acknowledged.
    private func collectWrittenStates() throws {
        for done in stateWriter.finished() {
            let job = done.job, header = job.header, (run, fold) = tasks[job.task]
            switch done.outcome {
            case .success(let saved):
                if case .done = queue.states[job.task] {} else { stateStores[run].noteSaved(saved, fold: fold) }
                if queue.holds(worker: job.address, fold: job.task, attempt: job.attempt) {
                    noteWork(job.task, batches: header.batchesTrained, perEpoch: header.batchesPerEpoch)
                }
                try router.send(.stateAck(header), to: job.routingID)
                registry.noteSent(job.address, now: now())
                if !view.isInteractive || header.nextBatch > 0 {
                    log("\(describe(job.task)): state \(saved.position) saved (\(saved.size) bytes; " +
                        "received in \(LogNumber.fixed(job.received - job.started, places: 3)) s, " +
                        "checked and written in \(LogNumber.fixed(done.finished - job.received, places: 3)) s)")
                }
            case .failure(let error):
                log("rejected a state of \(describe(job.task)) from \(name(of: job.address)): \(error)")
            }
        }
    }

    /// The running attempt of `task` has trained `batches` (never less than known before).
    private func noteWork(_ task: Int, batches: UInt64, perEpoch: UInt32) {
        let known = attemptWork[task]?.batches ?? 0
        attemptWork[task] = (max(known, Int(batches)), Int(perEpoch))
    }

    /// The running attempt of `task` ended without a result (call before the queue
    /// lets go of it): journals it with the batches it trained.
    private func endAttempt(_ task: Int, ended: String) {
        guard case .running(_, let attempt) = queue.states[task] else { return }
        let (run, fold) = tasks[task]
        let work = attemptWork[task] ?? (0, 0)
        let record = Sleepfold_AttemptRecord.with {
            $0.runID = runs[run].plan.runID
            $0.fold = UInt32(fold)
            $0.attempt = UInt32(attempt)
            $0.batchesTrained = UInt64(work.batches)
            $0.batchesPerEpoch = UInt32(work.perEpoch)
            $0.ended = ended
        }
        // Written by the journal writer, after the lines queued before it.
        journals[run].noteWritten(record)
        journalWriter.write(.attempt(record), to: journals[run].file,
                            token: .init(routingID: [], address: "\(describe(task)) attempt \(attempt)", result: nil))
        let before = endedWork[task] ?? (0, 0)
        endedWork[task] = (max(before.attempts, attempt), before.batches + work.batches)
        clearAttempt(task)
    }

    private func clearAttempt(_ task: Int) {
        attemptWork[task] = nil
        uploads[task] = nil
        resumedFrom[task] = nil
    }

    // MARK: - Helpers

    private func name(of address: String) -> String { registry.workers[address]?.hello.workerID ?? address }

    /// The task of fold `fold` of the run with id `runID`; nil when that is no fold served here.
    private func task(run runID: String, fold: UInt32) -> Int? {
        guard let run = runIndex[runID], runs[run].plan.folds.indices.contains(Int(fold)) else { return nil }
        return firstTask[run] + Int(fold)
    }

    /// "fold 3", or "ex1/seed-0 fold 3" when the run has a label.
    private func describe(_ task: Int) -> String {
        let (run, fold) = tasks[task]
        return runs[run].label.isEmpty ? "fold \(fold)" : "\(runs[run].label) fold \(fold)"
    }

    private func snapshot() -> ProgressView.Snapshot {
        ProgressView.Snapshot(
            folds: tasks.count,
            done: queue.doneCount,
            failed: queue.givenUpCount,
            running: queue.runningCount,
            queued: queue.queuedCount,
            workers: registry.workers.values.sorted { $0.address < $1.address }.map {
                let task = queue.fold(of: $0.address)
                var attempt = 1
                if let task, case .running(_, let a) = queue.states[task] { attempt = a }
                return .init(id: $0.hello.workerID, fold: task.map { tasks[$0].fold }, progress: $0.progress,
                             run: task.map { runs[tasks[$0].run].label } ?? "", attempt: attempt,
                             resumedFrom: task.flatMap { resumedFrom[$0]?.position })
            })
    }

    private func now() -> Double { BusyClock.now() }
}
