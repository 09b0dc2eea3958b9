import Basics
import Recordings
/// Version of the `.npy` format: 1.0 (16-bit header length), 2.0 (32-bit header
/// length) or 3.0 (32-bit length, UTF-8 header).
public enum NPYVersion: UInt8, Sendable, CaseIterable {
    case v1 = 1
    case v2 = 2
    case v3 = 3
}

/// The header of an `.npy` array: format version, dtype, shape and where the data starts.
///
/// Only C-order arrays of the dtypes in `NPYDType` are accepted; parsing rejects
/// Fortran order, big-endian and other dtypes with a `SleepfoldError` (without a file or
/// field: the archive or file reading it adds them).
public struct NPYHeader: Equatable, Sendable {
    /// Format version the header was written with.
    public var version: NPYVersion
    /// Element type.
    public var dtype: NPYDType
    /// Dimensions, outermost first; `[]` for a 0-d scalar.
    public var shape: [Int]
    /// Byte offset of the first element (magic, length field and header text).
    public var dataOffset: Int
    /// Number of elements (1 for a scalar).
    public var count: Int
    /// Number of data bytes the shape and dtype need.
    public var byteCount: Int { count * dtype.itemSize }

    /// The 6-byte magic string every `.npy` file starts with.
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    /// numpy pads headers so that data starts on a multiple of 64 bytes.
    static let alignment = 64

