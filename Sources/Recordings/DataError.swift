import Basics
/// A problem with a data file (NPY, NPZ, recording or manifest), as users see it.
///
/// The message names the file, the archive member when there is one, what was
/// found and what was expected, e.g.
/// `/data/SC4001E0.npz, member 'y': label 7 at epoch 2 is outside 0…4 (W, N1, N2, N3, REM)`.
/// `code` says which kind of problem it is, for callers and tests that branch on it;
/// new codes may be added without breaking callers.
public struct DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Kind of problem. Compare with the static members (`.truncated`, …).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // Files and archives.
        /// The file does not exist.
        public static let fileNotFound = Code("fileNotFound")
        /// The file exists but could not be read or written (permissions, I/O).
        public static let ioFailure = Code("ioFailure")
        /// The file is not a readable ZIP archive (damaged, truncated, or not an NPZ at all).
        public static let notAnArchive = Code("notAnArchive")
        /// A required archive member is absent.
        public static let missingMember = Code("missingMember")
        /// An archive member fails its CRC-32 check.
        public static let checksumMismatch = Code("checksumMismatch")

        // The .npy format.
        /// The data does not start with the NPY magic string.
        public static let badMagic = Code("badMagic")
        /// An NPY format version other than 1.0, 2.0 or 3.0.
        public static let unsupportedVersion = Code("unsupportedVersion")
        /// The header dictionary cannot be parsed or lacks a key.
        public static let malformedHeader = Code("malformedHeader")
        /// The array is stored in Fortran (column-major) order.
        public static let fortranOrder = Code("fortranOrder")
        /// The dtype is big-endian (`>f4`, …).
        public static let bigEndian = Code("bigEndian")
        /// The dtype is not one of those `NPYDType` supports.
        public static let unsupportedDType = Code("unsupportedDType")
        /// Fewer data bytes than the header's shape and dtype need.
        public static let truncated = Code("truncated")
        /// More data bytes than the header's shape and dtype need, or bytes that do not match a shape.
        public static let sizeMismatch = Code("sizeMismatch")
        /// A typed accessor cannot represent a value exactly in the requested type,
        /// or the array has the wrong element kind or element count for it.
        public static let conversion = Code("conversion")

        // The recording format and cohorts.
        /// An array has a shape the recording format does not allow.
        public static let unexpectedShape = Code("unexpectedShape")
        /// An array has a dtype the recording format does not allow for that member.
        public static let unexpectedDType = Code("unexpectedDType")
        /// A recording has no epochs.
        public static let emptyRecording = Code("emptyRecording")
        /// `x` and `y` disagree on the number of epochs.
        public static let epochCountMismatch = Code("epochCountMismatch")
        /// A stage label outside 0…4.
        public static let labelOutOfRange = Code("labelOutOfRange")
        /// `fs` differs from the expected sampling rate, or does not match the epoch length.
        public static let sampleRateMismatch = Code("sampleRateMismatch")
        /// NaN or infinity in the signal.
        public static let nonFiniteSignal = Code("nonFiniteSignal")
        /// A file name that does not follow the Sleep-EDF pattern, without a manifest.
        public static let unnamedRecording = Code("unnamedRecording")
        /// A manifest that is not valid JSON or not of the documented form.
        public static let badManifest = Code("badManifest")
        /// Two recordings of a cohort share an id.
        public static let duplicateRecording = Code("duplicateRecording")
        /// A directory with no `.npz` files.
        public static let noRecordings = Code("noRecordings")
        /// Sleep-EDF cassette (SC4) and telemetry (ST7) names mixed in one directory.
        public static let mixedStudies = Code("mixedStudies")
    }

    /// Kind of problem.
    public var code: Code
    /// Path of the file at fault, if the problem concerns a file.
    public var file: String?
    /// Archive member at fault (e.g. "x"), if any.
    public var member: String?
    /// What was found and what was expected.
    public var message: String

    public init(_ code: Code, file: String? = nil, member: String? = nil, _ message: String) {
        self.code = code
        self.file = file
        self.member = member
        self.message = message
    }

    public var description: String {
        var place = file ?? ""
        if let member {
            place += place.isEmpty ? "member '\(member)'" : ", member '\(member)'"
        }
        return place.isEmpty ? message : "\(place): \(message)"
    }

    /// This error with `file` and `member` filled in where they are still unknown.
    public func located(file: String?, member: String? = nil) -> DataError {
        var copy = self
        if copy.file == nil { copy.file = file }
        if copy.member == nil { copy.member = member }
        return copy
    }
}

/// Runs `body`, attaching `file` and `member` to any `DataError` it throws.
package func locating<T>(file: String?, member: String? = nil, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as DataError {
        throw error.located(file: file, member: member)
    }
}
