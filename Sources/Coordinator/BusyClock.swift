import Foundation
import Shared

/// Measures the coordinator loop's own work by kind (`CoordinatorRuntime.Busy`),
/// around the loop's steps, so the steps themselves hold only protocol logic.
/// Waiting in poll is not measured.
final class BusyClock {
    enum Kind {
        /// Building and sending fold tasks.
        case tasks
        /// Checking, checkpointing and journalling fold results and fold states.
        case results
        /// Serving recording chunks.
        case data
        /// Everything else: hellos, heartbeats, progress, purging, the live view.
        case other

        /// The kind of work a message is: results and data requests are theirs,
        /// anything else (or a message dropped before it was read) is `other`.
        init(_ body: Sleepfold_Envelope.OneOf_Body?) {
            switch body {
            case .foldResult, .stateChunk: self = .results
            case .dataRequest: self = .data
            default: self = .other
            }
        }
    }

    private(set) var busy = CoordinatorRuntime.Busy()

    /// Runs `work` and adds its wall time to `kind`.
    func time(_ kind: Kind, _ work: () throws -> Void) rethrows {
        try time { try work(); return kind }
    }

    /// Runs `work`, which returns what kind of work it turned out to be, and adds its wall time there.
    func time(_ work: () throws -> Kind) rethrows {
        let started = Self.now()
        let kind = try work()
        let seconds = Self.now() - started
        switch kind {
        case .tasks: busy.tasks += seconds
        case .results: busy.results += seconds
        case .data: busy.data += seconds
        case .other: busy.other += seconds
        }
    }

    /// Monotonic seconds.
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
