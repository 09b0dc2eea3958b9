import Reports
import Shared

/// The workers the coordinator knows, and when each was last heard from.
///
/// Paranoid Pirate liveness: any message from a worker refreshes its expiry to
/// now + interval × liveness; a worker past its expiry is dead.
public struct WorkerRegistry: Sendable {
    public struct Worker: Sendable, Equatable {
        /// ROUTER routing id (hex), the key the coordinator addresses it by.
        public let address: String
        public let routingID: [UInt8]
        public var hello: Sleepfold_Hello
        public var expiry: Double
        /// Latest progress, for the live view.
        public var progress: Sleepfold_Progress?
        /// The fold its latest heartbeat says it trains (nil: idle, or not said yet).
        public var busyWith: Int?
        /// No task before this time (s): it refused one lately.
        public var noTaskBefore: Double = 0
        /// When we last sent it anything (s): its welcome at first.
        public var lastSent: Double = 0
    }

    public let heartbeatInterval: Double   // s
    public let liveness: Int               // intervals of silence before a worker is dead
    public private(set) var workers: [String: Worker] = [:]
    /// No worker expires before this time (s): a lower bound, since expiries only grow
    /// (`touch`) or start later (`register`), made exact by each purge that scans.
    private var earliestExpiry = Double.infinity

    public init(heartbeatInterval: Double, liveness: Int) {
        self.heartbeatInterval = heartbeatInterval
        self.liveness = liveness
    }

    /// The routing id in lowercase hex: one allocation per message, not one per byte.
    public static func address(of routingID: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: 2 * routingID.count) { buffer in
            for (i, byte) in routingID.enumerated() {
                buffer[2 * i] = hexDigits[Int(byte >> 4)]
                buffer[2 * i + 1] = hexDigits[Int(byte & 15)]
            }
            return 2 * routingID.count
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Registers (or re-registers, after a reconnect) a worker that said hello.
    public mutating func register(routingID: [UInt8], hello: Sleepfold_Hello, now: Double) -> Worker {
        let address = Self.address(of: routingID)
        let worker = Worker(address: address, routingID: routingID, hello: hello,
                            expiry: now + heartbeatInterval * Double(liveness), progress: nil, busyWith: nil, lastSent: now)
        workers[address] = worker
        earliestExpiry = min(earliestExpiry, worker.expiry)
        return worker
    }

    /// Refreshes a worker's expiry; false if the worker is unknown (it must say hello first).
    @discardableResult
    public mutating func touch(_ address: String, now: Double) -> Bool {
        guard workers[address] != nil else { return false }
        workers[address]!.expiry = now + heartbeatInterval * Double(liveness)
        return true
    }

    public mutating func setProgress(_ address: String, _ progress: Sleepfold_Progress?) {
        workers[address]?.progress = progress
    }

    /// Records what a worker's heartbeat says it trains (nil when idle).
    public mutating func setBusy(_ address: String, with fold: Int?) {
        workers[address]?.busyWith = fold
    }

    /// We sent the worker a message at `now` (s): it needs no heartbeat for an interval.
    public mutating func noteSent(_ address: String, now: Double) {
        workers[address]?.lastSent = now
    }

    /// The workers to send a heartbeat at `now` (s), in no particular order: those we sent
    /// nothing for a whole interval (any message tells a worker we are alive; the ZeroMQ
    /// Guide's rule). Called once per interval, a worker hears from us at least every two.
    public func heartbeatsDue(now: Double) -> [Worker] {
        workers.values.filter { now - $0.lastSent >= heartbeatInterval }
    }

    /// Sends no task to the worker before `time` (s), e.g. after it refused one.
    public mutating func backOff(_ address: String, until time: Double) {
        workers[address]?.noTaskBefore = time
    }

    /// Whether the worker may be sent a task now: known, not busy by its own
    /// account, not backing off. (Whether the queue gave it a fold is the queue's.)
    public func mayTakeTask(_ address: String, now: Double) -> Bool {
        guard let w = workers[address] else { return false }
        return w.busyWith == nil && now >= w.noTaskBefore
    }

    /// Removes and returns the workers whose expiry has passed (in address order).
    /// Costs nothing until the earliest expiry has passed; then one scan, which finds
    /// the next earliest: with workers heard every interval, one scan per interval or so,
    /// not one per turn of the loop.
    public mutating func purgeExpired(now: Double) -> [Worker] {
        guard now > earliestExpiry else { return [] }
        var dead: [Worker] = [], earliest = Double.infinity
        for w in workers.values {
            if w.expiry < now { dead.append(w) } else { earliest = min(earliest, w.expiry) }
        }
        earliestExpiry = earliest
        dead.sort { $0.address < $1.address }
        for w in dead { workers[w.address] = nil }
        return dead
    }

    public mutating func remove(_ address: String) { workers[address] = nil }
}
