import Foundation
import Basics

/// Element type of a safetensors tensor (those sleepfold reads and writes:
/// F32 and I64 in checkpoints, I32 for the labels of a fold state).
public enum SafeTensorDType: String, Sendable, Equatable {
    case f32 = "F32"
    case i32 = "I32"
    case i64 = "I64"

    /// Bytes per element.
    public var size: Int { self == .i64 ? 8 : 4 }
}

/// One tensor of a safetensors file: type, shape and raw little-endian bytes.
public struct SafeTensor: Sendable, Equatable {
    public let dtype: SafeTensorDType
    public let shape: [Int]
    public let bytes: Data

    /// Number of elements (1 for a scalar of shape []).
    public var count: Int { shape.reduce(1, *) }

    /// A Float32 tensor.
    public init(floats: [Float], shape: [Int]) {
        dtype = .f32
        self.shape = shape
        bytes = floats.withUnsafeBufferPointer { p in
            Data(buffer: UnsafeBufferPointer(start: UnsafeRawPointer(p.baseAddress)?.assumingMemoryBound(to: UInt8.self),
                                             count: p.count * 4))
        }
    }

    /// An Int64 tensor.
    public init(int64s: [Int64], shape: [Int]) {
        dtype = .i64
        self.shape = shape
        bytes = int64s.withUnsafeBufferPointer { p in
            Data(buffer: UnsafeBufferPointer(start: UnsafeRawPointer(p.baseAddress)?.assumingMemoryBound(to: UInt8.self),
                                             count: p.count * 8))
        }
    }

    /// An Int32 tensor.
    public init(int32s: [Int32], shape: [Int]) {
        dtype = .i32
        self.shape = shape
        bytes = int32s.withUnsafeBufferPointer { p in
            Data(buffer: UnsafeBufferPointer(start: UnsafeRawPointer(p.baseAddress)?.assumingMemoryBound(to: UInt8.self),
                                             count: p.count * 4))
        }
    }

