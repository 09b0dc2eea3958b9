import Basics
import Recordings
/// An element type of an `.npy` array that sleepfold reads and writes.
///
/// Only little-endian (or byte-order-free one-byte) types are supported;
/// `rawValue` is the `descr` numpy writes for the type. Besides the numeric types
/// there is numpy's fixed-width Unicode string (`<U10`: 10 UCS-4 code points per
/// element, NUL-padded), which DeepSleepNet-style files use for `ch_label`.
public enum NPYDType: Hashable, Sendable, Codable {
    case float32, float64, int8, uint8, bool, int32, int64
    /// A string of at most `length` Unicode scalars, stored as `length` little-endian UInt32.
    case unicode(length: Int)

    /// The numeric types, in the order error messages list them.
    public static let allCases: [NPYDType] = [.float32, .float64, .int8, .uint8, .bool, .int32, .int64]

    /// numpy's `descr` for the type (`<f4`, `|u1`, `<U10`, …).
    public var rawValue: String {
        switch self {
        case .float32: return "<f4"
        case .float64: return "<f8"
        case .int8: return "|i1"
        case .uint8: return "|u1"
        case .bool: return "|b1"
        case .int32: return "<i4"
        case .int64: return "<i8"
        case .unicode(let length): return "<U\(length)"
        }
    }

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .int8, .uint8, .bool: return 1
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        case .unicode(let length): return 4 * length
        }
    }

    /// Whether the type holds floating-point values.
    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }

    /// Whether the type holds integers (booleans excluded).
    public var isInteger: Bool { self == .int8 || self == .uint8 || self == .int32 || self == .int64 }

    /// Whether the type holds strings.
    public var isString: Bool {
        if case .unicode = self { return true }
        return false
    }

    /// Interprets a numpy `descr` string.
    ///
    /// One-byte types accept any byte-order mark (`|u1`, `<u1`, `>u1`, `=u1`); wider
    /// types must be little-endian (`<`). Big-endian and unknown types are errors.
    public init(descr: String) throws {
        let supported = NPYDType.allCases.map(\.rawValue).joined(separator: ", ") + ", <U<n>"
        guard let order = descr.first, "<>|=".contains(order) else {
            throw SleepfoldError(.unsupportedDType, found: "dtype '\(descr)'", expected: "one of \(supported)")
        }
        let kind = String(descr.dropFirst())
        let oneByte: [String: NPYDType] = ["i1": .int8, "u1": .uint8, "b1": .bool]
        let wide: [String: NPYDType] = ["f4": .float32, "f8": .float64, "i4": .int32, "i8": .int64]
        var type: NPYDType?
        if let t = oneByte[kind] {
            self = t
            return
        }
        if let t = wide[kind] {
            type = t
        } else if kind.first == "U", let length = Int(kind.dropFirst()), length >= 1, length <= 1 << 20 {
            type = .unicode(length: length)
        }
        guard let type else {
            throw SleepfoldError(.unsupportedDType, found: "dtype '\(descr)'", expected: "one of \(supported)")
        }
        guard order != ">" else {
            throw SleepfoldError(.bigEndian, found: "big-endian dtype '\(descr)'",
                                 expected: "little-endian '<\(kind)' (save the array as little-endian)")
        }
        guard order == "<" else {
            throw SleepfoldError(.unsupportedDType, found: "dtype '\(descr)' without an explicit byte order",
                                 expected: "'<\(kind)'")
        }
        self = type
    }

    // Coded as its descr, e.g. "<f4".
    public init(from decoder: Decoder) throws {
        self = try NPYDType(descr: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}
