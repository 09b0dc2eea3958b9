import Foundation
import Basics
import Recordings
import Cohorts
import Evaluation
import Reports
import Shared

/// The coordinator: binds a ROUTER socket, hands folds to workers (longest
/// first), watches their heartbeats, re-queues the folds of dead workers,
/// journals each result before acknowledging it, serves recordings to workers
/// without shared storage, and stops the workers when every fold is done.
///
/// Modelled on the ZeroMQ Guide's Paranoid Pirate queue and Majordomo broker.
public final class CoordinatorRuntime {
    public static let heartbeatInterval = 1.0   // s
    public static let liveness = 3              // silent intervals before a worker is dead
    public static let maxAttempts = 3           // tries of one fold before the run gives it up
    static let maxChunk: UInt64 = 4 << 20       // bytes, largest data chunk served
    static let maxMessagesPerTurn = 256         // messages handled between two heartbeat/dispatch turns

    public struct Options: Sendable {
        public var bind: String
        /// CURVE: the coordinator's key pair and the admitted worker public keys.
        public var curve: (keys: CurveKeyPair, allowedWorkers: [String])?
        public var journalURL: URL
        public var checkpointDirectory: URL
        /// Messages larger than this are logged and dropped (bytes).
        public var maxMessageBytes: Int

        public init(bind: String, curve: (keys: CurveKeyPair, allowedWorkers: [String])? = nil,
                    journalURL: URL, checkpointDirectory: URL, maxMessageBytes: Int = 256 << 20) {
            self.bind = bind
            self.curve = curve
            self.journalURL = journalURL
            self.checkpointDirectory = checkpointDirectory
            self.maxMessageBytes = maxMessageBytes
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// What the run ended with: every fold's result (from this run or the
    /// journal), the folds given up after `maxAttempts` failures, and the
    /// coordinator's own work.
    public struct Outcome {
        public let results: [Int: Sleepfold_FoldResult]
        public let failedFolds: [Int: String]
        public let busy: Busy
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

    public let plan: RunPlan
    private let options: Options
    private let log: (String) -> Void
    private let context: ZMQContext
    private let router: ZMQSocket
    private let zap: ZAPAuthenticator?
    private let journal: Journal
    private var queue: FoldQueue
    private var registry = WorkerRegistry(heartbeatInterval: heartbeatInterval, liveness: liveness)
    private var failures: [Int: [String]] = [:]
    private var givenUp: [Int: String] = [:]
    private var nextHeartbeat = 0.0
    private let view: ProgressView
    private var busy = Busy()

    /// The endpoint actually bound (with the real port when binding port `*`).
    public let endpoint: String

    public init(plan: RunPlan, options: Options, view: ProgressView, log: @escaping (String) -> Void) throws {
        self.plan = plan
        self.options = options
        self.log = log
        self.view = view
        context = try ZMQContext()
        if let curve = options.curve {
            zap = try ZAPAuthenticator(context: context, allowedKeys: curve.allowedWorkers)
        } else {
            zap = nil
        }
        router = try ZMQSocket(context, .router)
        if let curve = options.curve { try router.makeCurveServer(secretKey: curve.keys.secretKey) }
        try router.bind(options.bind)
        endpoint = try router.lastEndpoint
        journal = try Journal(url: options.journalURL, runID: plan.runID)
        for w in journal.warnings { log(w) }
        queue = FoldQueue(cost: plan.folds.map(\.cost), done: Set(journal.results.keys))
        try FileManager.default.createDirectory(at: options.checkpointDirectory, withIntermediateDirectories: true)
        zap?.onDecision = { key, admitted in
            if !admitted { log("refused a worker with public key \(key): not in the admitted keys") }
        }
    }

    /// Runs until every fold is done or given up; then tells workers to stop.
    public func run() throws -> Outcome {
        if queue.doneCount > 0 { log("journal: \(queue.doneCount) of \(plan.folds.count) folds already done") }
        view.update(snapshot())
        let poller = ZMQPoller(zap.map { [router, $0.socket] } ?? [router])
        while !(queue.isFinished) {
            let ready = try poller.poll(timeout: Self.heartbeatInterval / 4)
            if ready.count > 1 && ready[1] { try zap?.answerPending() }
            if ready[0] {
                // At most `maxMessagesPerTurn` before heartbeats and dispatch get their turn:
                // a worker flooding the socket must not starve the others.
                var handled = 0
                while handled < Self.maxMessagesPerTurn, let frames = try router.receive(wait: false) {
                    handled += 1
                    let started = now()
                    let kind = try handle(frames)
                    busy[keyPath: kind] += now() - started
                }
            }
            let started = now()
            for dead in registry.purgeExpired(now: now()) {
                let folds = queue.requeue(worker: dead.address)
                log("worker \(dead.hello.workerID) silent for \(Self.liveness) heartbeats: declared dead" +
                    (folds.isEmpty ? "" : "; fold \(folds.map(String.init).joined(separator: ", ")) queued again"))
            }
            busy.other += now() - started
            let dispatchStarted = now()
            try dispatch()
            busy.tasks += now() - dispatchStarted
            let othersStarted = now()
            if now() >= nextHeartbeat {
                nextHeartbeat = now() + Self.heartbeatInterval
                var env = Sleepfold_Envelope()
                env.heartbeat = Sleepfold_Heartbeat()
                for w in registry.workers.values { try? router.send(env, to: w.routingID) }
            }
            view.update(snapshot())
            busy.other += now() - othersStarted
        }
        var env = Sleepfold_Envelope()
        var stop = Sleepfold_Shutdown()
        stop.reason = "all folds done"
        env.shutdown = stop
        for w in registry.workers.values { try? router.send(env, to: w.routingID) }
        view.finish(snapshot())
        return Outcome(results: journal.results, failedFolds: givenUp, busy: busy)
    }

    // MARK: - Messages

    /// Handles one message; returns the kind of work it was, for `Busy`.
    private func handle(_ frames: [[UInt8]]) throws -> WritableKeyPath<Busy, Double> {
        guard frames.count >= 2 else { return \.other }
        let routingID = frames[0]
        let address = WorkerRegistry.address(of: routingID)
        let size = frames.reduce(0) { $0 + $1.count }
        guard size <= options.maxMessageBytes else {
            log("dropped an oversized message from \(address): \(size) bytes, limit \(options.maxMessageBytes)")
            return \.other
        }
        let envelope: Sleepfold_Envelope
        do {
            envelope = try Wire.decode(Array(frames.dropFirst()))
        } catch {
            log("dropped a message from \(address): \(error)")
            if error.code == .badVersion {
                var report = Sleepfold_ErrorReport()
                report.code = .versionMismatch
                report.message = "coordinator speaks \(String(decoding: Wire.versionFrame, as: UTF8.self)): \(error)"
                report.fold = -1
                var env = Sleepfold_Envelope()
                env.error = report
                try? router.send(env, to: routingID)
                registry.remove(address)
            }
            return \.other
        }
        if case .hello(let hello) = envelope.body {
            _ = registry.register(routingID: routingID, hello: hello, now: now())
            log("worker \(hello.workerID) joined (\(hello.host), \(hello.cores) cores, \(hello.threads) threads, sleepfold \(hello.softwareVersion))")
            var welcome = Sleepfold_Welcome()
            welcome.runID = plan.runID
            welcome.heartbeatIntervalS = Self.heartbeatInterval
            welcome.liveness = UInt32(Self.liveness)
            var env = Sleepfold_Envelope()
            env.welcome = welcome
            try router.send(env, to: routingID)
            return \.other
        }
        guard registry.touch(address, now: now()) else {
            // E.g. a worker's old connection after a coordinator restart: ask it to say hello.
            log("dropped a message from \(address): it has not said hello")
            var report = Sleepfold_ErrorReport()
            report.code = .unexpectedMessage
            report.message = "unknown worker: say hello first"
            report.fold = -1
            var env = Sleepfold_Envelope()
            env.error = report
            try? router.send(env, to: routingID)
            return \.other
        }
        switch envelope.body {
        case .heartbeat(let hb):
            // A worker busy with a fold we don't know it has (we restarted): adopt it.
            if hb.fold >= 0, queue.fold(of: address) == nil, Int(hb.fold) < plan.folds.count {
                queue.adopt(fold: Int(hb.fold), attempt: Int(hb.attempt), worker: address)
            }
        case .progress(let p):
            registry.setProgress(address, p)
            if !view.isInteractive {
                log(String(format: "fold %d epoch %d/%d: loss %.4f, validation macro-F1 %.3f",
                           p.fold, p.epoch, p.epochs, p.trainLoss, p.validationMacroF1))
            }
        case .foldResult(let result):
            try accept(result, from: address, routingID: routingID)
            return \.results
        case .dataRequest(let request):
            try serve(request, to: routingID)
            return \.data
        case .error(let report) where report.code == .unexpectedMessage:
            // The worker was busy (it had a fold we did not know about): not a failure.
            if report.fold >= 0, queue.fold(of: address) == Int(report.fold) {
                queue.requeue(worker: address)
                log("fold \(report.fold) queued again: \(registry.workers[address]?.hello.workerID ?? address) is \(report.message)")
            }
        case .error(let report):
            workerFailed(address, fold: Int(report.fold), message: report.message)
        default:
            log("dropped an unexpected message from worker \(address)")
        }
        return \.other
    }

    private func accept(_ result: Sleepfold_FoldResult, from address: String, routingID: [UInt8]) throws {
        let fold = Int(result.fold)
        if let problem = validate(result) {
            log("rejected the result of fold \(result.fold) from \(address): \(problem)")
            workerFailed(address, fold: fold, message: "invalid result: \(problem)")
            return
        }
        var ack = Sleepfold_ResultAck()
        ack.fold = result.fold
        ack.attempt = result.attempt
        var ackEnv = Sleepfold_Envelope()
        ackEnv.resultAck = ack

        if journal.results[fold] != nil {
            log("fold \(fold): duplicate result (attempt \(result.attempt)) ignored")
            try router.send(ackEnv, to: routingID)
            if queue.fold(of: address) == fold { _ = queue.requeue(worker: address); _ = queue.complete(fold: fold, attempt: Int(result.attempt)) }
            return
        }
        // Checkpoint and journal line first, then the acknowledgement:
        // whatever was acknowledged is on disk.
        try journal.record(result, checkpointDirectory: options.checkpointDirectory)
        busy.foldsAccepted += 1
        _ = queue.complete(fold: fold, attempt: Int(result.attempt))
        registry.setProgress(address, nil)
        try router.send(ackEnv, to: routingID)
        log("fold \(fold) done by \(registry.workers[address]?.hello.workerID ?? address) (attempt \(result.attempt), \(Int(result.trainSeconds)) s)")
    }

    /// Why a result cannot be accepted, or nil if it is sound.
    private func validate(_ result: Sleepfold_FoldResult) -> String? {
        guard result.runID == plan.runID else { return "run_id \"\(result.runID)\", expected \"\(plan.runID)\"" }
        guard plan.folds.indices.contains(Int(result.fold)) else { return "no fold \(result.fold) in a \(plan.folds.count)-fold plan" }
        let expected = Set(plan.folds[Int(result.fold)].test.map(\.id))
        let got = result.predictions.map(\.recordingID)
        guard Set(got) == expected, got.count == expected.count else {
            return "predictions for \(got.sorted()), expected the test recordings \(expected.sorted())"
        }
        for p in result.predictions {
            let n = p.trueLabels.count
            guard n > 0, p.predictedLabels.count == n, p.probabilities.count == n * 5 * 4 else {
                return "recording \(p.recordingID): \(n) true labels, \(p.predictedLabels.count) predicted, \(p.probabilities.count) probability bytes (expected \(n), \(n * 20))"
            }
            guard p.trueLabels.allSatisfy({ $0 < 5 }), p.predictedLabels.allSatisfy({ $0 < 5 }) else {
                return "recording \(p.recordingID): a label outside 0...4"
            }
        }
        return nil
    }

    private func workerFailed(_ address: String, fold: Int, message: String) {
        guard plan.folds.indices.contains(fold) else {
            log("worker \(address) reports: \(message)")
            return
        }
        if queue.fold(of: address) == fold { queue.requeue(worker: address) }
        failures[fold, default: []].append(message)
        log("fold \(fold) failed on \(registry.workers[address]?.hello.workerID ?? address): \(message)")
        if failures[fold]!.count >= Self.maxAttempts, case .queued = queue.states[fold] {
            givenUp[fold] = message
            _ = queue.complete(fold: fold, attempt: 0)
            log("fold \(fold) given up after \(Self.maxAttempts) failures")
        }
    }

    private func serve(_ request: Sleepfold_DataRequest, to routingID: [UInt8]) throws {
        var env = Sleepfold_Envelope()
        guard let url = plan.files[request.recordingID], request.length <= Self.maxChunk,
              let handle = try? FileHandle(forReadingFrom: url) else {
            var report = Sleepfold_ErrorReport()
            report.code = .dataUnavailable
            report.message = "recording \(request.recordingID) is not served by this coordinator (or the chunk is over \(Self.maxChunk) bytes)"
            report.fold = -1
            env.error = report
            try router.send(env, to: routingID)
            return
        }
        defer { try? handle.close() }
        try handle.seek(toOffset: request.offset)
        let data = try handle.read(upToCount: Int(request.length)) ?? Data()
        var chunk = Sleepfold_DataChunk()
        chunk.recordingID = request.recordingID
        chunk.offset = request.offset
        chunk.data = data
        chunk.totalSize = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.uint64Value ?? 0
        env.dataChunk = chunk
        try router.send(env, to: routingID)
    }

    // MARK: - Scheduling

    private func dispatch() throws {
        let idle = registry.workers.values
            .filter { queue.fold(of: $0.address) == nil }
            .sorted { $0.address < $1.address }
        for worker in idle {
            guard let (fold, attempt) = queue.take(for: worker.address) else { return }
            var env = Sleepfold_Envelope()
            env.foldTask = plan.task(fold: fold, attempt: attempt)
            try router.send(env, to: worker.routingID)
            log("fold \(fold) (attempt \(attempt)) → \(worker.hello.workerID)")
        }
    }

    private func snapshot() -> ProgressView.Snapshot {
        ProgressView.Snapshot(
            folds: plan.folds.count,
            done: queue.doneCount - givenUp.count,
            failed: givenUp.count,
            running: queue.runningCount,
            queued: queue.queuedCount,
            workers: registry.workers.values.sorted { $0.address < $1.address }.map {
                .init(id: $0.hello.workerID, fold: queue.fold(of: $0.address), progress: $0.progress)
            })
    }

    private func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
