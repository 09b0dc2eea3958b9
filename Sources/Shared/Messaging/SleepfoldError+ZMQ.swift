#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZeroMQ
import Basics

extension SleepfoldError.Code {
    /// A libzmq call failed: the call in the message, errno in `errno`, libzmq's text for it.
    public static let zmq = Self("zmq")
}

extension SleepfoldError {
    /// A failed libzmq call: which call (and its subject, e.g. the endpoint), errno as
    /// libzmq reported it (`zmq_errno()`) and libzmq's text for it, as SwiftNIO's
    /// `IOError` wraps errno: "zmq_bind tcp://x:1 failed: Address in use (errno 98)".
    public static func zmq(_ call: String, errno: Int32 = zmq_errno()) -> SleepfoldError {
        SleepfoldError(.zmq, "\(call) failed: \(String(cString: zmq_strerror(errno))) (errno \(errno))", errno: errno)
    }

    /// True when a non-blocking call found nothing to do (errno EAGAIN).
    public var wouldBlock: Bool { errno == EAGAIN }
    /// True when the call was interrupted by a signal (errno EINTR): retry it.
    public var interrupted: Bool { errno == EINTR }
}
