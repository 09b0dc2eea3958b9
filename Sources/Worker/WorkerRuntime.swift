import Foundation
import Basics
import Recordings
import Cohorts
import Evaluation
import SleepNet
import Shared

extension SleepfoldError.Code {
    /// No coordinator answered within the worker's `giveUpAfter`.
    public static let coordinatorUnreachable = Self("coordinatorUnreachable")
    /// The coordinator speaks another protocol version and refused this worker.
    public static let incompatibleCoordinator = Self("incompatibleCoordinator")
}

/// The worker process: connects to the coordinator, says hello, trains the
/// folds it is given on a background thread, streams progress, sends results,
/// and keeps heartbeats going both ways (the ZeroMQ Guide's Paranoid Pirate).
///
/// The socket is used only by the thread that calls `run()`.
public final class WorkerRuntime {
    // Timing, as in the Guide's ppworker.
    public static let heartbeatInterval = 1.0      // s between heartbeats we send
    public static let liveness = 3                 // silent intervals before the coordinator is presumed gone
    public static let reconnectInitial = 1.0       // s, first back-off
    public static let reconnectMax = 32.0          // s, back-off cap
    static let pollInterval = 0.05                 // s, how often training events are picked up
    static let chunkSize: UInt64 = 1 << 20         // bytes per data request
    static let chunksInFlight = 8                  // pipelined data requests
    static let stateChunkBytes = 1 << 20           // bytes of a fold state sent per turn of the loop
    static let stateAckTimeout = 30.0              // s after a state's last chunk before it is sent again
    /// Seconds a stopping worker (SIGTERM) waits for the coordinator to acknowledge the
    /// fold's state or result before it leaves anyway. Slurm's `--signal=TERM@120` leaves 120.
    public static let stopGrace = 60.0
    /// Bytes, largest frame accepted from the coordinator (ZMQ_MAXMSGSIZE: libzmq drops a
    /// coordinator announcing a larger one before reading it). The largest legitimate
    /// messages are a data chunk (at most 4 MiB, the coordinator's `maxChunk`) plus its
    /// framing, and a fold task (a few hundred bytes per recording of the cohort). 16 MiB is
    /// 4 × the chunk and holds the task of a cohort of tens of thousands of recordings, while
    /// a hostile coordinator cannot make an idle worker hold more than that per message.
    public static let maxMessageBytes = 16 << 20   // bytes

    public struct Options: Sendable {
        public var endpoint: String
        public var threads: Int
        public var dataDirectory: URL?
        public var cacheDirectory: URL
        public var workerID: String
        /// CURVE: this worker's key pair and the coordinator's public key.
        public var curve: (keys: CurveKeyPair, serverKey: String)?
        /// Give up after this many seconds without ever reaching a coordinator (nil: never).
        public var giveUpAfter: Double?

        public init(endpoint: String, threads: Int, dataDirectory: URL?, cacheDirectory: URL,
                    workerID: String, curve: (keys: CurveKeyPair, serverKey: String)? = nil,
                    giveUpAfter: Double? = nil) {
            self.endpoint = endpoint
            self.threads = threads
            self.dataDirectory = dataDirectory
            self.cacheDirectory = cacheDirectory
            self.workerID = workerID
            self.curve = curve
            self.giveUpAfter = giveUpAfter
        }
    }

    private let options: Options
    private let trainer: FoldTrainer
    private let log: @Sendable (String) -> Void
    private let context: ZMQContext
    private var socket: ZMQSocket?
    private let store: RecordingStore

    // Connection state.
    private var liveness = WorkerRuntime.liveness
    private var backoff = WorkerRuntime.reconnectInitial
    private var lastHeard = 0.0
    private var nextHeartbeat = 0.0
    private var everWelcomed = false
    private var startedAt = 0.0

    // Work state.
    private var pendingTask: Sleepfold_FoldTask?
    private var fetches: [String: Fetch] = [:]
    private var localFiles: [String: URL] = [:]
    private var training: (task: Sleepfold_FoldTask, events: WorkerEvents)?
    /// Results sent and not yet acknowledged, oldest first (protocol 4: bounded, re-sent after each reconnect).
    private var unacknowledged = UnacknowledgedResults()
    /// The newest fold state not yet acknowledged, and how much of it is sent.
    private var upload: StateUpload?
    /// Set from any thread (a signal handler) to ask for a clean stop, as `requestStop()`.
    public let stopRequest = StopFlag()
    /// Set once a stop was requested: leave when nothing is left to hand over, or at the deadline.
    private var stopDeadline: Double?

