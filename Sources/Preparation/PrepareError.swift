import Recordings
import EDF
/// A problem preparing training data from EDF files (channel, stage map, options,
/// pairing): which file, which field, what was found and what was expected.
///
/// Problems inside an EDF file itself are `EDFError`s and pass through unchanged.
public struct PrepareError: Error, CustomStringConvertible, Sendable, Equatable {
    /// File the problem is in (or "options" for a bad option value).
    public var file: String
    /// The field or setting, e.g. "channel" or "stages['Sleep stage N1']".
    public var field: String
    public var found: String
    public var expected: String

    public init(file: String, field: String, found: String, expected: String) {
        self.file = file
        self.field = field
        self.found = found
        self.expected = expected
    }

    public var description: String {
        "\(file): \(field): found \(found), expected \(expected)"
    }
}
