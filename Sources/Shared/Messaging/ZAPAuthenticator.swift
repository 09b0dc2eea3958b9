import CZeroMQ
import Basics

/// Admits CURVE clients by public key (ZeroMQ's ZAP protocol, RFC 27).
///
/// libzmq asks the ZAP handler bound at `inproc://zeromq.zap.01` in the same
/// context about every CURVE handshake; this handler says 200 to listed keys
/// and 400 to everyone else. Call `answerPending()` whenever its socket is
/// readable (poll `socket` alongside the server socket).
public final class ZAPAuthenticator {
    /// ZAP's fixed endpoint inside a context.
    public static let endpoint = "inproc://zeromq.zap.01"

    public let socket: ZMQSocket
    private let allowed: Set<String>
    /// Called with (client key, admitted) for each handshake, for logging.
    public var onDecision: ((String, Bool) -> Void)?

    /// - Parameter allowedKeys: client public keys in Z85 text.
    public init(context: ZMQContext, allowedKeys: [String]) throws {
        socket = try ZMQSocket(context, .reply)
        try socket.bind(Self.endpoint)
        allowed = Set(allowedKeys)
    }

    /// Answers every ZAP request queued now.
    public func answerPending() throws {
        while let request = try socket.receive(wait: false) {
            try socket.send(answer(request))
        }
    }

    private func answer(_ request: [[UInt8]]) -> [[UInt8]] {
        // version, request id, domain, address, routing id, mechanism, credentials…
        let requestID = request.count > 1 ? request[1] : []
        guard request.count >= 7, String(decoding: request[0], as: UTF8.self) == "1.0",
              String(decoding: request[5], as: UTF8.self) == "CURVE", request[6].count == 32 else {
            return reply(requestID, "400", "malformed or non-CURVE ZAP request")
        }
        let key = z85(request[6])
        let admitted = allowed.contains(key)
        onDecision?(key, admitted)
        return admitted ? reply(requestID, "200", "OK", user: key) : reply(requestID, "400", "public key not admitted")
    }

    private func reply(_ id: [UInt8], _ code: String, _ text: String, user: String = "") -> [[UInt8]] {
        [Array("1.0".utf8), id, Array(code.utf8), Array(text.utf8), Array(user.utf8), []]
    }

    private func z85(_ key: [UInt8]) -> String {
        var out = [CChar](repeating: 0, count: 41)
        _ = zmq_z85_encode(&out, key, key.count)
        return String(decoding: out.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