    /// Parses the header at the start of `bytes`.
    ///
    /// Returns nil when `bytes` holds only a prefix of the header and more bytes
    /// are needed (streaming readers call it again with more); `isComplete` says
    /// that no more bytes will come, and turns a short header into an error.
    static func parse(prefix bytes: UnsafeRawBufferPointer, isComplete: Bool) throws -> NPYHeader? {
        func needMore(_ what: String) throws -> NPYHeader? {
            if isComplete {
                throw SleepfoldError(.truncated, "found the end of the data inside the .npy header (\(what)), expected the whole header")
            }
            return nil
        }
        let prefixLength = min(bytes.count, magic.count)
        guard Array(bytes[0..<prefixLength]) == Array(magic[0..<prefixLength]) else {
            throw SleepfoldError(.badMagic, "found no '\\x93NUMPY' magic string at the start, expected an .npy array")
        }
        guard bytes.count >= 8 else { return try needMore("magic and version") }
        guard bytes[7] == 0, let version = NPYVersion(rawValue: bytes[6]) else {
            throw SleepfoldError(.badVersion, found: ".npy format version \(bytes[6]).\(bytes[7])", expected: "1.0, 2.0 or 3.0")
        }
        let lengthSize = version == .v1 ? 2 : 4
        guard bytes.count >= 8 + lengthSize else { return try needMore("header length") }
        var headerLength = 0
        for i in 0..<lengthSize { headerLength |= Int(bytes[8 + i]) << (8 * i) }
        let dataOffset = 8 + lengthSize + headerLength
        guard bytes.count >= dataOffset else { return try needMore("header of \(headerLength) bytes") }

        let headerBytes = Array(bytes[(8 + lengthSize)..<dataOffset])
        // v1/v2 headers are Latin-1, v3 headers UTF-8.
        let text: String
        if version == .v3 {
            guard let utf8 = String(validating: headerBytes, as: UTF8.self) else {
                throw SleepfoldError(.malformedHeader, found: "a version 3.0 header that is not valid UTF-8", expected: "UTF-8 text")
            }
            text = utf8
        } else {
            text = String(String.UnicodeScalarView(headerBytes.map { Unicode.Scalar($0) }))
        }
        let (dtype, shape) = try interpret(header: text)
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw SleepfoldError(.malformedHeader, found: "shape \(describe(shape: shape))", expected: "a shape whose size fits in memory")
            }
            count = product
        }
        guard !count.multipliedReportingOverflow(by: dtype.itemSize).overflow else {
            throw SleepfoldError(.malformedHeader, found: "shape \(describe(shape: shape))", expected: "a shape whose size fits in memory")
        }
        return NPYHeader(version: version, dtype: dtype, shape: shape, dataOffset: dataOffset, count: count)
    }

    /// Reads dtype and shape from the header dictionary text.
    private static func interpret(header text: String) throws -> (NPYDType, [Int]) {
        let literal: PythonLiteral
        switch PythonLiteral.parse(text) {
        case .success(let value): literal = value
        case .failure(let failure):
            throw SleepfoldError(.malformedHeader, found: "header \(text.trimmed) (\(failure.reason))",
                                 expected: "a Python dictionary literal")
        }
        guard case .dict(let entries) = literal else {
            throw SleepfoldError(.malformedHeader, found: "header \(text.trimmed)", expected: "a dictionary")
        }
        var fields: [String: PythonLiteral] = [:]
        for entry in entries {
            guard case .string(let key) = entry.key else {
                throw SleepfoldError(.malformedHeader, found: "a non-string key in header \(text.trimmed)", expected: "string keys")
            }
            fields[key] = entry.value
        }
        let expectedKeys: Set<String> = ["descr", "fortran_order", "shape"]
        guard Set(fields.keys) == expectedKeys else {
            throw SleepfoldError(.malformedHeader, found: "header keys \(fields.keys.sorted())",
                                 expected: "['descr', 'fortran_order', 'shape']")
        }
        guard case .bool(let fortranOrder)? = fields["fortran_order"] else {
            throw SleepfoldError(.malformedHeader, found: "'fortran_order' of another kind in header \(text.trimmed)",
                                 expected: "True or False")
        }
        guard case .tuple(let dimensions)? = fields["shape"] else {
            throw SleepfoldError(.malformedHeader, found: "'shape' of another kind in header \(text.trimmed)", expected: "a tuple")
        }
        var shape: [Int] = []
        for dimension in dimensions {
            guard case .int(let size) = dimension, size >= 0 else {
                throw SleepfoldError(.malformedHeader, found: "a 'shape' entry of another kind in header \(text.trimmed)",
                                     expected: "non-negative integers")
            }
            shape.append(size)
        }
        let dtype: NPYDType
        switch fields["descr"] {
        case .string(let descr)?: dtype = try NPYDType(descr: descr)
        default:
            throw SleepfoldError(.unsupportedDType, found: "a structured dtype (descr \(describeDescr(fields["descr"])))",
                                 expected: "a plain type like '<f4'")
        }
        // Order matters only for arrays with two or more dimensions above size 1,
        // but numpy sets the flag only when it matters too; reject it outright.
        if fortranOrder && shape.filter({ $0 > 1 }).count > 1 {
            throw SleepfoldError(.fortranOrder, "found an array of shape \(describe(shape: shape)) in Fortran order, "
                                 + "expected C order (save it with np.ascontiguousarray)")
        }
        return (dtype, shape)
    }

    private static func describeDescr(_ value: PythonLiteral?) -> String {
        switch value {
        case .list?: return "a list of fields"
        case .none?, nil: return "nothing"
        default: return "a non-string value"
        }
    }

    /// Encodes a header for `dtype` and `shape` as numpy does: the dictionary,
    /// space padding to a 64-byte boundary, and a final newline.
    static func encode(dtype: NPYDType, shape: [Int], version: NPYVersion) -> [UInt8] {
        let dict = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(describe(shape: shape)), }"
        var text = Array(dict.utf8)
        // A v1 header length must fit in 16 bits; numpy switches to 2.0 then.
        let version = (version == .v1 && text.count + 64 > Int(UInt16.max)) ? .v2 : version
        let lengthSize = version == .v1 ? 2 : 4
        let unpadded = magic.count + 2 + lengthSize + text.count + 1
        let padding = (alignment - unpadded % alignment) % alignment
        text += Array(repeating: UInt8(ascii: " "), count: padding)
        text.append(UInt8(ascii: "\n"))
        var bytes = magic + [version.rawValue, 0]
        for i in 0..<lengthSize { bytes.append(UInt8(truncatingIfNeeded: text.count >> (8 * i))) }
        return bytes + text
    }
}

/// A shape as Python prints a tuple: `()`, `(3,)`, `(2, 3000)`.
func describe(shape: [Int]) -> String {
    shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
}

extension String {
    /// The string without surrounding whitespace, for quoting headers in messages.
    var trimmed: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}

// Codes of the `.npy` format (`.badMagic` is declared in Recordings, `.badVersion`,
// `.malformedHeader` and `.truncated` in Basics).
extension SleepfoldError.Code {
    /// The array is stored in Fortran (column-major) order.
    public static let fortranOrder = Self("fortranOrder")
    /// The dtype is big-endian (`>f4`, …).
    public static let bigEndian = Self("bigEndian")
    /// The dtype is not one of those `NPYDType` supports.
    public static let unsupportedDType = Self("unsupportedDType")
    /// More data bytes than the header's shape and dtype need, or bytes that do not match a shape.
    public static let sizeMismatch = Self("sizeMismatch")
    /// A typed accessor cannot represent a value exactly in the requested type, or the
    /// array has the wrong element kind or element count for it.
    public static let conversion = Self("conversion")
}
