import CZeroMQ
import Foundation
import Basics

/// A ZeroMQ socket: multipart send and receive, options, bind and connect.
///
/// Not thread-safe (like every libzmq socket): use it from one thread at a time.
public final class ZMQSocket {
    /// The socket types sleepfold uses.
    public enum Kind: Int32, Sendable {
        case request = 3    // ZMQ_REQ
        case reply = 4      // ZMQ_REP
        case dealer = 5     // ZMQ_DEALER
        case router = 6     // ZMQ_ROUTER
    }

    let handle: UnsafeMutableRawPointer
    private var closed = false
    /// Kept so the context outlives its sockets.
    private let context: ZMQContext

    public init(_ context: ZMQContext, _ kind: Kind) throws {
        guard let h = zmq_socket(context.handle, kind.rawValue) else {
            throw SleepfoldError.zmq("zmq_socket")
        }
        self.handle = h
        self.context = context
        // Never block process exit on unsent messages.
        try setOption(ZMQ_LINGER, Int32(0))
    }

    deinit { close() }

    /// Closes the socket; further calls fail. Safe to call twice.
    public func close() {
        if !closed {
            zmq_close(handle)
            closed = true
        }
    }

    // MARK: - Endpoints

    public func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw SleepfoldError.zmq("zmq_bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw SleepfoldError.zmq("zmq_connect \(endpoint)") }
    }

    public func disconnect(_ endpoint: String) throws {
        guard zmq_disconnect(handle, endpoint) == 0 else { throw SleepfoldError.zmq("zmq_disconnect \(endpoint)") }
    }

    /// The endpoint actually bound (resolves `tcp://127.0.0.1:*` to its port).
    public var lastEndpoint: String {
        get throws {
            var buffer = [CChar](repeating: 0, count: 256)
            var size = buffer.count
            guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else {
                throw SleepfoldError.zmq("zmq_getsockopt ZMQ_LAST_ENDPOINT")
            }
            return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    // MARK: - Options

    public func setOption(_ option: Int32, _ value: Int32) throws {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size) == 0 else {
            throw SleepfoldError.zmq("zmq_setsockopt \(option)")
        }
    }

    public func setOption(_ option: Int32, _ value: Int64) throws {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int64>.size) == 0 else {
            throw SleepfoldError.zmq("zmq_setsockopt \(option)")
        }
    }

    /// Sets ZMQ_MAXMSGSIZE: libzmq reads each incoming frame's size from its header and
    /// disconnects a peer announcing a frame over `bytes` before receiving (or allocating) it.
    /// Applies to connections made after the call (set it before bind or connect); not to inproc.
    public func setMaxMessageSize(_ bytes: Int) throws { try setOption(ZMQ_MAXMSGSIZE, Int64(bytes)) }

    /// Connections a bound socket's listener queues before accepting them
    /// (ZMQ_BACKLOG; set before `bind`).
    public func setListenBacklog(_ connections: Int32) throws { try setOption(ZMQ_BACKLOG, connections) }

    public func setOption(_ option: Int32, _ bytes: [UInt8]) throws {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw SleepfoldError.zmq("zmq_setsockopt \(option)") }
    }

    public func setOption(_ option: Int32, _ string: String) throws {
        try setOption(option, Array(string.utf8))
    }

    /// The routing id a DEALER announces to a ROUTER (set before connect).
    public func setRoutingID(_ id: [UInt8]) throws { try setOption(ZMQ_ROUTING_ID, id) }

    /// Makes this socket a CURVE server with the given secret key (Z85, 40 chars).
    public func makeCurveServer(secretKey: String) throws {
        try setOption(ZMQ_CURVE_SERVER, Int32(1))
        try setOption(ZMQ_CURVE_SECRETKEY, secretKey)
    }

    /// Makes this socket a CURVE client of the server with `serverKey`.
    public func makeCurveClient(keys: CurveKeyPair, serverKey: String) throws {
        try setOption(ZMQ_CURVE_SERVERKEY, serverKey)
        try setOption(ZMQ_CURVE_PUBLICKEY, keys.publicKey)
        try setOption(ZMQ_CURVE_SECRETKEY, keys.secretKey)
    }

    // MARK: - Messages

    /// Sends the frames as one multipart message.
    /// - Parameter wait: when false, throws a `SleepfoldError` with `wouldBlock` if
    ///   the message cannot be queued now.
    public func send(_ frames: [[UInt8]], wait: Bool = true) throws {
        precondition(!frames.isEmpty, "a message has at least one frame")
        for (i, frame) in frames.enumerated() {
            var flags: Int32 = i < frames.count - 1 ? ZMQ_SNDMORE : 0
            if !wait { flags |= ZMQ_DONTWAIT }
            while true {
                let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
                if rc >= 0 { break }
                let error = SleepfoldError.zmq("zmq_send")
                if error.interrupted { continue }
                throw error
            }
        }
    }

    /// Receives one multipart message, or nil if `wait` is false and none is queued.
    public func receive(wait: Bool = true) throws -> [[UInt8]]? {
        var frames: [[UInt8]] = []
        var msg = zmq_msg_t()
        zmq_msg_init(&msg)
        defer { zmq_msg_close(&msg) }
        while true {
            let flags: Int32 = (wait || !frames.isEmpty) ? 0 : ZMQ_DONTWAIT
            if zmq_msg_recv(&msg, handle, flags) < 0 {
                let error = SleepfoldError.zmq("zmq_msg_recv")
                if error.interrupted { continue }
                if error.wouldBlock && frames.isEmpty { return nil }
                throw error
            }
            let size = zmq_msg_size(&msg)
            if let data = zmq_msg_data(&msg), size > 0 {
                frames.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
            } else {
                frames.append([])
            }
            if zmq_msg_more(&msg) == 0 { return frames }
        }
    }

    /// Waits up to `timeout` seconds for a message to arrive (nil waits forever).
    /// Returns true if one can be received now.
    public func waitForInput(timeout: Double?) throws -> Bool {
        var item = zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        let ms = timeout.map { max(0, Int($0 * 1000)) } ?? -1
        while true {
            let rc = zmq_poll(&item, 1, ms)
            if rc >= 0 { return item.revents & Int16(ZMQ_POLLIN) != 0 }
            let error = SleepfoldError.zmq("zmq_poll")
            if error.interrupted { continue }
            throw error
        }
    }
}
