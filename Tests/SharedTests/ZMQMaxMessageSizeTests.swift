import Foundation
import Testing
import Basics
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// A hostile peer announcing a frame over the limit is disconnected by libzmq after
/// the frame header, before its body is read: the receiver never holds it.
@Suite(.serialized) struct ZMQMaxMessageSizeTests {
    static let limit = 1 << 20                 // bytes, the receiver's ZMQ_MAXMSGSIZE
    static let announced: UInt64 = 1 << 30     // bytes, the frame size the peer claims
    static let streamed = 256 << 20            // bytes the peer tries to send of it

    /// Speaks ZMTP 3.0 (NULL mechanism, as a DEALER) on a raw TCP connection, announces one
    /// frame of `announced` bytes and streams zeros; returns how many body bytes the
    /// receiver took before the connection failed (all of `streamed` if it never did).
    static func hostileDealer(port: UInt16) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(rc == 0)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        // Greeting: signature, version 3.0, mechanism "NULL", as-server 0, filler.
        var greeting: [UInt8] = [0xFF] + [UInt8](repeating: 0, count: 8) + [0x7F, 3, 0]
        greeting += Array("NULL".utf8) + [UInt8](repeating: 0, count: 16)
        greeting += [UInt8](repeating: 0, count: 32)
        // READY command with Socket-Type DEALER.
        var ready: [UInt8] = [5] + Array("READY".utf8)
        ready += [UInt8("Socket-Type".utf8.count)] + Array("Socket-Type".utf8)
        ready += [0, 0, 0, 6] + Array("DEALER".utf8)
        let command: [UInt8] = [0x04, UInt8(ready.count)] + ready
        // One last frame (flags 0x02: long size), of `announced` bytes.
        let header: [UInt8] = [0x02] + (0..<8).map { UInt8(truncatingIfNeeded: announced >> (8 * (7 - $0))) }
        guard writeAll(fd, greeting + command + header) else { return 0 }

        let block = [UInt8](repeating: 0, count: 1 << 20)
        var sent = 0
        while sent < streamed {
            let n = block.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        return sent
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    @Test func peerAnnouncingAnOversizedFrameIsDisconnectedBeforeItIsRead() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context, .router)
        try router.setMaxMessageSize(Self.limit)
        try router.bind("tcp://127.0.0.1:*")
        let port = try #require(UInt16(try router.lastEndpoint.split(separator: ":").last ?? ""))

        let before = peakResidentBytes()
        let sent = Self.hostileDealer(port: port)
        // The kernel's socket buffers take a few MiB before libzmq closes the connection.
        #expect(sent < 32 << 20, "the receiver took \(sent >> 20) MiB of a frame over its limit")
        #expect(try router.receive(wait: false) == nil)
        let grown = peakResidentBytes() - before
        #expect(grown < 64 << 20, "peak resident memory grew by \(grown >> 20) MiB")

        // An honest peer still gets through.
        let dealer = try ZMQSocket(context, .dealer)
        try dealer.setRoutingID(Array("honest".utf8))
        try dealer.connect(try router.lastEndpoint)
        try dealer.send([[UInt8](repeating: 7, count: Self.limit)])
        #expect(try router.waitForInput(timeout: 5))
        #expect(try router.receive()?.last?.count == Self.limit)
    }
}