    private struct StateUpload {
        let header: Sleepfold_StateChunk
        let data: Data
        /// The state of a stop: once acknowledged, the fold is reported preempted.
        let final: Bool
        var offset = 0
        var lastSent = 0.0
    }

    private struct Fetch {
        let ref: Sleepfold_RecordingRef
        let handle: FileHandle
        var requested: UInt64
        var received: UInt64
    }

    public init(options: Options, trainer: @escaping FoldTrainer,
                log: @escaping @Sendable (String) -> Void) throws {
        self.options = options
        self.trainer = trainer
        self.log = log
        self.context = try ZMQContext()
        self.store = try RecordingStore(dataDirectory: options.dataDirectory,
                                        cacheDirectory: options.cacheDirectory)
    }

    /// Asks the worker to stop (SIGTERM, Ctrl-C; safe from any thread): a fold in
    /// training stops before its next batch, its state goes to the coordinator, and
    /// `run()` returns once that is acknowledged (or after `stopGrace` seconds).
    public func requestStop() { stopRequest.set() }

    /// Runs until the coordinator says shut down (returns) or, with
    /// `giveUpAfter`, no coordinator answered in time (throws).
    /// - Throws: `SleepfoldError`: `.coordinatorUnreachable`, or `.incompatibleCoordinator`
    ///   when the coordinator speaks another protocol version; `ZMQError` from the socket.
    public func run() throws {
        startedAt = now()
        try connect()
        while true {
            if try step() { break }
        }
        training?.events.cancel()
        socket?.close()
        socket = nil
    }

