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
        #expect(frames[0] == Array("SLEEPFOLD/4".utf8))
        #expect(try Wire.decode(frames) == envelope)
    }

    @Test func foreignVersionsAndGarbageAreRejectedNotTrapped() throws {
        var envelope = Sleepfold_Envelope()
        envelope.shutdown = Sleepfold_Shutdown()
        let good = try Wire.frames(envelope)
        let version = try #require(throws: SleepfoldError.self) { try Wire.decode([Array("SLEEPFOLD/1".utf8), good[1]]) }
        #expect(version.code == .badVersion && version.file == nil && version.field == "version frame")
        #expect(version.message == "found \"SLEEPFOLD/1\", expected \"SLEEPFOLD/4\"")
        let frames = try #require(throws: SleepfoldError.self) { try Wire.decode([good[0]]) }
        #expect(frames.code == .badFrames && frames.field == "frames")
        #expect(frames.description == "frames: found 1, expected 2 (version, envelope)")
        let garbage = try #require(throws: SleepfoldError.self) { try Wire.decode([good[0], [0xFF, 0xFF, 0xFF]]) }
        #expect(garbage.code == .badEnvelope && garbage.field == "envelope frame")
        #expect(garbage.message.hasPrefix("found 3 bytes that do not decode ("), "\(garbage)")
        let empty = try #require(throws: SleepfoldError.self) { try Wire.decode([good[0], []]) }
        #expect(empty.code == .badEnvelope && empty.field == "envelope frame")
        #expect(empty.message == "found an envelope without a body, expected one message (hello, fold task, result, …)")
    }

    /// Every truncation of a valid message fails to decode. The envelope's only field
    /// is its body, one length-delimited submessage (tag, length, bytes) filling the
    /// frame: a cut inside the tag or length varint, or one that leaves fewer bytes
    /// than the length declares, is a protobuf decoding error; the empty prefix is an
    /// envelope without a body. So no proper prefix is a valid message, none traps, and
    /// every one is refused as `.badEnvelope`.
    @Test func everyPrefixOfAMessageIsRefusedAsABadEnvelope() throws {
        var task = Sleepfold_FoldTask()
        task.fold = 3
        task.train = (0..<5).map { i in var r = Sleepfold_RecordingRef(); r.id = "SC40\(i)1E0"; r.sha256 = String(repeating: "a", count: 64); return r }
        var envelope = Sleepfold_Envelope()
        envelope.foldTask = task
        let frames = try Wire.frames(envelope)
        let bytes = frames[1]
        #expect(bytes.first == 0x22)  // field 4 (fold_task) << 3 | wire type 2 (length-delimited)
        #expect(try Wire.decode(frames) == envelope)
        for n in 0..<bytes.count {
            do {
                let decoded = try Wire.decode([frames[0], Array(bytes.prefix(n))])
                Issue.record("a \(n)-byte prefix of a \(bytes.count)-byte envelope decoded: \(decoded)")
            } catch {
                #expect(error.code == .badEnvelope && error.field == "envelope frame", "prefix \(n): \(error)")
                if n == 0 {
                    #expect(error.message.hasPrefix("found an envelope without a body"), "\(error)")
                } else {
                    #expect(error.message.hasPrefix("found \(n) bytes that do not decode ("), "prefix \(n): \(error)")
                }
            }
        }
    }
}
