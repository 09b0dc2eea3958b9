import Foundation

/// The framing of a safetensors file, checked without the model core (the
/// coordinator does not import SleepNet): an 8-byte little-endian header length,
/// a JSON object header, then the data. Each tensor entry names a known `dtype`,
/// a `shape` and `data_offsets` [begin, end] relative to the data start, whose
/// size is the shape's element count × the dtype's size; the tensors tile the
/// data exactly, without gaps or overlaps. `__metadata__` is an object of strings.
enum SafetensorsFraming {
    static let maxHeaderBytes = 100 << 20   // bytes, as the format's reference reader

    static let dtypeBytes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
    ]

    /// A sound file's parts: its metadata, and each tensor's byte range in the file
    /// (offsets from the file's first byte).
    struct Layout {
        var metadata: [String: String] = [:]
        var tensors: [String: Range<Int>] = [:]
    }

    /// What is wrong with `data` as a safetensors file; nil when its framing is sound.
    static func problem(in data: Data) -> String? {
        if case .failure(let problem) = layout(of: data) { return problem.text }
        return nil
    }

    struct Problem: Error { let text: String }

    /// How a problem names a header value: as it was written, for numbers.
    private static func text(_ value: HeaderJSON) -> String {
        switch value {
        case .integer(let n): "\(n)"
        case .number(let x): "\(x)"
        case .string(let s): "\"\(s)\""
        default: "\(value)"
        }
    }

    /// The layout of `data`, or what is wrong with its framing.
    static func layout(of data: Data) -> Result<Layout, Problem> {
        func fail(_ text: String) -> Result<Layout, Problem> { .failure(Problem(text: text)) }
        let count = data.count, base = data.startIndex
        guard count >= 8 else { return fail("\(count) bytes, fewer than the 8-byte header length") }
        var headerLength: UInt64 = 0
        for i in (0..<8).reversed() { headerLength = headerLength << 8 | UInt64(data[base + i]) }
        guard headerLength <= UInt64(min(maxHeaderBytes, count - 8)) else {
            return fail("a header length of \(headerLength) bytes in a file of \(count) bytes")
        }
        let dataStart = 8 + Int(headerLength), dataSize = count - dataStart
        guard case .object(let header)? = data.withUnsafeBytes({ raw in
            HeaderJSON.parse(UnsafeRawBufferPointer(rebasing: raw[8..<dataStart]))
        }) else {
            return fail("a header that is not a JSON object")
        }
        var layout = Layout()
        var ranges: [(begin: Int, end: Int, name: String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard case .object(let metadata) = value else { return fail("__metadata__ that is not an object of strings") }
                for (key, value) in metadata {
                    guard case .string(let string) = value else { return fail("__metadata__ that is not an object of strings") }
                    layout.metadata[key] = string
                }
                continue
            }
            guard case .object(let entry) = value, case .string(let dtype)? = entry["dtype"],
                  let size = dtypeBytes[dtype], case .array(let shape)? = entry["shape"],
                  case .array(let offsets)? = entry["data_offsets"], offsets.count == 2 else {
                return fail("tensor '\(name)' without a known dtype, a shape and two data_offsets")
            }
            var elements = 1
            for d in shape {
                guard case .integer(let d) = d, d >= 0 else { return fail("tensor '\(name)' with a shape entry that is not a count") }
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, product <= dataSize else { return fail("tensor '\(name)' larger than the data") }
                elements = product
            }
            guard case .integer(let begin) = offsets[0], case .integer(let end) = offsets[1], 0 <= begin, begin <= end,
                  end <= dataSize, end - begin == elements * size else {
                return fail("tensor '\(name)' with data_offsets [\(offsets.map(Self.text).joined(separator: ", "))] for \(elements) × \(size) bytes in \(dataSize) data bytes")
            }
            ranges.append((begin, end, name))
            layout.tensors[name] = (dataStart + begin)..<(dataStart + end)
        }
        guard !ranges.isEmpty else { return fail("no tensor") }
        var next = 0
        for r in ranges.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            guard r.begin == next else { return fail("tensor '\(r.name)' at data offset \(r.begin), expected \(next) (gap or overlap)") }
            next = r.end
        }
        guard next == dataSize else { return fail("tensors ending at data offset \(next) of \(dataSize) data bytes") }
        return .success(layout)
    }
}
