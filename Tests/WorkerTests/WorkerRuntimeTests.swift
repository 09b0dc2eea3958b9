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

        /// The worker's next message other than a heartbeat.
        func next(timeout: Double = 10) throws -> (id: [UInt8], envelope: Sleepfold_Envelope) {
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

        /// Tells the worker to stop; true when `run()` then returned without an error.
        func stop(_ id: [UInt8]) throws -> Bool {
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
        try h.router.send(.welcome(runID: "run-test", heartbeatInterval: 1, liveness: 3), to: second.id)
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
        try h.router.send(.welcome(runID: "run-test", heartbeatInterval: 1, liveness: 3), to: hello.id)
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
}
