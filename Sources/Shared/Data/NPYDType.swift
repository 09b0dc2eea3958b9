/// An element type of an `.npy` array that sleepfold reads and writes.
///
/// Only little-endian (or byte-order-free one-byte) types are supported; the raw
/// value is the `descr` numpy writes for the type.
public enum NPYDType: String, CaseIterable, Sendable, Codable {
    case float32 = "<f4"
    case float64 = "<f8"
    case int8 = "|i1"
    case uint8 = "|u1"
    case bool = "|b1"
    case int32 = "<i4"
    case int64 = "<i8"

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .int8, .uint8, .bool: return 1
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        }
    }

    /// Whether the type holds floating-point values.
    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }

    /// Whether the type holds integers (booleans excluded).
    public var isInteger: Bool { self == .int8 || self == .uint8 || self == .int32 || self == .int64 }

    /// Interprets a numpy `descr` string.
    ///
    /// One-byte types accept any byte-order mark (`|u1`, `<u1`, `>u1`, `=u1`); wider
    /// types must be little-endian (`<`). Big-endian and unknown types are errors.
    public init(descr: String) throws {
        let supported = NPYDType.allCases.map(\.rawValue).joined(separator: ", ")
        guard let order = descr.first, "<>|=".contains(order) else {
            throw DataError(.unsupportedDType,
                            "dtype '\(descr)' is not supported (expected one of \(supported))")
        }
        let kind = String(descr.dropFirst())
        let oneByte: [String: NPYDType] = ["i1": .int8, "u1": .uint8, "b1": .bool]
        let wide: [String: NPYDType] = ["f4": .float32, "f8": .float64, "i4": .int32, "i8": .int64]
        if let type = oneByte[kind] {
            self = type
        } else if let type = wide[kind] {
            guard order != ">" else {
                throw DataError(.bigEndian,
                                "dtype '\(descr)' is big-endian; save the array as little-endian ('<\(kind)')")
            }
            guard order == "<" else {
                throw DataError(.unsupportedDType,
                                "dtype '\(descr)' has no explicit byte order (expected '<\(kind)')")
            }
            self = type
        } else {
            throw DataError(.unsupportedDType,
                            "dtype '\(descr)' is not supported (expected one of \(supported))")
        }
    }
}
