import CZeroMQ
import Basics

/// A libzmq context: owns the I/O threads; every socket belongs to one.
///
/// Close all sockets of a context before the context goes away (the context's
/// deinit blocks in `zmq_ctx_term` until they are closed).
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    public init() throws {
        guard let h = zmq_ctx_new() else { throw SleepfoldError.zmq("zmq_ctx_new") }
        handle = h
    }

    deinit {
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    /// Whether this libzmq was built with CURVE security.
    public static var hasCurve: Bool { zmq_has("curve") != 0 }

    /// libzmq's version as "major.minor.patch".
    public static var libraryVersion: String {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}

#if canImport(Glibc)
import Glibc
#endif
