import Basics
/// A problem with an EDF / EDF+ / BDF file: which file, which field, what was
/// found there and what was expected.
///
/// Reading never traps on bad input: every inconsistency in a header, a data
/// record or an annotation ends up as one of these. The writer uses the same
/// type for values it cannot encode.
public struct EDFError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of problem it is; a struct so that new codes do not break callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The file could not be opened, sized or read (errno text in `found`).
        public static let io = Code("io")
        /// The file ends before the header or a data record does.
        public static let truncated = Code("truncated")
        /// The version field / magic is neither EDF's "0" nor BDF's 0xFF"BIOSEMI".
        public static let badVersion = Code("badVersion")
        /// A header field is not what its kind requires (non-numeric, out of range, inconsistent).
        public static let badField = Code("badField")
        /// The file size does not match the header size plus the data records.
        public static let badFileSize = Code("badFileSize")
        /// An EDF+ annotation signal holds a malformed TAL.
        public static let badAnnotation = Code("badAnnotation")
        /// A signal index or record range asked of the reader does not exist.
        public static let badRequest = Code("badRequest")
        /// The writer was given a value it cannot put in the file.
        public static let unwritable = Code("unwritable")
    }

    public var code: Code
    /// File name (last path component) or the name given to an in-memory reader.
    public var file: String
    /// The field, e.g. "number of data records" or "signal 1/7 'EEG Fpz-Cz': physical minimum".
    public var field: String
    /// What the file holds there.
    public var found: String
    /// What a valid file holds there.
    public var expected: String

    public init(_ code: Code, file: String, field: String, found: String, expected: String) {
        self.code = code
        self.file = file
        self.field = field
        self.found = found
        self.expected = expected
    }

    public var description: String {
        "\(file): \(field): found \(found), expected \(expected)"
    }
}

extension EDFError {
    /// Name of signal `index` for messages: 1-based position, count and label.
    static func signalName(_ index: Int, of count: Int, label: String) -> String {
        "signal \(index + 1)/\(count) '\(label)'"
    }

    /// `text` quoted for a message, with non-printable bytes escaped and long text cut.
    static func quoted(_ text: String, limit: Int = 60) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        if text.unicodeScalars.count > limit { out += "…" }
        return "'\(out)'"
    }
}
