import Foundation
import Testing
import Recordings
import Evaluation
import Reports

@Test func jsonValueDecodesEveryKindAndKeepsIntegers() throws {
    let text = #"{"a": 1, "b": [true, null, 2.5, "x", -7], "c": {"d": {"e": []}}, "f": 1e300, "g": false}"#
    let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    #expect(value == .object([
        "a": .integer(1),
        "b": .array([.bool(true), .null, .number(2.5), .string("x"), .integer(-7)]),
        "c": .object(["d": .object(["e": .array([])])]),
        "f": .number(1e300),
        "g": .bool(false),
    ]))
    #expect(value["a"] == .integer(1) && value["zzz"] == nil && JSONValue.integer(3)["a"] == nil)
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let again = try encoder.encode(value)
    #expect(try JSONDecoder().decode(JSONValue.self, from: again) == value)
    #expect(String(decoding: try encoder.encode(JSONValue.object(["n": .integer(128)])), as: UTF8.self) == #"{"n":128}"#)
}
