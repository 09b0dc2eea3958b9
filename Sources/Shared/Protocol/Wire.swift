import Foundation
import SwiftProtobuf
import Basics

/// Framing of sleepfold messages on a ZeroMQ socket: a protocol-version frame,
/// then one serialized `Sleepfold_Envelope` (see protocols/sleepfold.proto).
public enum Wire {
    /// Bumped whenever sleepfold.proto changes incompatibly.
    public static let protocolVersion = 1
    /// The version frame every message starts with.
    public static let versionFrame: [UInt8] = Array("SLEEPFOLD/\(protocolVersion)".utf8)

    /// Why a received message was dropped.
    public enum DecodeError: Error, CustomStringConvertible, Equatable {
        case frameCount(Int)
        case version(String)
        case malformed(String)

        public var description: String {
            switch self {
            case .frameCount(let n): return "expected 2 frames (version, envelope), got \(n)"
            case .version(let v): return "protocol version \"\(v)\", expected \"SLEEPFOLD/\(Wire.protocolVersion)\""
            case .malformed(let why): return "malformed envelope: \(why)"
            }
        }
    }

    /// The frames of a message (without any ROUTER routing id).
    public static func frames(_ envelope: Sleepfold_Envelope) throws -> [[UInt8]] {
        [versionFrame, try envelope.serializedBytes()]
    }

    /// Decodes the frames of a message (without any ROUTER routing id).
    /// Never traps on bad input; unknown fields are kept by SwiftProtobuf and ignored.
    public static func decode(_ frames: [[UInt8]]) throws(DecodeError) -> Sleepfold_Envelope {
        guard frames.count == 2 else { throw .frameCount(frames.count) }
        guard frames[0] == versionFrame else {
            throw .version(String(decoding: frames[0].prefix(64), as: UTF8.self))
        }
        let envelope: Sleepfold_Envelope
        do {
            envelope = try Sleepfold_Envelope(serializedBytes: frames[1])
        } catch {
            throw .malformed("\(error)")
        }
        guard envelope.body != nil else { throw .malformed("no body set") }
        return envelope
    }
}

extension ZMQSocket {
    /// Sends one envelope (DEALER side, or ROUTER side with `to` a routing id).
    public func send(_ envelope: Sleepfold_Envelope, to routingID: [UInt8]? = nil) throws {
        var frames = try Wire.frames(envelope)
        if let routingID { frames.insert(routingID, at: 0) }
        try send(frames)
    }
}
