import CZeroMQ
import Basics

/// Waits on several sockets at once (`zmq_poll`), as the Guide's brokers do.
public struct ZMQPoller {
    private var sockets: [ZMQSocket] = []

    public init(_ sockets: [ZMQSocket]) { self.sockets = sockets }

    /// Waits up to `timeout` seconds (nil: forever) and returns, for each socket
    /// in order, whether a message can be received from it now.
    public func poll(timeout: Double?) throws -> [Bool] {
        var items = sockets.map {
            zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        }
        let ms = timeout.map { max(0, Int($0 * 1000)) } ?? -1
        while true {
            let rc = zmq_poll(&items, Int32(items.count), ms)
            if rc >= 0 { return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 } }
            let error = SleepfoldError.zmq("zmq_poll")
            if error.interrupted { continue }
            throw error
        }
    }
}
