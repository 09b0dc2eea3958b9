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
                            expiry: now + heartbeatInterval * Double(liveness), progress: nil)
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
