import CZeroMQ

/// A libzmq call failed: which call, the errno and libzmq's text for it
/// (as SwiftNIO's `IOError` wraps errno).
public struct ZMQError: Error, CustomStringConvertible, Sendable {
    /// The libzmq function (and its subject, e.g. the endpoint) that failed.
    public let call: String
    /// errno as libzmq reported it (`zmq_errno()`).
    public let errno: Int32

    public init(call: String, errno: Int32 = zmq_errno()) {
        self.call = call
        self.errno = errno
    }

    /// True when a non-blocking call found nothing to do (EAGAIN).
    public var wouldBlock: Bool { errno == EAGAIN }
    /// True when the call was interrupted by a signal (EINTR): retry it.
    public var interrupted: Bool { errno == EINTR }

    public var description: String {
        "\(call) failed: \(String(cString: zmq_strerror(errno))) (errno \(errno))"
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Basics
