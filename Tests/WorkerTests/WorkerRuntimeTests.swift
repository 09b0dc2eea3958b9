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

    @Test func helloReconnectAfterSilenceAndHashCheckedDataFetch() throws {
        let fold = try TinyFold()
        defer { fold.remove() }
        let context = try ZMQContext()
        let router = try ZMQSocket(context, .router)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint

        let options = WorkerRuntime.Options(
            endpoint: endpoint, threads: 1, dataDirectory: nil,
            cacheDirectory: fold.directory.appendingPathComponent("cache"), workerID: "w-test")
        let runtime = try WorkerRuntime(options: options, trainer: FoldRunner.train) { _ in }
        let done = Run(runtime)
        let thread = Thread {
            do { try done.runtime.run() } catch { done.error = error }
            done.finished = true
        }
        thread.start()

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

        // 1. Hello.
        let first = try next()
        guard case .hello(let hello) = first.envelope.body else { Issue.record("expected hello"); return }
        #expect(hello.workerID == "w-test" && hello.threads == 1 && !hello.hasSharedData_p)

        // 2. Silence: after 3 missed heartbeats the worker reconnects and says hello again.
        let started = Date()
        let second = try next(timeout: 15)
        guard case .hello = second.envelope.body else { Issue.record("expected a second hello"); return }
        #expect(second.id != first.id)
        #expect(Date().timeIntervalSince(started) > 2.5)

        // 3. A task whose recordings must be fetched; one of them arrives corrupted.
        var welcome = Sleepfold_Envelope()
        welcome.welcome = Sleepfold_Welcome()
        try router.send(welcome, to: second.id)
        var task = Sleepfold_Envelope()
        task.foldTask = fold.task
        try router.send(task, to: second.id)
        let corrupt = fold.task.test[0].id
        var report: Sleepfold_ErrorReport?
        while report == nil {
            let message = try next()
            switch message.envelope.body {
            case .dataRequest(let request):
                var bytes = try Data(contentsOf: fold.files[request.recordingID]!)
                if request.recordingID == corrupt { bytes[bytes.count / 2] ^= 0xFF }
                let range = Int(request.offset)..<Int(request.offset + request.length)
                var chunk = Sleepfold_DataChunk()
                chunk.recordingID = request.recordingID
                chunk.offset = request.offset
                chunk.totalSize = UInt64(bytes.count)
                chunk.data = bytes.subdata(in: range)
                var env = Sleepfold_Envelope()
                env.dataChunk = chunk
                try router.send(env, to: message.id)
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
        var stop = Sleepfold_Envelope()
        stop.shutdown = Sleepfold_Shutdown()
        try router.send(stop, to: second.id)
        let deadline = Date().addingTimeInterval(10)
        while !done.finished && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(done.finished && done.error == nil)
    }
}
