import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT (Ctrl-C) as a request to stop cleanly: the first one calls
/// `onStop` (the worker saves its fold's state, the coordinator waits for its
/// running folds' states), a second one leaves at once with status 130, as
/// Ctrl-C usually does.
///
/// The handler only counts (an atomic add is all that is safe in a signal
/// handler); a thread of its own looks at the count every `checkInterval`. One
/// set of handlers per process.
enum StopSignals {
    static let immediateExitStatus: Int32 = 130
    static let checkInterval = 0.05   // s between looks at the count
    private static let received = Atomic<Int>(0)

    /// - Parameter signals: the signals that ask for a stop (a local worker of `run` leaves
    ///   SIGINT out: Ctrl-C reaches it through its parent, as SIGTERM, not twice).
    static func install(signals: [Int32] = [SIGTERM, SIGINT], log: @escaping @Sendable (String) -> Void,
                        onStop: @escaping @Sendable () -> Void) {
        // A process started by another may inherit a mask that blocks them (e.g. from a
        // dispatch thread): unblock them here, so they reach the handler.
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for s in signals { signal(s) { _ in StopSignals.received.add(1, ordering: .relaxed) } }
        Thread.detachNewThread {
            var seen = 0
            while true {
                Thread.sleep(forTimeInterval: checkInterval)
                let now = received.load(ordering: .relaxed)
                if now > seen && seen == 0 {
                    log("stop signal: stopping cleanly (send it again to leave at once)")
                    onStop()
                }
                if now > 1 {
                    log("stop signal again: leaving now")
                    exit(immediateExitStatus)
                }
                seen = now
            }
        }
    }
}
