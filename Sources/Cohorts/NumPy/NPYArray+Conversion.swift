import Basics
import Recordings
/// Typed views of an `NPYArray`.
///
/// Every accessor converts from any dtype whose values it can represent exactly
/// (e.g. `<i8` → `[Int32]` when all values fit, `<f8` 100.0 → `Int` 100, `|b1` → 0/1)
/// and throws `SleepfoldError` (`.conversion`) naming the first value that does not fit.
/// The one lossy conversion is `floats()` on `<f8`, which rounds to the nearest
/// `Float` (signals are stored as float32 anyway). Values come out in C order.
extension NPYArray {
    /// The values as `Float`; `<f8` is rounded to the nearest `Float`, integers must be exact.
    public func floats() throws -> [Float] {
        if dtype == .float32 { return loadFloat32() }
        if dtype == .float64 { return loadFloat64().map { Float($0) } }
        return try converted(to: "float32", fromInteger: { Float(exactly: $0) }, fromFloat: { _ in nil })
    }

    /// The values as `Double` (exact for every dtype except integers beyond 2^53).
    public func doubles() throws -> [Double] {
        if dtype == .float32 { return loadFloat32().map { Double($0) } }
        if dtype == .float64 { return loadFloat64() }
        return try converted(to: "float64", fromInteger: { Double(exactly: $0) }, fromFloat: { _ in nil })
    }

    /// The values as `Int32`: integers within range, floats with integral values.
    public func int32s() throws -> [Int32] {
        try converted(to: "int32", fromInteger: { Int32(exactly: $0) }, fromFloat: { Int32(exactly: $0) })
    }

    /// The values as `Int64`: any integer, floats with integral values.
    public func int64s() throws -> [Int64] {
        try converted(to: "int64", fromInteger: { $0 }, fromFloat: { Int64(exactly: $0) })
    }

    /// The values as `UInt8`: integers within 0…255, floats with such integral values.
    public func uint8s() throws -> [UInt8] {
        try converted(to: "uint8", fromInteger: { UInt8(exactly: $0) }, fromFloat: { UInt8(exactly: $0) })
    }

    /// The values as `Bool`: booleans, or numbers that are exactly 0 or 1.
    public func bools() throws -> [Bool] {
        try converted(to: "bool",
                      fromInteger: { $0 == 0 ? false : $0 == 1 ? true : nil },
                      fromFloat: { $0 == 0 ? false : $0 == 1 ? true : nil })
    }

    /// The values of a `<U` array as strings (trailing NULs removed, as numpy does).
    /// Code points that are not Unicode scalars are an error.
    public func strings() throws -> [String] {
        guard case .unicode(let length) = dtype else {
            throw SleepfoldError(.conversion, "array is \(dtype.rawValue) of shape \(describe(shape: shape)), expected strings ('<U')")
        }
        return try bytes.withUnsafeBytes { raw in
            try (0..<count).map { i in
                var scalars = String.UnicodeScalarView()
                for j in 0..<length {
                    let code = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * (i * length + j), as: UInt32.self))
                    if code == 0 { break }
                    guard let scalar = Unicode.Scalar(code) else {
                        throw SleepfoldError(.conversion, found: "code point \(code) in string \(i)",
                                             expected: "Unicode scalar values")
                    }
                    scalars.append(scalar)
                }
                return String(scalars)
            }
        }
    }

    /// The single string of a scalar (or any one-element) `<U` array.
    public func stringScalar() throws -> String {
        try requireSingleValue()
        return try strings()[0]
    }

    /// The single value of a scalar (or any one-element array) as `Double`.
    public func doubleScalar() throws -> Double {
        try requireSingleValue()
        return try doubles()[0]
    }

    /// The single value of a scalar (or any one-element array) as `Int`, which must be exact.
    public func intScalar() throws -> Int {
        try requireSingleValue()
        let value = try int64s()[0]
        guard let result = Int(exactly: value) else {
            throw SleepfoldError(.conversion, found: "value \(value)", expected: "an integer that fits in Int")
        }
        return result
    }

    private func requireSingleValue() throws {
        guard count == 1 else {
            throw SleepfoldError(.conversion, "expected a single value, found shape \(describe(shape: shape))")
        }
    }

    /// Converts element by element; integers (and booleans) arrive as Int64,
    /// floats as Double, and a nil from a converter is an error at that index.
    private func converted<T>(to target: String, fromInteger: (Int64) -> T?, fromFloat: (Double) -> T?) throws -> [T] {
        func failure(_ index: Int, _ value: String) -> SleepfoldError {
            SleepfoldError(.conversion, found: "value \(value) at index \(index) of a \(dtype.rawValue) array of shape "
                           + describe(shape: shape), expected: "values that \(target) represents exactly")
        }
        guard !dtype.isString else {
            throw SleepfoldError(.conversion, "array is \(dtype.rawValue) (strings) of shape \(describe(shape: shape)), "
                                 + "expected numbers to convert to \(target)")
        }
        var result: [T] = []
        result.reserveCapacity(count)
        if dtype.isFloatingPoint {
            let values = dtype == .float32 ? loadFloat32().map { Double($0) } : loadFloat64()
            for (i, value) in values.enumerated() {
                guard let converted = fromFloat(value) else { throw failure(i, "\(value)") }
                result.append(converted)
            }
        } else {
            for (i, value) in loadIntegers().enumerated() {
                guard let converted = fromInteger(value) else { throw failure(i, "\(value)") }
                result.append(converted)
            }
        }
        return result
    }

    /// Decodes `<f4` bytes.
    private func loadFloat32() -> [Float] {
        bytes.withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    /// Decodes `<f8` bytes.
    private func loadFloat64() -> [Double] {
        bytes.withUnsafeBytes { raw in
            (0..<count).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) }
        }
    }

    /// Decodes any integer or boolean dtype to Int64.
    private func loadIntegers() -> [Int64] {
        bytes.withUnsafeBytes { raw in
            switch dtype {
            case .int8: return raw.map { Int64(Int8(bitPattern: $0)) }
            case .uint8: return raw.map { Int64($0) }
            case .bool: return raw.map { $0 == 0 ? 0 : 1 }
            case .int32:
                return (0..<count).map { Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            case .int64:
                return (0..<count).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
            case .float32, .float64, .unicode:
                return []  // callers route floating-point and string dtypes elsewhere
            }
        }
    }
}
