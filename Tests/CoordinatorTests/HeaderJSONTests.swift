import Foundation
import Testing
import Basics
import Coordinator

/// The coordinator's own JSON reader for safetensors headers takes what `JSONSerialization`
/// takes (but trailing commas) and reads the same values from it; it refuses what is not one
/// strict JSON value.
@Suite struct HeaderJSONTests {
    /// `JSONSerialization`'s value in `HeaderJSON`'s terms (nil when it refuses the bytes).
    static func foundation(_ data: Data) -> HeaderJSON? {
        guard let value = try? JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed) else { return nil }
        func convert(_ v: Any) -> HeaderJSON {
            switch v {
            case let d as [String: Any]: return .object(d.mapValues(convert))
            case let a as [Any]: return .array(a.map(convert))
            case let s as String: return .string(s)
            case is NSNull: return .null
            case let n as NSNumber:
                // Booleans and numbers are both NSNumbers: tell them by how they print.
                if type(of: v) == Bool.self || String(cString: n.objCType) == "c" { return .bool(n.boolValue) }
                return .number(n.doubleValue)
            default: return .string("\(v)")
            }
        }
        return convert(value)
    }

    /// Ours, with integers as doubles (JSONSerialization does not tell them apart).
    static func relaxed(_ value: HeaderJSON?) -> HeaderJSON? {
        guard let value else { return nil }
        switch value {
        case .object(let d): return .object(d.mapValues { relaxed($0)! })
        case .array(let a): return .array(a.map { relaxed($0)! })
        case .integer(let n): return .number(Double(n))
        default: return value
        }
    }

    static let header = #"""
    {"__metadata__":{"format":"sleepfold-fold-state","progress":"{\"epochs_completed\":3,\"next_batch\":0}","note":"caf\u00e9 \ud83d\ude00\t\/"},
     "model.w":{"dtype":"F32","shape":[16,8,3],"data_offsets":[0,1536]}, "adam.m" : { "dtype" : "F32" , "shape" : [ ] , "data_offsets" : [ 1536 , 1540 ] },
     "x":[true,false,null,-0,0.5,-1.25e-3,1E+2,12345678901234567890,[],{}]}
    """#

    @Test func aHeaderReadsAsJSONSerializationReadsIt() throws {
        let data = Data(Self.header.utf8)
        let ours = try #require(HeaderJSON.parse(data))
        #expect(Self.relaxed(ours) == Self.foundation(data))
        guard case .object(let top) = ours, case .object(let metadata)? = top["__metadata__"],
              case .object(let tensor)? = top["model.w"], case .array(let x)? = top["x"] else {
            Issue.record("\(ours)"); return
        }
        #expect(metadata["progress"] == .string(#"{"epochs_completed":3,"next_batch":0}"#))
        #expect(metadata["note"] == .string("café 😀\t/"))
        #expect(tensor["shape"] == .array([.integer(16), .integer(8), .integer(3)]))
        #expect(x[3] == .integer(0) && x[4] == .number(0.5) && x[6] == .number(100))
        #expect(x[7] == .number(12345678901234567168))   // beyond Int: a double
    }

    @Test(arguments: [
        "", " ", "{", "}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[,1]", "{\"a\" 1}", "{a:1}", "{'a':1}", "01", "1.", ".5", "+1",
        "-", "1e", "1e+", "tru", "nul", "falsey", "{} x", "1 2", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\uZZZZ\"",
        "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\u{01}b\"", "\"tab\there\"", "[1 2]", "{\"a\":1 \"b\":2}",
        "NaN", "Infinity", "[-]", "/* c */ 1", "{\"a\":1}//", "1e400", "-1e999",
    ])
    func malformedJSONIsRefused(text: String) {
        #expect(HeaderJSON.parse(Data(text.utf8)) == nil, "\(text.debugDescription)")
    }

    @Test func invalidUTF8InAStringIsRefused() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22]] {
            #expect(HeaderJSON.parse(Data(bytes)) == nil, "\(bytes)")
        }
    }

    @Test func nestingDeeperThanTheLimitIsRefused() {
        let deep = String(repeating: "[", count: HeaderJSON.maxDepth) + String(repeating: "]", count: HeaderJSON.maxDepth)
        #expect(HeaderJSON.parse(Data(deep.utf8)) != nil)
        let deeper = "[" + deep + "]"
        #expect(HeaderJSON.parse(Data(deeper.utf8)) == nil)
        let hostile = String(repeating: "{\"a\":", count: 100_000)
        #expect(HeaderJSON.parse(Data(hostile.utf8)) == nil)
    }

    /// Thousands of headers cut short or with one byte changed: each is taken by both readers
    /// or by neither, with the same value.
    @Test func mutatedHeadersAreTakenOrRefusedAsJSONSerializationDoes() {
        let original = Array(Self.header.utf8)
        var generator = SeededGenerator(seed: 11)
        let alphabet = Array("{}[]\":,\\ 0123456789.eE+-tfnulrsaxu/".utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xFF]
        var taken = 0, refused = 0
        for trial in 0..<3000 {
            var bytes = original
            if trial % 5 == 0 {
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator)))
            } else {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = alphabet.randomElement(using: &generator)!
            }
            let data = Data(bytes)
            let ours = HeaderJSON.parse(data), theirs = Self.foundation(data)
            let text = String(decoding: bytes, as: UTF8.self)
            // JSONSerialization takes a trailing comma; JSON does not, nor do we.
            if ours == nil, theirs != nil, text.contains(/,\s*[\]}]/) { continue }
            #expect(Self.relaxed(ours) == theirs, "\(text.debugDescription)")
            if ours == nil { refused += 1 } else { taken += 1 }
        }
        #expect(taken > 100 && refused > 100, "taken \(taken), refused \(refused)")
    }
}
