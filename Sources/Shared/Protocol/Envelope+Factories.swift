import Foundation
import SwiftProtobuf

/// One factory per command of the protocol (protocols/sleepfold.proto), so each
/// side builds a message in one expression where it sends it:
/// `router.send(.ack(result), to: worker)`, `send(.heartbeat(busyWith: task))`.
/// A body with many fields is built with SwiftProtobuf's `.with { }` and wrapped:
/// `.hello(.with { $0.workerID = id; … })`.
extension Sleepfold_Envelope {
    // MARK: Worker → coordinator

    /// A worker announces itself, on every (re)connect.
    public static func hello(_ hello: Sleepfold_Hello) -> Self {
        .with { $0.hello = hello }
    }

    /// A worker's heartbeat, naming the run and fold it trains (fold -1, attempt 0,
    /// no run when idle), so a restarted coordinator learns what the worker is busy with,
    /// and the batches the attempt has trained so far (of `batchesPerEpoch` per epoch).
    public static func heartbeat(busyWith task: Sleepfold_FoldTask?, batchesTrained: UInt64 = 0,
                                 batchesPerEpoch: UInt32 = 0) -> Self {
        .with {
            $0.heartbeat = .with { hb in
                hb.fold = task.map { Int32($0.fold) } ?? -1
                hb.attempt = task?.attempt ?? 0
                hb.runID = task?.runID ?? ""
                hb.batchesTrained = batchesTrained
                hb.batchesPerEpoch = batchesPerEpoch
            }
        }
    }

    /// `data` (from `offset`) of a fold state whose header is `header` (every field but
    /// offset and data).
    public static func stateChunk(_ header: Sleepfold_StateChunk, offset: UInt64, data: Data) -> Self {
        .with {
            $0.stateChunk = header
            $0.stateChunk.offset = offset
            $0.stateChunk.data = data
        }
    }

    /// A worker's report after one training epoch.
    public static func progress(_ progress: Sleepfold_Progress) -> Self {
        .with { $0.progress = progress }
    }

    /// A finished fold.
    public static func result(_ result: Sleepfold_FoldResult) -> Self {
        .with { $0.foldResult = result }
    }

    /// Asks for `length` bytes of recording `ref` from `offset`.
    public static func dataRequest(_ ref: Sleepfold_RecordingRef, offset: UInt64, length: UInt64) -> Self {
        .with {
            $0.dataRequest = .with { r in
                r.recordingID = ref.id
                r.sha256 = ref.sha256
                r.offset = offset
                r.length = length
            }
        }
    }

    // MARK: Coordinator → worker

    /// Accepts a worker that said hello and tells it the run's timing.
    public static func welcome(runID: String, heartbeatInterval: Double, liveness: Int) -> Self {
        .with {
            $0.welcome = .with { w in
                w.runID = runID
                w.heartbeatIntervalS = heartbeatInterval
                w.liveness = UInt32(liveness)
            }
        }
    }

    /// The coordinator's heartbeat (an empty body: it only says "still here").
    public static func heartbeat() -> Self {
        .with { $0.heartbeat = Sleepfold_Heartbeat() }
    }

    /// One fold to train.
    public static func task(_ task: Sleepfold_FoldTask) -> Self {
        .with { $0.foldTask = task }
    }

    /// Acknowledges `result`: it is journalled and need not be sent again.
    public static func ack(_ result: Sleepfold_FoldResult) -> Self {
        .with {
            $0.resultAck = .with { a in
                a.fold = result.fold
                a.attempt = result.attempt
                a.runID = result.runID
            }
        }
    }

    /// The fold state with digest `sha256` is on disk: the worker may let it go.
    public static func stateAck(_ chunk: Sleepfold_StateChunk) -> Self {
        .with {
            $0.stateAck = .with { a in
                a.runID = chunk.runID
                a.fold = chunk.fold
                a.attempt = chunk.attempt
                a.sha256 = chunk.sha256
            }
        }
    }

    /// Bytes of a recording from `offset`; `totalSize` is the whole file's size.
    public static func dataChunk(recordingID: String, offset: UInt64, data: Data, totalSize: UInt64) -> Self {
        .with {
            $0.dataChunk = .with { c in
                c.recordingID = recordingID
                c.offset = offset
                c.data = data
                c.totalSize = totalSize
            }
        }
    }

    /// Tells a worker to stop and exit.
    public static func stop(reason: String) -> Self {
        .with { $0.shutdown = .with { $0.reason = reason } }
    }

    // MARK: Both ways

    /// A problem, about fold `fold` of run `runID` or (fold -1) about no fold in particular.
    public static func error(_ code: Sleepfold_ErrorReport.Code, runID: String = "", fold: Int32 = -1,
                             _ message: String) -> Self {
        .with {
            $0.error = .with { e in
                e.code = code
                e.fold = fold
                e.runID = runID
                e.message = message
            }
        }
    }
}
