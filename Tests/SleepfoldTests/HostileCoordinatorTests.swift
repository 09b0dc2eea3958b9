import Foundation
import Testing
import Basics
import Shared

/// Issue 18: a malicious coordinator — a ROUTER socket in the test speaking the protocol —
/// against a real `sleepfold worker` process.
@Suite struct HostileCoordinatorTests {
    /// Bytes: the frame sent, 16 × the worker's limit (`WorkerRuntime.maxMessageBytes`, 16 MiB).
    static let frameBytes = 256 << 20
    /// Bytes: the most an idle worker may hold at its peak. It measures ~35 MiB; had it
    /// read the frame, it would hold at least `frameBytes` (545 MiB measured with the
    /// limit raised to 1 GiB).
    static let workerPeakBound = 128 << 20

    /// The worker's libzmq (ZMQ_MAXMSGSIZE) drops the connection when the frame's header
    /// announces 256 MiB, before reading the body: the worker does not grow, does not see
    /// the frame (nor a stop queued behind it on that connection), reconnects by itself,
    /// and obeys the next stop.
    @Test func aWorkerSentAFrameOverItsLimitDropsItUnreadAndKeepsRunning() throws {
        let root = try CommandRunner.temporaryDirectory("oversized-frame")
        defer { try? FileManager.default.removeItem(at: root) }
        let context = try ZMQContext()
        let router = try ZMQSocket(context, .router)
        try router.bind("tcp://127.0.0.1:*")
        let worker = try BackgroundProcess(["worker", "--connect", try router.lastEndpoint, "--worker-id", "target",
                                            "--threads", "1", "--cache", root.appendingPathComponent("cache").path],
                                           log: root.appendingPathComponent("worker.out"))
        defer { worker.kill() }

        /// The next message from the worker that `wanted` accepts, with its routing id.
        func next(within seconds: Double, _ wanted: (Sleepfold_Envelope) -> Bool) throws -> (id: [UInt8], envelope: Sleepfold_Envelope)? {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                guard try router.waitForInput(timeout: 0.1), let frames = try router.receive(), frames.count >= 2,
                      let envelope = try? Wire.decode(Array(frames.dropFirst())) else { continue }
                if wanted(envelope) { return (frames[0], envelope) }
            }
            return nil
        }
        let hello = try #require(try next(within: 30) { if case .hello = $0.body { true } else { false } })
        try router.send(.welcome(runID: "0123456789abcdef", heartbeatInterval: 1, liveness: 3), to: hello.id)
        #expect(worker.waitFor("joined run 0123456789abcdef", timeout: 10))

        try router.send([hello.id, Wire.versionFrame, [UInt8](repeating: 0x5A, count: Self.frameBytes)])
        try router.send(.stop(reason: "behind the oversized frame"), to: hello.id)
        // The worker goes on: its libzmq reconnects with the same routing id or, if this ROUTER
        // still holds the dropped connection under that id and refuses the new one, the worker
        // notices the silence and reconnects itself under a new id and says hello again.
        // Answer like a coordinator until it has heartbeated three times.
        var latest = hello.id
        var heartbeats = 0
        let deadline = Date().addingTimeInterval(20)
        while heartbeats < 3, Date() < deadline {
            guard let message = try next(within: 1, { _ in true }) else { continue }
            latest = message.id
            switch message.envelope.body {
            case .hello:
                try router.send(.welcome(runID: "0123456789abcdef", heartbeatInterval: 1, liveness: 3), to: message.id)
            case .heartbeat:
                heartbeats += 1
                try router.send(.heartbeat(), to: message.id)
            default:
                break
            }
        }
        #expect(heartbeats == 3, "the worker went silent after the oversized frame")
        #expect(worker.process.isRunning)
        #expect(!worker.output.contains("behind the oversized frame"), "\(worker.output)")
        #expect(!worker.output.contains("dropped a message from the coordinator"), "\(worker.output)")

        // Stop it, answering whatever id it speaks from: under load our replies can still
        // go to the connection the ROUTER dropped, and the worker then reconnects under a
        // new id after its three heartbeats (seen in CI); a coordinator's stop reaches it there.
        try router.send(.stop(reason: "test over"), to: latest)
        let stopDeadline = Date().addingTimeInterval(30)
        while worker.process.isRunning, Date() < stopDeadline {
            guard let message = try next(within: 0.5, { _ in true }) else { continue }
            if case .hello = message.envelope.body {
                try router.send(.welcome(runID: "0123456789abcdef", heartbeatInterval: 1, liveness: 3), to: message.id)
            }
            try router.send(.stop(reason: "test over"), to: message.id)
        }
        #expect(worker.waitForExit(timeout: 10) == 0, "\(worker.output)")
        #expect(worker.output.contains("coordinator says stop: test over"), "\(worker.output)")
        let peak = worker.memory.peakBytes
        print("oversized frame: worker peak RSS \(peak >> 20) MiB")
        #expect(peak > 0 && peak < Self.workerPeakBound, "worker peak RSS \(peak >> 20) MiB, bound \(Self.workerPeakBound >> 20) MiB")
    }
}
