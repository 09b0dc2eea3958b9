import Foundation
import Testing
import Shared

/// Each factory sets its command's body, with the fields it is given, and survives the wire.
@Suite struct EnvelopeFactoriesTests {
    static let task = Sleepfold_FoldTask.with { $0.fold = 3; $0.attempt = 2; $0.runID = "r" }
    static let result = Sleepfold_FoldResult.with { $0.fold = 3; $0.attempt = 2; $0.runID = "r" }
    static let ref = Sleepfold_RecordingRef.with { $0.id = "SC4001E0"; $0.sha256 = "ab"; $0.sizeBytes = 9 }

    static let cases: [(Sleepfold_Envelope, Sleepfold_Envelope.OneOf_Body)] = [
        (.hello(.with { $0.workerID = "w" }), .hello(.with { $0.workerID = "w" })),
        (.heartbeat(busyWith: task), .heartbeat(.with { $0.fold = 3; $0.attempt = 2; $0.runID = "r" })),
        (.heartbeat(busyWith: nil), .heartbeat(.with { $0.fold = -1; $0.attempt = 0 })),
        (.heartbeat(), .heartbeat(Sleepfold_Heartbeat())),
        (.progress(.with { $0.epoch = 4 }), .progress(.with { $0.epoch = 4 })),
        (.result(result), .foldResult(result)),
        (.dataRequest(ref, offset: 8, length: 1),
         .dataRequest(.with { $0.recordingID = "SC4001E0"; $0.sha256 = "ab"; $0.offset = 8; $0.length = 1 })),
        (.welcome(runID: "r", heartbeatInterval: 1.5, liveness: 3),
         .welcome(.with { $0.runID = "r"; $0.heartbeatIntervalS = 1.5; $0.liveness = 3 })),
        (.task(task), .foldTask(task)),
        (.ack(result), .resultAck(.with { $0.fold = 3; $0.attempt = 2; $0.runID = "r" })),
        (.dataChunk(recordingID: "SC4001E0", offset: 4, data: Data([1, 2]), totalSize: 9),
         .dataChunk(.with { $0.recordingID = "SC4001E0"; $0.offset = 4; $0.data = Data([1, 2]); $0.totalSize = 9 })),
        (.stop(reason: "done"), .shutdown(.with { $0.reason = "done" })),
        (.error(.dataUnavailable, "gone"), .error(.with { $0.code = .dataUnavailable; $0.fold = -1; $0.message = "gone" })),
        (.error(.trainingFailed, fold: 2, "nan"), .error(.with { $0.code = .trainingFailed; $0.fold = 2; $0.message = "nan" })),
        (.error(.trainingFailed, runID: "r", fold: 2, "nan"),
         .error(.with { $0.code = .trainingFailed; $0.runID = "r"; $0.fold = 2; $0.message = "nan" })),
    ]

    @Test(arguments: cases.indices)
    func aFactorySetsItsBodyAndRoundTrips(index: Int) throws {
        let (envelope, body) = Self.cases[index]
        #expect(envelope.body == body)
        #expect(try Wire.decode(Wire.frames(envelope)) == envelope)
    }
}
