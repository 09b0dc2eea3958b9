import Foundation

/// A strict JSON reader for the small headers the coordinator checks on every result and
/// fold state (safetensors: `SafetensorsFraming`). `JSONSerialization` took 30–50 µs for a
/// header of one tensor, most of it building and bridging `NSDictionary`s: 3.4 % of the
/// coordinator's CPU at 1,000 workers (Benchmarks/load/README.md, tenth session). This reads
/// the bytes in place, RFC 8259 without extensions: one value, no trailing commas or
/// comments, strings of valid UTF-8 with the standard escapes, nesting at most `maxDepth`.
public enum HeaderJSON: Equatable, Sendable {
    case object([String: HeaderJSON])
    case array([HeaderJSON])
    case string(String)
    /// A number written without a fraction or exponent that fits an Int.
    case integer(Int)
    /// Any other number.
    case number(Double)
    case bool(Bool)
    case null

    /// Deeper nesting is refused (a hostile header must not exhaust the stack).
    public static let maxDepth = 64

    /// The value `bytes` hold, or nil when they are not exactly one JSON value.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> HeaderJSON? {
        var reader = Reader(bytes: bytes)
        guard let value = reader.value(depth: 0) else { return nil }
        reader.skipSpace()
        return reader.at == bytes.count ? value : nil
    }

    public static func parse(_ data: Data) -> HeaderJSON? {
        data.withUnsafeBytes { parse($0) }
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var at = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        var next: UInt8? { at < bytes.count ? bytes[at] : nil }

        mutating func skipSpace() {
            while let c = next, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { at += 1 }
        }

        mutating func take(_ c: UInt8) -> Bool {
            guard next == c else { return false }
            at += 1
            return true
        }

        mutating func value(depth: Int) -> HeaderJSON? {
            skipSpace()
            guard let c = next else { return nil }
            switch c {
            case UInt8(ascii: "{"): return depth < HeaderJSON.maxDepth ? object(depth: depth + 1) : nil
            case UInt8(ascii: "["): return depth < HeaderJSON.maxDepth ? array(depth: depth + 1) : nil
            case UInt8(ascii: "\""): return string().map { .string($0) }
            case UInt8(ascii: "t"): return word("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return word("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return word("null") ? .null : nil
            default: return number()
            }
        }

        mutating func object(depth: Int) -> HeaderJSON? {
            at += 1   // {
            var members: [String: HeaderJSON] = [:]
            skipSpace()
            if take(UInt8(ascii: "}")) { return .object(members) }
            while true {
                skipSpace()
                guard let key = string() else { return nil }
                skipSpace()
                guard take(UInt8(ascii: ":")), let value = value(depth: depth) else { return nil }
                members[key] = value   // a repeated key: the last wins, as in JSONSerialization
                skipSpace()
                if take(UInt8(ascii: ",")) { continue }
                return take(UInt8(ascii: "}")) ? .object(members) : nil
            }
        }

        mutating func array(depth: Int) -> HeaderJSON? {
            at += 1   // [
            var elements: [HeaderJSON] = []
            skipSpace()
            if take(UInt8(ascii: "]")) { return .array(elements) }
            while true {
                guard let element = value(depth: depth) else { return nil }
                elements.append(element)
                skipSpace()
                if take(UInt8(ascii: ",")) { continue }
                return take(UInt8(ascii: "]")) ? .array(elements) : nil
            }
        }

        mutating func word(_ w: StaticString) -> Bool {
            let n = w.utf8CodeUnitCount
            guard bytes.count - at >= n else { return false }
            for i in 0..<n where bytes[at + i] != w.utf8Start[i] { return false }
            at += n
            return true
        }

        /// A string; the reader at its opening quote.
        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = at
            // The common case: no escape. Bytes as they are, checked as UTF-8.
            while let c = next, c != UInt8(ascii: "\""), c != UInt8(ascii: "\\") {
                guard c >= 0x20 else { return nil }   // control characters must be escaped
                at += 1
            }
            guard let c = next else { return nil }
            if c == UInt8(ascii: "\"") {
                at += 1
                return String(validating: bytes[start..<at - 1], as: UTF8.self)   // read in place
            }
            // Escapes: the bytes copied, each escape decoded.
            var utf8 = Array(bytes[start..<at])
            while true {
                guard let c = next else { return nil }
                at += 1
                if c == UInt8(ascii: "\"") { break }
                guard c >= 0x20 else { return nil }
                guard c == UInt8(ascii: "\\") else { utf8.append(c); continue }
                guard let e = next else { return nil }
                at += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(e)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate must be followed by an escaped low one.
                        guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let low = hex4(),
                              (0xDC00..<0xE000).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        return nil
                    }
                    utf8.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default: return nil
                }
            }
            return String(validating: utf8, as: UTF8.self)
        }

        mutating func hex4() -> UInt32? {
            guard bytes.count - at >= 4 else { return nil }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[at]
                let d: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
                default: return nil
                }
                v = v << 4 | UInt32(d)
                at += 1
            }
            return v
        }

        /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
        mutating func number() -> HeaderJSON? {
            let start = at
            _ = take(UInt8(ascii: "-"))
            func digits() -> Int {
                var n = 0
                while let c = next, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { at += 1; n += 1 }
                return n
            }
            if take(UInt8(ascii: "0")) {
                if let c = next, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { return nil }   // no leading zeros
            } else if digits() == 0 {
                return nil
            }
            var integral = true
            if take(UInt8(ascii: ".")) {
                integral = false
                guard digits() > 0 else { return nil }
            }
            if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
                integral = false
                if !take(UInt8(ascii: "+")) { _ = take(UInt8(ascii: "-")) }
                guard digits() > 0 else { return nil }
            }
            let text = String(decoding: bytes[start..<at], as: UTF8.self)
            if integral, let n = Int(text) { return .integer(n) }
            guard let x = Double(text), x.isFinite else { return nil }   // beyond a double's range
            return .number(x)
        }
    }
}
