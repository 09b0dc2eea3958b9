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
    }

    public let heartbeatInterval: Double   // s
    public let liveness: Int               // intervals of silence before a worker is dead
    public private(set) var workers: [String: Worker] = [:]

    public init(heartbeatInterval: Double, liveness: Int) {
        self.heartbeatInterval = heartbeatInterval
        self.liveness = liveness
    }

    public static func address(of routingID: [UInt8]) -> String {
        routingID.map { String(format2: $0) }.joined()
    }

    /// Registers (or re-registers, after a reconnect) a worker that said hello.
    public mutating func register(routingID: [UInt8], hello: Sleepfold_Hello, now: Double) -> Worker {
        let address = Self.address(of: routingID)
        let worker = Worker(address: address, routingID: routingID, hello: hello,
                            expiry: now + heartbeatInterval * Double(liveness), progress: nil, busyWith: nil)
        workers[address] = worker
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

    /// Removes and returns the workers whose expiry has passed.
    public mutating func purgeExpired(now: Double) -> [Worker] {
        let dead = workers.values.filter { $0.expiry < now }.sorted { $0.address < $1.address }
        for w in dead { workers[w.address] = nil }
        return dead
    }

    public mutating func remove(_ address: String) { workers[address] = nil }
}

private extension String {
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}