    init(dtype: SafeTensorDType, shape: [Int], bytes: Data) {
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// The elements as Float (Int64 values converted).
    public var floats: [Float] {
        switch dtype {
        case .f32:
            return bytes.withUnsafeBytes { raw in
                (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            }
        case .i32, .i64:
            return int64s.map { Float($0) }
        }
    }

    /// The elements as Int64 (Float values truncated).
    public var int64s: [Int64] {
        switch dtype {
        case .i64:
            return bytes.withUnsafeBytes { raw in
                (0..<count).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
            }
        case .i32:
            return bytes.withUnsafeBytes { raw in
                (0..<count).map { Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            }
        case .f32:
            return floats.map { Int64($0) }
        }
    }
}

/// A safetensors file: 8-byte little-endian header length, a JSON header
/// (`dtype`, `shape`, `data_offsets` relative to the data start, optional
/// `__metadata__` of strings), then the raw little-endian data.
public struct SafeTensorsFile: Sendable, Equatable {
    public var tensors: [String: SafeTensor] = [:]
    public var metadata: [String: String] = [:]

    /// Largest header sleepfold accepts (the format's own limit is 100 MB).
    static let maxHeaderBytes = 100_000_000

    public init() {}

    /// Reads a file; errors name the file and where in it the problem is
    /// (`.fileNotFound`, `.io`, `.invalidFile`).
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw SleepfoldError.fileAccess(error, file: url.path, cannot: "read")
        }
        try self.init(data: data, source: url.path)
    }

    /// Parses the bytes of a safetensors file; `source` names it in errors
    /// (`.invalidFile`, with the field: "header length", "__metadata__.x", "tensor 'x'").
    public init(data: Data, source: String = "safetensors data") throws {
        func bad(_ field: String?, found: String, expected: String) -> SleepfoldError {
            SleepfoldError(.invalidFile, file: source, field: field, found: found, expected: expected)
        }
        guard data.count >= 8 else {
            throw bad(nil, found: "\(data.count) bytes", expected: "at least 8 (the header length)")
        }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(min(Self.maxHeaderBytes, data.count - 8)) else {
            throw bad("header length", found: "\(headerLength)",
                      expected: "at most the \(data.count - 8) bytes after it (and \(Self.maxHeaderBytes))")
        }
        let start = data.startIndex
        let headerData = data.subdata(in: (start + 8)..<(start + 8 + Int(headerLength)))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw bad("header", found: "no JSON object", expected: "a JSON object of tensors")
        }
        let dataStart = start + 8 + Int(headerLength)
        let dataLength = data.count - 8 - Int(headerLength)
        for (name, value) in header {
            if name == "__metadata__" {
                guard let meta = value as? [String: Any] else {
                    throw bad("__metadata__", found: "\(type(of: value))", expected: "an object of strings")
                }
                for (k, v) in meta {
                    guard let s = v as? String else {
                        throw bad("__metadata__.\(k)", found: "\(type(of: v))", expected: "a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            let field = "tensor '\(name)'"
            guard let entry = value as? [String: Any] else {
                throw bad(field, found: "\(type(of: value))", expected: "an object (dtype, shape, data_offsets)")
            }
            guard let dtypeName = entry["dtype"] as? String else {
                throw bad(field, found: "no dtype", expected: "a dtype (F32, I32 or I64)")
            }
            guard let dtype = SafeTensorDType(rawValue: dtypeName) else {
                throw bad(field, found: "dtype \(dtypeName)", expected: "F32, I32 or I64")
            }
            guard let shapeAny = entry["shape"] as? [Any] else {
                throw bad(field, found: "no shape", expected: "a shape (a list of sizes)")
            }
            var shape: [Int] = []
            for d in shapeAny {
                guard let n = d as? Int, n >= 0 else {
                    throw bad(field, found: "shape \(shapeAny)", expected: "a list of sizes ≥ 0")
                }
                shape.append(n)
            }
            guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
                  let begin = offsets[0] as? Int, let end = offsets[1] as? Int else {
                throw bad(field, found: "data_offsets \(entry["data_offsets"].map { "\($0)" } ?? "absent")",
                          expected: "[begin, end]")
            }
            var count = 1
            for d in shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow else { throw bad(field, found: "shape \(shape)", expected: "fewer than 2⁶³ elements") }
                count = p
            }
            guard begin >= 0, end >= begin, end <= dataLength else {
                throw bad(field, found: "data_offsets [\(begin), \(end)]",
                          expected: "0 ≤ begin ≤ end ≤ \(dataLength) (the data bytes)")
            }
            let (bytes, bytesOverflow) = count.multipliedReportingOverflow(by: dtype.size)
            guard !bytesOverflow, end - begin == bytes else {
                throw bad(field, found: "\(end - begin) bytes",
                          expected: bytesOverflow ? "a tensor of fewer than 2⁶³ bytes" : "\(bytes) for \(dtypeName) \(shape)")
            }
            tensors[name] = SafeTensor(dtype: dtype, shape: shape,
                                       bytes: data.subdata(in: (dataStart + begin)..<(dataStart + end)))
        }
    }

    /// The tensor `name`, or `.missingTensor` naming the source and the tensor.
    public func tensor(_ name: String, source: String = "safetensors") throws -> SafeTensor {
        guard let t = tensors[name] else {
            throw SleepfoldError(.missingTensor, file: source, field: "tensor '\(name)'",
                                 "missing, expected a tensor of that name (the file has \(tensors.count))")
        }
        return t
    }

    /// The file's bytes: tensors in name order, header padded with spaces to 8 bytes.
    public func serialized() -> Data {
        let names = tensors.keys.sorted()
        var json = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let meta = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            parts.append("\"__metadata__\":{" + meta.joined(separator: ",") + "}")
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            let shape = t.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonString(name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],"
                         + "\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
            offset += t.bytes.count
        }
        json += parts.joined(separator: ",") + "}"
        var header = Data(json.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out = Data(capacity: 8 + header.count + offset)
        var length = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(header)
        for name in names { out.append(tensors[name]!.bytes) }
        return out
    }

    /// Writes the file atomically (`.fileNotFound` when its directory is missing, else `.io`).
    public func write(to url: URL) throws {
        do { try serialized().write(to: url, options: .atomic) } catch {
            throw SleepfoldError.fileAccess(error, file: url.path, cannot: "write")
        }
    }
}

extension SleepfoldError.Code {
    /// A safetensors file or checkpoint that is malformed or is not what it should be.
    public static let invalidFile = Self("invalidFile")
    /// A tensor the model needs is not in the file.
    public static let missingTensor = Self("missingTensor")
}

/// A JSON string literal for `s` (quotes, backslashes and control characters escaped).
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                out += String(format: "\\u%04x", u.value)
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}
