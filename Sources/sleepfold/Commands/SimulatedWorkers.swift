import Foundation
import Basics
import Recordings
import Cohorts
import Shared

/// Many simulated workers on one thread, each its own DEALER socket and the real
/// protocol (as `WorkerRuntime` speaks it), for the coordinator load benchmark.
/// Training is a wait: a task's `epochs` epochs take `taskSeconds` together; after
/// each one the worker reports progress and (with `stateBytes` > 0) uploads a fold
/// state that passes the coordinator's checks (framing, fingerprint, digest,
/// position); at the end it sends a result that passes `RunPlan.validate`:
/// predictions of the three selections for every test night (its own labels, read
/// from the cohort, with every 7th epoch mistaken), the history, and a
/// safetensors checkpoint.
///
/// Measured here: the dispatch latency, from a result sent to the next task received, and
/// the acknowledgement latency, from a result sent to its acknowledgement (protocol 4: the
/// next task does not wait for it; it waits for the journal's fsync).
final class SimulatedWorkers {
    /// libzmq's ZMQ_MAX_SOCKETS default is 1023 sockets per context.
    static let maxWorkersPerProcess = 1000
    static let heartbeatInterval = 1.0   // s, as WorkerRuntime
    static let turn = 0.005              // s, longest wait for a message
    static let batchesPerEpoch = 100     // simulated batches of one epoch (heartbeats, results)
    static let stateChunkBytes = 1 << 20 // bytes of a fold state per message, as WorkerRuntime

    struct Outcome {
        /// Each worker's id and the folds whose results it sent and had acknowledged.
        var workers: [(id: String, tasks: Int)]
        /// Dispatch latencies: when the task arrived (Unix time, s) and the seconds since the previous result was sent.
        var latencies: [(at: Double, seconds: Double)]
        /// Acknowledgement latencies: when the acknowledgement arrived (Unix time, s) and the seconds since its result was sent.
        var acks: [(at: Double, seconds: Double)]
        /// Tasks that arrived while the worker still held an unacknowledged result.
        var tasksBeforeAck: Int
        /// True when every worker was told to stop; false when the coordinator went silent.
        var stoppedByCoordinator: Bool

        /// `worker ID TASKS` lines, `latency AT SECONDS` lines, `ack AT SECONDS` lines, then
        /// `tasks-before-ack N`.
        var text: String {
            var lines = workers.map { "worker \($0.id) \($0.tasks)" }
            lines += latencies.map { String(format: "latency %.6f %.6f", $0.at, $0.seconds) }
            lines += acks.map { String(format: "ack %.6f %.6f", $0.at, $0.seconds) }
            lines.append("tasks-before-ack \(tasksBeforeAck)")
            return lines.joined(separator: "\n") + "\n"
        }
    }

    private final class Worker {
        let id: String
        let socket: ZMQSocket
        var task: Sleepfold_FoldTask?
        var started = 0.0
        /// Seconds the task in hand trains.
        var duration = 0.0
        var epochsDone = 0
        /// Results sent and not acknowledged, oldest first, with when each was first sent
        /// (protocol 4, as WorkerRuntime's `UnacknowledgedResults`).
        var unacknowledged: [(result: Sleepfold_FoldResult, sentAt: Double)] = []
        var resultSentAt: Double?
        var nextHeartbeat = 0.0
        var acknowledged = 0
        var stopped = false

        init(id: String, socket: ZMQSocket) {
            self.id = id
            self.socket = socket
        }
    }

    private let context: ZMQContext
    private let workers: [Worker]
    private let cohort: Cohort
    private let taskSeconds: Double
    private let taskJitter: Double
    private let stateBytes: Int
    private let giveUpAfter: Double
    private var labels: [String: [UInt8]] = [:]
    private var latencies: [(at: Double, seconds: Double)] = []
    private var acks: [(at: Double, seconds: Double)] = []
    private var tasksBeforeAck = 0
    private var lastHeard: Double