    /// One turn of the loop; true when the worker should exit.
    private func step() throws -> Bool {
        guard let socket else { return true }
        try forwardTrainingEvents()
        if try stopIfRequested() { return true }
        try sendStateChunk()
        if try socket.waitForInput(timeout: Self.pollInterval) {
            guard let frames = try socket.receive() else { return false }
            liveness = Self.liveness
            lastHeard = now()
            do {
                let envelope = try Wire.decode(frames)
                if try handle(envelope) { return true }
            } catch {
                log("dropped a message from the coordinator: \(error)")
            }
        } else if now() - lastHeard > Self.heartbeatInterval {
            lastHeard = now()
            liveness -= 1
            if liveness <= 0 {
                if let limit = options.giveUpAfter, !everWelcomed, now() - startedAt > limit {
                    throw SleepfoldError(.coordinatorUnreachable, field: "--give-up-after",
                                         "no coordinator answered at \(options.endpoint) within \(Int(limit)) s; " +
                                         "expected a welcome (is the coordinator running there, and does it admit this worker's key?)")
                }
                log("coordinator silent for \(Self.liveness) heartbeats; reconnecting in \(backoff) s")
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, Self.reconnectMax)
                try connect()
                return false
            }
        }
        if now() >= nextHeartbeat { try sendHeartbeat() }
        return false
    }

    private func sendHeartbeat() throws {
        let work = training?.events.work ?? (trained: 0, perEpoch: 0)
        try send(.heartbeat(busyWith: training?.task, batchesTrained: UInt64(work.trained),
                            batchesPerEpoch: UInt32(work.perEpoch)))
    }

    // MARK: - Stopping

    /// Acts on a stop request; true when the worker may leave: nothing is in training,
    /// no state or result waits for its acknowledgement, or the grace period is over.
    private func stopIfRequested() throws -> Bool {
        guard stopRequest.isSet else { return false }
        if stopDeadline == nil {
            stopDeadline = now() + Self.stopGrace
            if let training {
                log("stop requested: fold \(training.task.fold) stops before its next batch and its state goes to the coordinator")
                training.events.requestStop()
            } else if let task = pendingTask {
                log("stop requested: fold \(task.fold) not started; handing it back")
                try reportFailure(runID: task.runID, fold: task.fold, code: .preempted, "worker stopped before training it")
            } else {
                log("stop requested")
            }
        }
        if training == nil && upload == nil && unacknowledged.isEmpty { return true }
        if now() > stopDeadline! {
            log("stopping without the coordinator's acknowledgement after \(Int(Self.stopGrace)) s")
            return true
        }
        return false
    }

    // MARK: - Fold states

    /// Makes `state` the one to upload (a newer state replaces an older one not yet acknowledged).
    private func startUpload(_ state: SavedFoldState, of task: Sleepfold_FoldTask, final: Bool) {
        let header = Sleepfold_StateChunk.with {
            $0.runID = task.runID
            $0.fold = task.fold
            $0.attempt = task.attempt
            $0.epochsCompleted = UInt32(state.epochsCompleted)
            $0.nextBatch = UInt32(state.nextBatch)
            $0.totalSize = UInt64(state.data.count)
            $0.sha256 = SHA256.hexDigest(state.data)
            $0.batchesTrained = UInt64(state.batchesTrained)
            $0.batchesPerEpoch = UInt32(state.batchesPerEpoch)
        }
        upload = StateUpload(header: header, data: state.data, final: final)
    }

    /// Sends the next chunk of the state being uploaded, one per turn so that
    /// heartbeats and data requests keep flowing; all of it again when no
    /// acknowledgement came within `stateAckTimeout`.
    private func sendStateChunk() throws {
        guard var u = upload else { return }
        if u.offset >= u.data.count {
            guard now() - u.lastSent > Self.stateAckTimeout else { return }
            u.offset = 0
        }
        let end = min(u.data.count, u.offset + Self.stateChunkBytes)
        try send(.stateChunk(u.header, offset: UInt64(u.offset), data: u.data.subdata(in: u.offset..<end)))
        u.offset = end
        u.lastSent = now()
        upload = u
    }

    private func acknowledged(_ ack: Sleepfold_StateAck) throws {
        guard let u = upload, u.header.sha256 == ack.sha256, u.header.fold == ack.fold, u.header.runID == ack.runID else { return }
        upload = nil
        if u.final {
            log("fold \(ack.fold): state saved by the coordinator (\(u.header.epochsCompleted) epochs and \(u.header.nextBatch) batches); leaving it")
            try send(.error(.preempted, runID: ack.runID, fold: Int32(ack.fold),
                            "worker stopped; fold state saved after \(u.header.epochsCompleted) epochs and \(u.header.nextBatch) batches"))
        }
    }

    // MARK: - Connection

    private func connect() throws {
        socket?.close()
        let s = try ZMQSocket(context, .dealer)
        try s.setMaxMessageSize(Self.maxMessageBytes)
        try s.setRoutingID(Array("\(options.workerID)#\(UInt32.random(in: 0 ... .max))".utf8))
        if let curve = options.curve {
            try s.makeCurveClient(keys: curve.keys, serverKey: curve.serverKey)
        }
        try s.connect(options.endpoint)
        socket = s
        liveness = Self.liveness
        lastHeard = now()
        // Downloads in flight are restarted after a reconnect.
        cancelFetches()

        try announce()
    }

    /// Says hello, then tells the coordinator what it may have missed: the fold
    /// in training and every result not yet acknowledged, oldest first.
    private func announce() throws {
        try send(.hello(.with {
            $0.workerID = options.workerID
            $0.host = ProcessInfo.processInfo.hostName
            $0.cores = UInt32(ProcessInfo.processInfo.activeProcessorCount)
            $0.threads = UInt32(options.threads)
            $0.softwareVersion = sleepfoldVersion
            $0.hasSharedData_p = options.dataDirectory != nil
            $0.pid = UInt32(ProcessInfo.processInfo.processIdentifier)
        }))
        // Tell a (possibly restarted) coordinator which fold we are busy with.
        if training != nil { try sendHeartbeat() }
        for result in unacknowledged.results { try send(.result(result)) }
        // A (possibly restarted) coordinator has seen none of the state: all of it again.
        upload?.offset = 0
        if let task = pendingTask { try requestMissingData(for: task) }
    }

    /// Sends without blocking: with no live connection (coordinator down, or
    /// our CURVE key refused) a DEALER would block forever. A dropped message is
    /// harmless: hello and unacknowledged results are sent again on reconnect.
    private func send(_ envelope: Sleepfold_Envelope) throws {
        do {
            try socket?.send(try Wire.frames(envelope), wait: false)
        } catch let error as SleepfoldError where error.wouldBlock {
            return
        }
        nextHeartbeat = now() + Self.heartbeatInterval
    }

    // MARK: - Messages

    /// Handles one message; true when told to shut down.
    private func handle(_ envelope: Sleepfold_Envelope) throws -> Bool {
        backoff = Self.reconnectInitial
        switch envelope.body {
        case .welcome(let welcome):
            everWelcomed = true
            log("joined run \(welcome.runID)")
        case .heartbeat:
            break
        case .foldTask(let task):
            do {
                try task.validate()
            } catch {
                // Refused before any of its names becomes a path.
                log("refused fold \(task.fold): \(error)")
                try send(.error(.malformedMessage, runID: task.runID, fold: Int32(task.fold), "\(error)"))
                return false
            }
            if let result = unacknowledged.result(run: task.runID, fold: task.fold) {
                // Finished already; the coordinator has not seen the result yet.
                try send(.result(result))
                return false
            }
            if stopDeadline != nil {
                try send(.error(.preempted, runID: task.runID, fold: Int32(task.fold), "worker is stopping"))
                return false
            }
            guard !unacknowledged.isFull else {
                // No room for its result: the coordinator queues the fold again (protocol 4's bound).
                let held = unacknowledged.results.map { "\($0.fold)" }.joined(separator: ", ")
                log("refused fold \(task.fold): busy, \(unacknowledged.limit) results not acknowledged (folds \(held))")
                try send(.error(.unexpectedMessage, runID: task.runID, fold: Int32(task.fold),
                                "busy: \(unacknowledged.limit) results not acknowledged (folds \(held)), the most a worker holds"))
                return false
            }
            guard training == nil, pendingTask == nil else {
                let busy = training?.task.fold ?? pendingTask!.fold
                log("refused fold \(task.fold): busy with fold \(busy)")
                try send(.error(.unexpectedMessage, runID: task.runID, fold: Int32(task.fold), "busy with fold \(busy)"))
                return false
            }
            log("fold \(task.fold) (attempt \(task.attempt)): \(task.train.count) train, \(task.validation.count) validation, \(task.test.count) test recordings")
            pendingTask = task
            try requestMissingData(for: task)
        case .dataChunk(let chunk):
            try receive(chunk)
        case .stateAck(let ack):
            try acknowledged(ack)
        case .resultAck(let ack):
            if unacknowledged.remove(run: ack.runID, fold: ack.fold) {
                log("fold \(ack.fold) acknowledged")
            }
        case .error(let error) where error.code == .resultRejected && error.fold >= 0:
            // The coordinator will never journal it (another worker holds the fold, another run): forget it.
            if unacknowledged.remove(run: error.runID, fold: UInt32(error.fold)) {
                log("fold \(error.fold): \(error.message); result dropped")
            }
        case .shutdown(let shutdown):
            log("coordinator says stop: \(shutdown.reason)")
            return true
        case .error(let error):
            if error.code == .unexpectedMessage && error.fold < 0 {
                // A restarted coordinator does not know this connection yet.
                try announce()
                return false
            }
            log("coordinator reports: \(error.message)")
            if error.code == .versionMismatch {
                throw SleepfoldError(.incompatibleCoordinator, field: "protocol version",
                                     "the coordinator at \(options.endpoint) refused this worker: \(error.message)")
            }
        default:
            log("dropped an unexpected message from the coordinator")
        }
        return false
    }

    // MARK: - Data

    private func requestMissingData(for task: Sleepfold_FoldTask) throws {
        for ref in task.neededFiles where localFiles[ref.id] == nil && fetches[ref.id] == nil {
            do {
                if let url = try store.localFile(for: ref, sharedData: ref.id != task.resumeState.id || !task.hasResumeState) {
                    localFiles[ref.id] = url
                    continue
                }
            } catch {
                try reportFailure(runID: task.runID, fold: task.fold, code: .dataUnavailable, "\(error)")
                return
            }
            let handle: FileHandle
            do {
                handle = try store.createPartial(for: ref)
            } catch {
                log("cannot fetch recording \(ref.id) for fold \(task.fold): \(error)")
                try reportFailure(runID: task.runID, fold: task.fold, code: .dataUnavailable, "\(error)")
                return
            }
            fetches[ref.id] = Fetch(ref: ref, handle: handle, requested: 0, received: 0)
            for _ in 0..<Self.chunksInFlight { try requestNextChunk(ref.id) }
        }
        try startTrainingIfReady()
    }

    private func requestNextChunk(_ id: String) throws {
        guard var fetch = fetches[id], fetch.requested < fetch.ref.sizeBytes else { return }
        let offset = fetch.requested, length = min(Self.chunkSize, fetch.ref.sizeBytes - offset)
        fetch.requested += length
        fetches[id] = fetch
        try send(.dataRequest(fetch.ref, offset: offset, length: length))
    }

    private func receive(_ chunk: Sleepfold_DataChunk) throws {
        guard var fetch = fetches[chunk.recordingID], chunk.offset == fetch.received else {
            log("dropped an unexpected data chunk for \(chunk.recordingID) at \(chunk.offset)")
            return
        }
        try fetch.handle.write(contentsOf: chunk.data)
        fetch.received += UInt64(chunk.data.count)
        fetches[chunk.recordingID] = fetch
        if fetch.received >= fetch.ref.sizeBytes {
            try fetch.handle.close()
            fetches[chunk.recordingID] = nil
            do {
                localFiles[fetch.ref.id] = try store.commit(partial: store.partialURL(for: fetch.ref), for: fetch.ref)
            } catch {
                if let task = pendingTask { try reportFailure(runID: task.runID, fold: task.fold, code: .dataUnavailable, "\(error)") }
                return
            }
            try startTrainingIfReady()
        } else {
            try requestNextChunk(chunk.recordingID)
        }
    }

    // MARK: - Training

    private func startTrainingIfReady() throws {
        guard let task = pendingTask, fetches.isEmpty else { return }
        let refs = task.neededFiles
        guard refs.allSatisfy({ localFiles[$0.id] != nil }) else { return }
        pendingTask = nil
        var files: [String: URL] = [:]
        for ref in refs { files[ref.id] = localFiles[ref.id] }
        let resumeState = task.hasResumeState ? files[task.resumeState.id] : nil
        if task.hasResumeState { log("fold \(task.fold): continuing from its saved state") }
        let job = FoldJob(task: task, files: files, threads: options.threads, workerID: options.workerID,
                          epochDirectory: options.cacheDirectory.appendingPathComponent("epochs"),
                          resumeState: resumeState)
        let events = WorkerEvents()
        training = (task, events)
        let trainer = self.trainer, log = self.log
        let hooks = FoldHooks(progress: { events.post(.progress($0)) }, isCancelled: { events.isCancelled },
                              stopRequested: { events.isStopRequested },
                              stateSaved: { events.post(.stateSaved($0)) },
                              batchStarted: { events.batchStarted(perEpoch: $0) }, log: log)
        let thread = Thread {
            do {
                let result = try trainer(job, hooks)
                events.post(.finished(result))
            } catch let stopped as FoldStopped {
                events.post(.stopped(stopped.state))
            } catch {
                events.post(.failed(fold: task.fold, message: "\(error)"))
            }
        }
        thread.stackSize = 16 << 20
        thread.start()
    }

    private func forwardTrainingEvents() throws {
        guard let training else { return }
        for event in training.events.drain() {
            switch event {
            case .progress(let p):
                try send(.progress(p))
            case .stateSaved(let state):
                log(String(format: "fold %d: state after epoch %d, %d bytes, encoded in %.3f s", training.task.fold,
                           state.epochsCompleted, state.data.count, state.encodeSeconds))
                startUpload(state, of: training.task, final: false)
            case .stopped(let state):
                log("fold \(training.task.fold) stopped after \(state.epochsCompleted) epochs and \(state.nextBatch) batches; sending its state")
                self.training = nil
                startUpload(state, of: training.task, final: true)
            case .finished(let result):
                log("fold \(result.fold) done in \(Int(result.trainSeconds)) s (peak RSS \(peakResidentBytes() >> 20) MiB)")
                unacknowledged.add(result)
                self.training = nil
                upload = nil   // the result supersedes any state
                try send(.result(result))
            case .failed(let fold, let message):
                log("fold \(fold) failed: \(message)")
                self.training = nil
                upload = nil
                try reportFailure(runID: training.task.runID, fold: fold, code: .trainingFailed, message)
            }
        }
    }

    /// Stops every transfer in flight and removes its partial file.
    private func cancelFetches() {
        for fetch in fetches.values {
            try? fetch.handle.close()
            try? FileManager.default.removeItem(at: store.partialURL(for: fetch.ref))
        }
        fetches.removeAll()
    }

    /// Gives up the pending fold: its other transfers stop (their chunks are then
    /// dropped), so one bad fold is reported once.
    private func reportFailure(runID: String, fold: UInt32, code: Sleepfold_ErrorReport.Code, _ message: String) throws {
        pendingTask = nil
        cancelFetches()
        try send(.error(code, runID: runID, fold: Int32(fold), message))
    }

    private func now() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }
}

extension Sleepfold_FoldTask {
    /// The files a fold needs before training: its recordings, and its saved state if any.
    var neededFiles: [Sleepfold_RecordingRef] {
        train + validation + test + (hasResumeState ? [resumeState] : [])
    }
}
