import Basics
import Recordings
/// A Python literal as found in an `.npy` header: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3000), }`.
///
/// numpy writes the header with `repr`, and reads it with `ast.literal_eval`; this
/// parser accepts the subset that `repr` produces for header dictionaries
/// (strings, integers, booleans, None, tuples, lists, dictionaries).
enum PythonLiteral: Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case dict([(key: PythonLiteral, value: PythonLiteral)])

    static func == (lhs: PythonLiteral, rhs: PythonLiteral) -> Bool {
        switch (lhs, rhs) {
        case let (.string(a), .string(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.bool(a), .bool(b)): return a == b
        case (.none, .none): return true
        case let (.tuple(a), .tuple(b)), let (.list(a), .list(b)): return a == b
        case let (.dict(a), .dict(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// Parses one literal spanning all of `text` (surrounding whitespace allowed).
    /// Returns nil, with a reason, when the text is not such a literal.
    static func parse(_ text: String) -> Result<PythonLiteral, ParseFailure> {
        var parser = Parser(chars: Array(text.unicodeScalars))
        do {
            let value = try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.atEnd else { throw ParseFailure(reason: "unexpected text after the literal") }
            return .success(value)
        } catch let failure as ParseFailure {
            return .failure(failure)
        } catch {
            return .failure(ParseFailure(reason: "\(error)"))
        }
    }

    struct ParseFailure: Error {
        var reason: String
    }

    /// Recursive-descent parser over Unicode scalars.
    private struct Parser {
        let chars: [Unicode.Scalar]
        var index = 0
        // Headers are flat; the cap only stops hostile input from recursing deeply.
        let maxDepth = 32

        var atEnd: Bool { index >= chars.count }

        mutating func skipSpace() {
            while index < chars.count, chars[index].properties.isWhitespace { index += 1 }
        }

        mutating func value(depth: Int) throws -> PythonLiteral {
            guard depth < maxDepth else { throw ParseFailure(reason: "nesting deeper than \(maxDepth)") }
            skipSpace()
            guard index < chars.count else { throw ParseFailure(reason: "unexpected end of header") }
            let c = chars[index]
            switch c {
            case "'", "\"": return .string(try string())
            case "(":
                let (items, trailingComma) = try sequence(close: ")", depth: depth)
                // `(5)` is just 5 in Python; only `(5,)` is a one-tuple.
                if items.count == 1 && !trailingComma { return items[0] }
                return .tuple(items)
            case "[": return .list(try sequence(close: "]", depth: depth).items)
            case "{": return try dict(depth: depth)
            case "-", "+", "0"..."9": return .int(try integer())
            default:
                let word = identifier()
                switch word {
                case "True": return .bool(true)
                case "False": return .bool(false)
                case "None": return .none
                default: throw ParseFailure(reason: "unexpected '\(word.isEmpty ? String(c) : word)' at offset \(index)")
                }
            }
        }

        mutating func identifier() -> String {
            var word = ""
            while index < chars.count, chars[index].properties.isAlphabetic || chars[index] == "_" {
                word.unicodeScalars.append(chars[index])
                index += 1
            }
            return word
        }

        mutating func string() throws -> String {
            let quote = chars[index]
            index += 1
            var result = String.UnicodeScalarView()
            while index < chars.count {
                let c = chars[index]
                index += 1
                if c == quote { return String(result) }
                if c == "\\" {
                    guard index < chars.count else { break }
                    let escaped = chars[index]
                    index += 1
                    switch escaped {
                    case "n": result.append("\n")
                    case "t": result.append("\t")
                    case "\\", "'", "\"": result.append(escaped)
                    default: result.append("\\"); result.append(escaped)
                    }
                } else {
                    result.append(c)
                }
            }
            throw ParseFailure(reason: "unterminated string")
        }

        mutating func integer() throws -> Int {
            var text = ""
            if chars[index] == "-" || chars[index] == "+" {
                text.unicodeScalars.append(chars[index])
                index += 1
            }
            while index < chars.count, ("0"..."9").contains(chars[index]) {
                text.unicodeScalars.append(chars[index])
                index += 1
            }
            // Python 2 wrote long integers as `3000L`.
            if index < chars.count, chars[index] == "L" { index += 1 }
            guard let value = Int(text) else { throw ParseFailure(reason: "bad integer '\(text)'") }
            return value
        }

        mutating func sequence(close: Unicode.Scalar, depth: Int) throws
            -> (items: [PythonLiteral], trailingComma: Bool) {
            index += 1  // opening bracket
            var items: [PythonLiteral] = []
            var trailingComma = false
            while true {
                skipSpace()
                guard index < chars.count else { throw ParseFailure(reason: "missing '\(close)'") }
                if chars[index] == close { index += 1; return (items, trailingComma) }
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard index < chars.count else { throw ParseFailure(reason: "missing '\(close)'") }
                if chars[index] == "," {
                    index += 1
                    trailingComma = true
                } else if chars[index] == close {
                    trailingComma = false
                } else {
                    throw ParseFailure(reason: "expected ',' or '\(close)' at offset \(index)")
                }
            }
        }

        mutating func dict(depth: Int) throws -> PythonLiteral {
            index += 1  // {
            var entries: [(key: PythonLiteral, value: PythonLiteral)] = []
            while true {
                skipSpace()
                guard index < chars.count else { throw ParseFailure(reason: "missing '}'") }
                if chars[index] == "}" { index += 1; return .dict(entries) }
                let key = try value(depth: depth + 1)
                skipSpace()
                guard index < chars.count, chars[index] == ":" else {
                    throw ParseFailure(reason: "expected ':' after a dictionary key")
                }
                index += 1
                let item = try value(depth: depth + 1)
                entries.append((key, item))
                skipSpace()
                guard index < chars.count else { throw ParseFailure(reason: "missing '}'") }
                if chars[index] == "," {
                    index += 1
                } else if chars[index] != "}" {
                    throw ParseFailure(reason: "expected ',' or '}' at offset \(index)")
                }
            }
        }
    }
}
