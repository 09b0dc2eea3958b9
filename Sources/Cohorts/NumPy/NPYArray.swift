import Foundation
import Basics
import Recordings

/// An n-dimensional array as stored in an `.npy` file: dtype, shape and raw bytes.
///
/// `bytes` holds the elements in C (row-major) order, little-endian, exactly
/// `count × dtype.itemSize` bytes; the initializers guarantee it. Typed views come
/// from the accessors in `NPYArray+Conversion.swift` (`floats()`, `int32s()`, …),
/// typed construction from `init(_:shape:)`. A 0-d array (`shape == []`) is a scalar
/// holding one element, as numpy stores `fs`.
public struct NPYArray: Equatable, Sendable {
    /// Element type.
    public let dtype: NPYDType
    /// Dimensions, outermost first; `[]` for a scalar.
    public let shape: [Int]
    /// Element bytes, C order, little-endian.
    public let bytes: [UInt8]

    /// Number of elements: the product of `shape` (1 for a scalar).
    public var count: Int { bytes.count / dtype.itemSize }

    /// An array over raw little-endian bytes.
    ///
    /// - Throws: `SleepfoldError` (`.sizeMismatch`) when `bytes.count` is not the product of
    ///   `shape` times the item size, or a dimension is negative.
    public init(dtype: NPYDType, shape: [Int], bytes: [UInt8]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw SleepfoldError(.sizeMismatch, found: "shape \(describe(shape: shape))", expected: "dimensions ≥ 0")
        }
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw SleepfoldError(.sizeMismatch, found: "shape \(describe(shape: shape))", expected: "a shape whose size fits in memory")
            }
            count = product
        }
        let needed = count.multipliedReportingOverflow(by: dtype.itemSize)
        guard !needed.overflow, needed.partialValue == bytes.count else {
            throw SleepfoldError(.sizeMismatch,
                                 "\(bytes.count) bytes do not hold shape \(describe(shape: shape)) of \(dtype.rawValue) "
                                 + "(\(count) × \(dtype.itemSize) bytes needed)")
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// Internal initializer for callers that have already checked the size.
    init(unchecked dtype: NPYDType, shape: [Int], bytes: [UInt8]) {
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }
}

extension NPYArray {
    // Typed construction. `shape` is supplied by code, not read from a file, so a
    // product that differs from `values.count` is a programming error and traps.
    // The default shape is one dimension of `values.count`.

    /// A `<f4` array of `values`.
    public init(_ values: [Float], shape: [Int]? = nil) {
        self.init(encoding: values, dtype: .float32, shape: shape) { out, i, v in
            out.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
        }
    }

    /// A `<f8` array of `values`.
    public init(_ values: [Double], shape: [Int]? = nil) {
        self.init(encoding: values, dtype: .float64, shape: shape) { out, i, v in
            out.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
        }
    }

    /// A `<i4` array of `values`.
    public init(_ values: [Int32], shape: [Int]? = nil) {
        self.init(encoding: values, dtype: .int32, shape: shape) { out, i, v in
            out.storeBytes(of: v.littleEndian, toByteOffset: 4 * i, as: Int32.self)
        }
    }

    /// A `<i8` array of `values`.
    public init(_ values: [Int64], shape: [Int]? = nil) {
        self.init(encoding: values, dtype: .int64, shape: shape) { out, i, v in
            out.storeBytes(of: v.littleEndian, toByteOffset: 8 * i, as: Int64.self)
        }
    }

    /// An `|i1` array of `values`.
    public init(_ values: [Int8], shape: [Int]? = nil) {
        self.init(encoding: values, dtype: .int8, shape: shape) { out, i, v in out[i] = UInt8(bitPattern: v) }
    }

    /// A `|u1` array of `values`.
    public init(_ values: [UInt8], shape: [Int]? = nil) {
        self.init(encoding: values, dtype: .uint8, shape: shape) { out, i, v in out[i] = v }
    }

    /// A `|b1` array of `values`.
    public init(_ values: [Bool], shape: [Int]? = nil) {
        self.init(encoding: values, dtype: .bool, shape: shape) { out, i, v in out[i] = v ? 1 : 0 }
    }

    /// A `<U` array of `values`, as wide as the longest (at least 1), as numpy's `np.array(values)`.
    public init(strings values: [String], shape: [Int]? = nil) {
        let length = max(1, values.map(\.unicodeScalars.count).max() ?? 1)
        self.init(encoding: values, dtype: .unicode(length: length), shape: shape) { out, i, v in
            for (j, scalar) in v.unicodeScalars.enumerated() {
                out.storeBytes(of: scalar.value.littleEndian, toByteOffset: 4 * (i * length + j), as: UInt32.self)
            }
        }
    }

    /// A 0-d `<U` array (numpy's scalar for a Python str, as `np.savez(ch_label="EEG Fpz-Cz")` stores it).
    public init(scalar value: String) { self.init(strings: [value], shape: []) }

    /// A 0-d `<i8` array (numpy's scalar for a Python int, as `np.savez(fs=100)` stores it).
    public init(scalar value: Int64) { self.init([value], shape: []) }

    /// A 0-d `<f8` array (numpy's scalar for a Python float).
    public init(scalar value: Double) { self.init([value], shape: []) }

    /// The array with a new shape of the same element count (numpy's `reshape`).
    ///
    /// - Throws: `SleepfoldError` (`.sizeMismatch`) when the element counts differ.
    public func reshaped(_ shape: [Int]) throws -> NPYArray {
        try NPYArray(dtype: dtype, shape: shape, bytes: bytes)
    }

    /// Encodes `values` element by element with `store(buffer, index, value)`.
    private init<T>(encoding values: [T], dtype: NPYDType, shape: [Int]?,
                    store: (UnsafeMutableRawBufferPointer, Int, T) -> Void) {
        let shape = shape ?? [values.count]
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == values.count,
                     "NPYArray: shape \(describe(shape: shape)) does not hold \(values.count) values")
        var bytes = [UInt8](repeating: 0, count: values.count * dtype.itemSize)
        bytes.withUnsafeMutableBytes { out in
            for (i, value) in values.enumerated() { store(out, i, value) }
        }
        self.init(unchecked: dtype, shape: shape, bytes: bytes)
    }
}
