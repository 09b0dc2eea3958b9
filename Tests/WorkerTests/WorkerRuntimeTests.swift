import Foundation
import Testing
import Worker
import Basics
import Recordings
import Cohorts
import Evaluation
import SleepNet
import Shared

/// The worker's side of the protocol, against a scripted coordinator socket.
@Suite struct WorkerRuntimeTests {
    /// The runtime and its outcome, shared with the thread that runs it.
    final class Run: @unchecked Sendable {
        let runtime: WorkerRuntime
        var error: Error?
        var finished = false
        init(_ runtime: WorkerRuntime) { self.runtime = runtime }
    }

    /// A ROUTER socket playing the coordinator, and a worker connected to it running on its own thread.
    struct Harness {
        let context: ZMQContext
        let router: ZMQSocket
        let run: Run

        init(cache: URL, data: URL? = nil) throws {
            context = try ZMQContext()
            router = try ZMQSocket(context, .router)
            try router.bind("tcp://127.0.0.1:*")
            let options = WorkerRuntime.Options(
                endpoint: try router.lastEndpoint, threads: 1, dataDirectory: data,
                cacheDirectory: cache, workerID: "w-test")
            let run = Run(try WorkerRuntime(options: options, trainer: FoldRunner.train) { _ in })
            self.run = run
            let thread = Thread {
                do { try run.runtime.run() } catch { run.error = error }
                run.finished = true
            }
            thread.start()
        }

        /// The worker's next message other than a heartbeat (on `socket`: `router` unless another
        /// coordinator took its place).
        func next(timeout: Double = 10, on socket: ZMQSocket? = nil) throws -> (id: [UInt8], envelope: Sleepfold_Envelope) {
            let router = socket ?? self.router
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if try router.waitForInput(timeout: 0.1), let frames = try router.receive() {
                    let envelope = try Wire.decode(Array(frames.dropFirst()))
                    if case .heartbeat = envelope.body { continue }
                    return (frames[0], envelope)
                }
            }
            throw CancellationError()
        }