    /// - Parameter taskJitter: a task trains `taskSeconds` × (1 ± up to `taskJitter`), drawn
    ///   uniformly per task: folds of unequal size, so the workers' results do not all come at once.
    init(endpoint: String, count: Int, idPrefix: String, cohort: Cohort, taskSeconds: Double, taskJitter: Double = 0,
         stateBytes: Int, giveUpAfter: Double) throws {
        precondition((1...Self.maxWorkersPerProcess).contains(count))
        context = try ZMQContext()
        var workers: [Worker] = []
        for i in 0..<count {
            let id = "\(idPrefix)-\(i)"
            let socket = try ZMQSocket(context, .dealer)
            try socket.setMaxMessageSize(16 << 20)
            try socket.setRoutingID(Array("\(id)#\(UInt32.random(in: 0 ... .max))".utf8))
            try socket.connect(endpoint)
            workers.append(Worker(id: id, socket: socket))
        }
        self.workers = workers
        self.cohort = cohort
        self.taskSeconds = taskSeconds
        self.taskJitter = taskJitter
        self.stateBytes = stateBytes
        self.giveUpAfter = giveUpAfter
        lastHeard = Self.now()
    }

    deinit { for w in workers { w.socket.close() } }

    /// Runs until every worker is told to stop, or the coordinator is silent for `giveUpAfter`.
    func run() throws -> Outcome {
        for w in workers { hello(w) }
        let poller = ZMQPoller(workers.map(\.socket))
        var stoppedByCoordinator = false
        while true {
            let ready = try poller.poll(timeout: Self.turn)
            let t = Self.now()
            for (i, isReady) in ready.enumerated() where isReady { try receive(workers[i], now: t) }
            for w in workers where !w.stopped { advance(w, now: t) }
            if workers.allSatisfy(\.stopped) { stoppedByCoordinator = true; break }
            if t - lastHeard > giveUpAfter { break }
        }
        return Outcome(workers: workers.map { ($0.id, $0.acknowledged) }, latencies: latencies, acks: acks,
                       tasksBeforeAck: tasksBeforeAck, stoppedByCoordinator: stoppedByCoordinator)
    }

    // MARK: - Messages

    private func receive(_ w: Worker, now t: Double) throws {
        while let frames = try w.socket.receive(wait: false) {
            guard let envelope = try? Wire.decode(frames) else { continue }
            lastHeard = t
            switch envelope.body {
            case .foldTask(let task):
                if let held = w.unacknowledged.first(where: { $0.result.fold == task.fold && $0.result.runID == task.runID }) {
                    send(w, .result(held.result), now: t)
                } else if let busy = w.task {
                    send(w, .error(.unexpectedMessage, runID: task.runID, fold: Int32(task.fold), "busy with fold \(busy.fold)"), now: t)
                } else if w.unacknowledged.count >= Wire.maxUnacknowledgedResults {
                    send(w, .error(.unexpectedMessage, runID: task.runID, fold: Int32(task.fold),
                                   "busy: \(w.unacknowledged.count) results not acknowledged"), now: t)
                } else {
                    if !w.unacknowledged.isEmpty { tasksBeforeAck += 1 }
                    if let sent = w.resultSentAt {
                        latencies.append((Date().timeIntervalSince1970, t - sent))
                        w.resultSentAt = nil
                    }
                    w.task = task
                    w.started = t
                    w.duration = taskSeconds * (1 + taskJitter * Double.random(in: -1...1))
                    w.epochsDone = 0
                }
            case .resultAck(let ack):
                if let i = w.unacknowledged.firstIndex(where: {
                    $0.result.fold == ack.fold && $0.result.runID == ack.runID && $0.result.attempt == ack.attempt
                }) {
                    acks.append((Date().timeIntervalSince1970, t - w.unacknowledged[i].sentAt))
                    w.unacknowledged.remove(at: i)
                    w.acknowledged += 1
                }
            case .shutdown:
                w.stopped = true
            case .error(let report) where report.code == .resultRejected:
                w.unacknowledged.removeAll { $0.result.fold == UInt32(max(0, report.fold)) && $0.result.runID == report.runID }
            case .error(let report) where report.code == .unexpectedMessage && report.fold < 0:
                hello(w)   // a coordinator that does not know this connection
                for held in w.unacknowledged { send(w, .result(held.result), now: t) }
            default:
                break      // welcome, heartbeat, state acknowledgements
            }
        }
    }

