import Foundation
import SwiftProtobuf
import Basics

/// Framing of sleepfold messages on a ZeroMQ socket: a protocol-version frame,
/// then one serialized `Sleepfold_Envelope` (see protocols/sleepfold.proto).
public enum Wire {
    /// Bumped whenever sleepfold.proto or the meaning of its messages changes incompatibly
    /// (4: the next task may come before the previous result's acknowledgement).
    public static let protocolVersion = 4
    /// Results a worker holds unacknowledged at most (protocol 4): it keeps each until the
    /// coordinator acknowledges it (on disk) or rejects it, re-sends them in order after every
    /// (re)connect, and refuses a task while it holds this many; the coordinator sends no task
    /// to a worker with this many results not yet acknowledged. One is the normal case (the
    /// previous fold's, while its journal line is synced); more only while the coordinator's
    /// disk is slower than a fold, or across a coordinator restart.
    public static let maxUnacknowledgedResults = 4
    /// The version frame every message starts with.
    public static let versionFrame: [UInt8] = Array("SLEEPFOLD/\(protocolVersion)".utf8)

    /// The frames of a message (without any ROUTER routing id).
    public static func frames(_ envelope: Sleepfold_Envelope) throws(SleepfoldError) -> [[UInt8]] {
        do {
            return [versionFrame, try envelope.serializedBytes()]
        } catch {
            throw SleepfoldError(.badEnvelope, field: "envelope", found: "a message that does not serialize (\(error))",
                                 expected: "a complete Sleepfold_Envelope")
        }
    }

    /// Decodes the frames of a message (without any ROUTER routing id).
    /// Never traps on bad input; unknown fields are kept by SwiftProtobuf and ignored.
    ///
    /// - Throws: `SleepfoldError` (no file; the frame as the field): `.badFrames` for a
    ///   frame count other than 2, `.badVersion` for another protocol version, and
    ///   `.badEnvelope` for bytes that are no `Sleepfold_Envelope` or one without a body.
    public static func decode(_ frames: [[UInt8]]) throws(SleepfoldError) -> Sleepfold_Envelope {
        guard frames.count == 2 else {
            throw SleepfoldError(.badFrames, field: "frames", found: "\(frames.count)", expected: "2 (version, envelope)")
        }
        guard frames[0] == versionFrame else {
            throw SleepfoldError(.badVersion, field: "version frame",
                                 found: "\"\(String(decoding: frames[0].prefix(64), as: UTF8.self))\"",
                                 expected: "\"SLEEPFOLD/\(protocolVersion)\"")
        }
        let envelope: Sleepfold_Envelope
        do {
            envelope = try Sleepfold_Envelope(serializedBytes: frames[1])
        } catch {
            throw SleepfoldError(.badEnvelope, field: "envelope frame", found: "\(frames[1].count) bytes that do not decode (\(error))",
                                 expected: "a serialized Sleepfold_Envelope")
        }
        guard envelope.body != nil else {
            throw SleepfoldError(.badEnvelope, field: "envelope frame", found: "an envelope without a body",
                                 expected: "one message (hello, fold task, result, …)")
        }
        return envelope
    }
}

// Codes of the wire protocol (another protocol version is Basics' `.badVersion`).
extension SleepfoldError.Code {
    /// A message with a number of frames other than the protocol's.
    public static let badFrames = Self("badFrames")
    /// A message whose envelope frame does not decode, or decodes to an envelope without a body.
    public static let badEnvelope = Self("badEnvelope")
}

extension ZMQSocket {
    /// Sends one envelope (DEALER side, or ROUTER side with `to` a routing id).
    public func send(_ envelope: Sleepfold_Envelope, to routingID: [UInt8]? = nil) throws {
        var frames = try Wire.frames(envelope)
        if let routingID { frames.insert(routingID, at: 0) }
        try send(frames)
    }
}