        /// The worker's next fold result on `socket`, passing over progress and fold states.
        func nextResult(timeout: Double = 60, on socket: ZMQSocket? = nil) throws -> (id: [UInt8], result: Sleepfold_FoldResult) {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                let message = try next(timeout: deadline.timeIntervalSinceNow, on: socket)
                if case .foldResult(let result) = message.envelope.body { return (message.id, result) }
            }
            throw CancellationError()
        }

        /// A coordinator restarted on the same endpoint: the old socket closed, a new one bound there.
        func restartedCoordinator() throws -> ZMQSocket {
            let endpoint = try router.lastEndpoint
            router.close()
            let socket = try ZMQSocket(context, .router)
            let deadline = Date().addingTimeInterval(10)
            while true {
                do {
                    try socket.bind(endpoint)
                    return socket
                } catch where Date() < deadline {
                    Thread.sleep(forTimeInterval: 0.05)   // the old listener may still hold the port a moment
                }
            }
        }

        /// Accepts the worker whose hello came from `id` (on `socket`, as `next`).
        func welcome(_ id: [UInt8], on socket: ZMQSocket? = nil) throws {
            try (socket ?? router).send(.welcome(runID: "run-test", heartbeatInterval: 1, liveness: 3), to: id)
        }

        /// Tells the worker to stop; true when `run()` then returned without an error.
        func stop(_ id: [UInt8], on socket: ZMQSocket? = nil) throws -> Bool {
            let router = socket ?? self.router
            try router.send(.stop(reason: "test over"), to: id)
            let deadline = Date().addingTimeInterval(10)
            while !run.finished && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            return run.finished && run.error == nil
        }
    }

    @Test func helloReconnectAfterSilenceAndHashCheckedDataFetch() throws {
        let fold = try TinyFold()
        defer { fold.remove() }
        let h = try Harness(cache: fold.directory.appendingPathComponent("cache"))

        // 1. Hello.
        let first = try h.next()
        guard case .hello(let hello) = first.envelope.body else { Issue.record("expected hello"); return }
        #expect(hello.workerID == "w-test" && hello.threads == 1 && !hello.hasSharedData_p)

        // 2. Silence: after 3 missed heartbeats the worker reconnects and says hello again.
        let started = Date()
        let second = try h.next(timeout: 15)
        guard case .hello = second.envelope.body else { Issue.record("expected a second hello"); return }
        #expect(second.id != first.id)
        #expect(Date().timeIntervalSince(started) > 2.5)

        // 3. A task whose recordings must be fetched; one of them arrives corrupted.
        try h.welcome(second.id)
        try h.router.send(.task(fold.task), to: second.id)
        let corrupt = fold.task.test[0].id
        var report: Sleepfold_ErrorReport?
        while report == nil {
            let message = try h.next()
            switch message.envelope.body {
            case .dataRequest(let request):
                var bytes = try Data(contentsOf: fold.files[request.recordingID]!)
                if request.recordingID == corrupt { bytes[bytes.count / 2] ^= 0xFF }
                let range = Int(request.offset)..<Int(request.offset + request.length)
                try h.router.send(.dataChunk(recordingID: request.recordingID, offset: request.offset,
                                             data: bytes.subdata(in: range), totalSize: UInt64(bytes.count)),
                                  to: message.id)
            case .error(let e):
                report = e
            default:
                break
            }
        }
        #expect(report?.code == .dataUnavailable)
        #expect(report?.fold == 1)
        #expect(report?.message.contains(corrupt) == true)

        // 4. Shutdown ends run().
        #expect(try h.stop(second.id))
    }

    @Test func aFileThatCannotBeCreatedInTheCacheIsReportedNotIgnored() throws {
        let fold = try TinyFold()
        defer { fold.remove() }
        let cache = fold.directory.appendingPathComponent("cache")
        let h = try Harness(cache: cache)
        let hello = try h.next()
        guard case .hello = hello.envelope.body else { Issue.record("expected hello"); return }

        // The cache directory becomes a file: nothing can be created in it (ENOTDIR, also for root).
        try FileManager.default.removeItem(at: cache)
        try Data().write(to: cache)
        try h.welcome(hello.id)
        try h.router.send(.task(fold.task), to: hello.id)
        let message = try h.next()
        guard case .error(let report) = message.envelope.body else {
            Issue.record("expected an error report, got \(message.envelope)")
            return
        }
        #expect(report.code == .dataUnavailable && report.fold == 1)
        #expect(report.message.contains("cannot create it to receive recording \(fold.task.train[0].id)"))
        #expect(report.message.contains("errno \(ENOTDIR)"))
        #expect(report.message.contains(cache.path))
        #expect(try h.stop(hello.id))
    }

    /// Protocol 4: the next fold comes before the previous result's acknowledgement. The
    /// coordinator dies before acknowledging either result; the worker keeps both (not only
    /// the newest) and sends them again to the restarted coordinator, oldest first.
    @Test func resultsNotAcknowledgedBeforeTheCoordinatorDiedAreSentAgainInOrder() throws {
        var fold = try TinyFold(epochs: 1)
        defer { fold.remove() }
        let h = try Harness(cache: fold.directory.appendingPathComponent("cache"), data: fold.directory)
        let hello = try h.next()
        try h.welcome(hello.id)
        try h.router.send(.task(fold.task), to: hello.id)
        let first = try h.nextResult()
        #expect(first.result.fold == 1)
        // Its next fold, and no acknowledgement: the coordinator dies.
        fold.task.fold = 2
        try h.router.send(.task(fold.task), to: hello.id)
        // Fold 2 done as well, neither acknowledged: the worker holds both when the coordinator dies.
        let second = try h.nextResult()
        #expect(second.result.fold == 2)
        let restarted = try h.restartedCoordinator()

        // libzmq reconnects the worker's socket by itself: what it sends reaches the new
        // coordinator, which answers as `CoordinatorRuntime` does an unknown peer. The worker
        // says hello again and sends both results, oldest first.
        var again = try h.next(timeout: 20, on: restarted)
        while true {
            if case .hello = again.envelope.body { break }
            try restarted.send(.error(.unexpectedMessage, "unknown worker: say hello first"), to: again.id)
            again = try h.next(timeout: 20, on: restarted)
        }
        try h.welcome(again.id, on: restarted)
        let resent = try h.nextResult(on: restarted)
        #expect(resent.result == first.result)
        let resent2 = try h.nextResult(on: restarted)
        #expect(resent2.result == second.result)
        try restarted.send(.ack(resent.result), to: again.id)
        try restarted.send(.ack(resent2.result), to: again.id)
        #expect(try h.stop(again.id, on: restarted))
    }

    /// The bound: a worker holds at most `Wire.maxUnacknowledgedResults` results. With that
    /// many unacknowledged it refuses the next fold, saying why; once the coordinator rejects
    /// one (it will never journal it) the worker forgets it and takes folds again.
    @Test func aWorkerHoldingTheMostUnacknowledgedResultsRefusesFoldsUntilOneIsSettled() throws {
        var fold = try TinyFold(epochs: 1)
        defer { fold.remove() }
        let h = try Harness(cache: fold.directory.appendingPathComponent("cache"), data: fold.directory)
        let hello = try h.next()
        try h.welcome(hello.id)
        var results: [UInt32] = []
        for f in 0..<UInt32(Wire.maxUnacknowledgedResults) {
            fold.task.fold = f
            try h.router.send(.task(fold.task), to: hello.id)
            results.append(try h.nextResult().result.fold)
        }
        #expect(results == Array(0..<UInt32(Wire.maxUnacknowledgedResults)))
        fold.task.fold = 3 + UInt32(Wire.maxUnacknowledgedResults)
        try h.router.send(.task(fold.task), to: hello.id)
        let refusal = try h.next()
        guard case .error(let report) = refusal.envelope.body else { Issue.record("expected a refusal, got \(refusal.envelope)"); return }
        #expect(report.code == .unexpectedMessage && report.fold == Int32(fold.task.fold))
        #expect(report.message.contains("busy: \(Wire.maxUnacknowledgedResults) results not acknowledged"), "\(report.message)")

        // Fold 0's result rejected: room for one more, which is trained.
        try h.router.send(.error(.resultRejected, runID: fold.task.runID, fold: 0, "result rejected: test"), to: hello.id)
        try h.router.send(.task(fold.task), to: hello.id)
        #expect(try h.nextResult().result.fold == fold.task.fold)
        for f in 1..<UInt32(Wire.maxUnacknowledgedResults) {
            try h.router.send(.ack(.with { $0.runID = fold.task.runID; $0.fold = f; $0.attempt = 1 }), to: hello.id)
        }
        try h.router.send(.ack(.with { $0.runID = fold.task.runID; $0.fold = fold.task.fold; $0.attempt = 1 }), to: hello.id)
        #expect(try h.stop(hello.id))
    }
}