    /// Epochs that have ended (progress, state), the result, the heartbeat when due.
    private func advance(_ w: Worker, now t: Double) {
        if let task = w.task {
            let epochs = max(1, Int(task.epochs)), perEpoch = w.duration / Double(epochs)
            while w.epochsDone < epochs && t >= w.started + perEpoch * Double(w.epochsDone + 1) {
                w.epochsDone += 1
                send(w, .progress(.with {
                    $0.runID = task.runID
                    $0.fold = task.fold
                    $0.attempt = task.attempt
                    $0.epoch = UInt32(w.epochsDone)
                    $0.epochs = UInt32(epochs)
                    $0.trainLoss = 1.0 / Double(w.epochsDone)
                    $0.trainAccuracy = 0.8
                    $0.validationLoss = 1.0
                    $0.validationAccuracy = 0.8
                    $0.validationMacroF1 = 0.7
                    $0.epochSeconds = perEpoch
                }), now: t)
                if w.epochsDone < epochs && stateBytes > 0 { uploadState(w, task: task, epochsCompleted: w.epochsDone, now: t) }
            }
            if w.epochsDone == epochs {
                let result = self.result(task, worker: w, seconds: t - w.started)
                w.task = nil
                w.unacknowledged.append((result, t))
                w.resultSentAt = t
                send(w, .result(result), now: t)
            }
        }
        if t >= w.nextHeartbeat {
            let trained = w.task.map { task in
                let perEpoch = w.duration / Double(max(1, Int(task.epochs)))
                let within = perEpoch > 0 ? min(1, (t - w.started - perEpoch * Double(w.epochsDone)) / perEpoch) : 0
                return w.epochsDone * Self.batchesPerEpoch + Int(max(0, within) * Double(Self.batchesPerEpoch - 1))
            } ?? 0
            send(w, .heartbeat(busyWith: w.task, batchesTrained: UInt64(trained),
                               batchesPerEpoch: w.task == nil ? 0 : UInt32(Self.batchesPerEpoch)), now: t)
        }
    }

    private func hello(_ w: Worker) {
        send(w, .hello(.with {
            $0.workerID = w.id
            $0.host = ProcessInfo.processInfo.hostName
            $0.cores = 1
            $0.threads = 1
            $0.softwareVersion = sleepfoldVersion
            $0.hasSharedData_p = true
            $0.pid = UInt32(ProcessInfo.processInfo.processIdentifier)
        }), now: Self.now())
    }

    /// Sends without blocking, as WorkerRuntime does (a message that cannot be queued is dropped).
    private func send(_ w: Worker, _ envelope: Sleepfold_Envelope, now t: Double) {
        guard let frames = try? Wire.frames(envelope) else { return }
        try? w.socket.send(frames, wait: false)
        w.nextHeartbeat = t + Self.heartbeatInterval
    }

    // MARK: - What a trained fold sends

    /// A fold state after `epochsCompleted` epochs, in chunks, as WorkerRuntime uploads one.
    private func uploadState(_ w: Worker, task: Sleepfold_FoldTask, epochsCompleted: Int, now t: Double) {
        let tensor = Data(repeating: UInt8(truncatingIfNeeded: epochsCompleted), count: max(4, stateBytes / 4 * 4))
        let state = Self.safetensors(tensor: "model.values", bytes: tensor, metadata: [
            "format": "sleepfold-fold-state",
            "fingerprint": task.stateFingerprint,
            "data_sha256": SHA256.hexDigest(tensor),
            "progress": #"{"epochs_completed":\#(epochsCompleted),"next_batch":0}"#,
        ])
        let header = Sleepfold_StateChunk.with {
            $0.runID = task.runID
            $0.fold = task.fold
            $0.attempt = task.attempt
            $0.epochsCompleted = UInt32(epochsCompleted)
            $0.nextBatch = 0
            $0.totalSize = UInt64(state.count)
            $0.sha256 = SHA256.hexDigest(state)
            $0.batchesTrained = UInt64(epochsCompleted * Self.batchesPerEpoch)
            $0.batchesPerEpoch = UInt32(Self.batchesPerEpoch)
        }
        var offset = 0
        while offset < state.count {
            let end = min(state.count, offset + Self.stateChunkBytes)
            send(w, .stateChunk(header, offset: UInt64(offset), data: state.subdata(in: offset..<end)), now: t)
            offset = end
        }
    }

