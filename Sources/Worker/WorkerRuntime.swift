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
    private var unacknowledged: Sleepfold_FoldResult?

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
        if now() >= nextHeartbeat { try send(.heartbeat(busyWith: training?.task)) }
        return false
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
    /// in training and a result not yet acknowledged.
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
        if let training { try send(.heartbeat(busyWith: training.task)) }
        if let result = unacknowledged { try send(.result(result)) }
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
            if let result = unacknowledged, result.fold == task.fold, result.runID == task.runID {
                // Finished already; the coordinator has not seen the result yet.
                try send(.result(result))
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
        case .resultAck(let ack):
            if let r = unacknowledged, r.fold == ack.fold, r.runID == ack.runID {
                unacknowledged = nil
                log("fold \(ack.fold) acknowledged")
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
        for ref in task.train + task.validation + task.test where localFiles[ref.id] == nil && fetches[ref.id] == nil {
            do {
                if let url = try store.localFile(for: ref) {
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
        let refs = task.train + task.validation + task.test
        guard refs.allSatisfy({ localFiles[$0.id] != nil }) else { return }
        pendingTask = nil
        var files: [String: URL] = [:]
        for ref in refs { files[ref.id] = localFiles[ref.id] }
        let job = FoldJob(task: task, files: files, threads: options.threads, workerID: options.workerID,
                          epochDirectory: options.cacheDirectory.appendingPathComponent("epochs"))
        let events = WorkerEvents()
        training = (task, events)
        let trainer = self.trainer
        let thread = Thread {
            do {
                let result = try trainer(job, { events.post(.progress($0)) }, { events.isCancelled })
                events.post(.finished(result))
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
            case .finished(let result):
                log("fold \(result.fold) done in \(Int(result.trainSeconds)) s (peak RSS \(peakResidentBytes() >> 20) MiB)")
                unacknowledged = result
                self.training = nil
                try send(.result(result))
            case .failed(let fold, let message):
                log("fold \(fold) failed: \(message)")
                self.training = nil
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
