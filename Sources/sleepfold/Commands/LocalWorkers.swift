import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The local worker processes of `sleepfold run`, watched from a thread of their own.
/// A worker that dies (a non-zero exit or a signal) is named in the log with how it
/// ended and restarted after a back-off (doubling), at most `maxRestarts` times per
/// worker; the coordinator re-issues its fold. When no worker is left running or due
/// for a restart, the run stops with exit status `exitStatus`. A worker that exits
/// with status 0 (told to stop by the coordinator) is not restarted.
final class LocalWorkers: @unchecked Sendable {
    static let maxRestarts = 3          // restarts per worker
    static let backoffInitial = 1.0     // s before the first restart, doubled for each next one
    static let checkInterval = 0.2      // s between looks at the processes
    static let exitStatus: Int32 = 3    // `sleepfold run` when every worker died for good

    /// Starts worker `index` (0-based); `restart` is true for a restart.
    typealias Start = (_ index: Int, _ restart: Bool) throws -> Process

    private let lock = NSLock()
    private var processes: [Process] = []
    private var restarts: [Int] = []
    private var restartAt: [Date?] = []
    private var gaveUp: [Bool] = []
    private var watching = false
    private let start: Start
    private let log: @Sendable (String) -> Void

    init(start: @escaping Start, log: @escaping @Sendable (String) -> Void) {
        self.start = start
        self.log = log
    }

    /// Starts `count` workers and the thread that watches them.
    func launch(_ count: Int) throws {
        lock.lock(); defer { lock.unlock() }
        for i in 0..<count {
            processes.append(try start(i, false))
            restarts.append(0)
            restartAt.append(nil)
            gaveUp.append(false)
        }
        watching = true
        let thread = Thread { [self] in
            while check() { Thread.sleep(forTimeInterval: Self.checkInterval) }
        }
        thread.start()
    }

    /// Stops watching (the run is over: workers exit when told to): no more restarts.
    func stopWatching() {
        lock.lock(); defer { lock.unlock() }
        watching = false
    }

    var all: [Process] {
        lock.lock(); defer { lock.unlock() }
        return processes
    }

    /// One look at the workers; false when the watch is over.
    private func check() -> Bool {
        lock.lock()
        guard watching else { lock.unlock(); return false }
        for i in processes.indices {
            let p = processes[i]
            if let due = restartAt[i] {
                guard Date() >= due else { continue }
                restartAt[i] = nil
                restarts[i] += 1
                do {
                    processes[i] = try start(i, true)
                    log("restarted worker local-\(i + 1) (pid \(processes[i].processIdentifier)), restart \(restarts[i]) of \(Self.maxRestarts)")
                } catch {
                    log("cannot restart worker local-\(i + 1): \(error)")
                }
                continue
            }
            guard !gaveUp[i], !p.isRunning, !(p.terminationReason == .exit && p.terminationStatus == 0) else { continue }
            if restarts[i] < Self.maxRestarts {
                let delay = Self.backoffInitial * pow(2, Double(restarts[i]))
                log("worker local-\(i + 1) (pid \(p.processIdentifier)) died: \(Self.describe(p)); restarting it in \(delay) s " +
                    "(restart \(restarts[i] + 1) of \(Self.maxRestarts))")
                restartAt[i] = Date().addingTimeInterval(delay)
            } else {
                log("worker local-\(i + 1) (pid \(p.processIdentifier)) died: \(Self.describe(p)); " +
                    "not restarted: it was restarted \(Self.maxRestarts) times already")
                gaveUp[i] = true
            }
        }
        // Every worker gone for good (dead, restarts used up): nobody will train the remaining folds.
        let hopeless = gaveUp.allSatisfy { $0 }
        if hopeless {
            let how = processes.enumerated().map { "local-\($0.offset + 1) \(Self.describe($0.element))" }.joined(separator: ", ")
            lock.unlock()
            log("every local worker died and was restarted \(Self.maxRestarts) times (\(how)); stopping the run, see the worker logs")
            exit(Self.exitStatus)
        }
        lock.unlock()
        return true
    }

    /// How a finished process ended: "exit status 1" or "killed by signal SIGKILL (9)".
    static func describe(_ p: Process) -> String {
        switch p.terminationReason {
        case .exit: return "exit status \(p.terminationStatus)"
        case .uncaughtSignal: return "killed by signal \(signalName(p.terminationStatus)) (\(p.terminationStatus))"
        @unknown default: return "status \(p.terminationStatus)"
        }
    }

    static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
            SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1",
            SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM",
            SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ", SIGSYS: "SIGSYS",
        ]
        return names[signal] ?? "signal \(signal)"
    }
}