    private func result(_ task: Sleepfold_FoldTask, worker w: Worker, seconds: Double) -> Sleepfold_FoldResult {
        let epochs = max(1, Int(task.epochs))
        let predictions = task.test.map { ref -> Sleepfold_RecordingPredictions in
            let truth = labels(of: ref.id)
            // Every 7th epoch mistaken for the next stage, so the scores are not all 1.
            let predicted = truth.enumerated().map { i, y in i % 7 == 3 ? (y + 1) % UInt8(Stage.count) : y }
            var probabilities = [Float](repeating: 0.05, count: predicted.count * Stage.count)
            for (i, y) in predicted.enumerated() { probabilities[i * Stage.count + Int(y)] = 0.8 }
            return .with {
                $0.recordingID = ref.id
                $0.trueLabels = Data(truth)
                $0.predictedLabels = Data(predicted)
                $0.probabilities = probabilities.withUnsafeBufferPointer { Data(buffer: $0) }
            }
        }
        let perEpoch = w.duration / Double(epochs)
        return .with { r in
            r.runID = task.runID
            r.fold = task.fold
            r.attempt = task.attempt
            r.predictions = predictions
            r.lastPredictions = predictions
            r.oraclePredictions = predictions
            r.chosenEpoch = UInt32(epochs)
            r.oracleEpoch = UInt32(epochs)
            r.history = (1...epochs).map { e in
                .with {
                    $0.epoch = UInt32(e)
                    $0.trainLoss = 1.0 / Double(e)
                    $0.trainAccuracy = 0.8
                    $0.validationLoss = 1.0
                    $0.validationAccuracy = 0.8
                    $0.validationMacroF1 = 0.7
                    $0.seconds = perEpoch
                    $0.testLoss = .nan
                    $0.testAccuracy = .nan
                    $0.testMacroF1 = .nan
                }
            }
            r.checkpoint = Self.checkpoint
            r.trainSeconds = seconds
            r.workerID = w.id
            r.batchesTrained = UInt64(epochs * Self.batchesPerEpoch)
            r.batchesPerEpoch = UInt32(Self.batchesPerEpoch)
        }
    }

    /// The labels of recording `id` (one byte per epoch), read once from the cohort.
    /// A recording not in the cohort has none: the result then fails the coordinator's check.
    private func labels(of id: String) -> [UInt8] {
        if let known = labels[id] { return known }
        var loaded: [UInt8] = []
        if let summary = cohort.recording(id: id), let recording = try? cohort.load(summary) {
            loaded = recording.labels.map { UInt8(truncatingIfNeeded: $0) }
        }
        labels[id] = loaded
        return loaded
    }

    /// A small safetensors checkpoint: one F32 tensor of 16 values.
    static let checkpoint = safetensors(tensor: "weight", bytes: Data(count: 64), metadata: ["format": "sleepfold-bench-load"])

    /// A safetensors file holding one F32 tensor (`bytes`, a multiple of 4 long) and `metadata`.
    static func safetensors(tensor name: String, bytes: Data, metadata: [String: String]) -> Data {
        let header: [String: Any] = [
            "__metadata__": metadata,
            name: ["dtype": "F32", "shape": [bytes.count / 4], "data_offsets": [0, bytes.count]] as [String: Any],
        ]
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8)
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var file = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(bytes)
        return file
    }

    private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
