import Testing
import Basics
import Shared

@Suite struct WireTests {
    @Test func envelopeRoundTripsThroughFrames() throws {
        var hello = Sleepfold_Hello()
        hello.workerID = "node1:42:ab"
        hello.cores = 2
        var envelope = Sleepfold_Envelope()
        envelope.hello = hello
        let frames = try Wire.frames(envelope)
        #expect(frames[0] == Array("SLEEPFOLD/1".utf8))
        #expect(try Wire.decode(frames) == envelope)
    }

    @Test func foreignVersionsAndGarbageAreRejectedNotTrapped() throws {
        var envelope = Sleepfold_Envelope()
        envelope.shutdown = Sleepfold_Shutdown()
        let good = try Wire.frames(envelope)
        #expect(throws: Wire.DecodeError.version("SLEEPFOLD/2")) {
            try Wire.decode([Array("SLEEPFOLD/2".utf8), good[1]])
        }
        #expect(throws: Wire.DecodeError.frameCount(1)) { try Wire.decode([good[0]]) }
        #expect(throws: Wire.DecodeError.self) { try Wire.decode([good[0], [0xFF, 0xFF, 0xFF]]) }
        #expect(throws: Wire.DecodeError.malformed("no body set")) { try Wire.decode([good[0], []]) }
        // Every truncation of a valid message decodes or throws, never traps.
        var task = Sleepfold_FoldTask()
        task.fold = 3
        task.train = (0..<5).map { i in var r = Sleepfold_RecordingRef(); r.id = "SC40\(i)1E0"; r.sha256 = String(repeating: "a", count: 64); return r }
        envelope.foldTask = task
        let bytes = try Wire.frames(envelope)[1]
        for n in 0..<bytes.count { _ = try? Wire.decode([good[0], Array(bytes.prefix(n))]) }
    }
}
