import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one error type sleepfold's users see: what kind of problem (`code`), where
/// (`file`, then `field` inside it), and what was found and what was expected
/// (`message`), e.g.
/// `SC4001E0.npz: member 'y': label 7 at epoch 2 is outside 0…4 (W, N1, N2, N3, REM)`.
///
/// Modelled on swift-subprocess's `SubprocessError` and SwiftNIO's `IOError`: a
/// struct with a growable code, so callers and tests branch on `code` and new
/// codes never break them; the errno of a failed system call travels with it.
/// Each module declares its own codes in an extension of `Code` next to the code
/// that throws them (`Basics` has the general ones below). Internal parsers may use
/// their own enums, but what leaves a module is a `SleepfoldError`.
public struct SleepfoldError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Kind of problem; compare with the static members (`.fileNotFound`, `.badField`, …).
    /// The raw value is the member's name.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
    }

    /// Kind of problem.
    public var code: Code
    /// The file at fault (a path, or a name given to in-memory data), if any.
    public var file: String?
    /// Where in the file, message or settings: an archive member ("member 'x'"), a
    /// header field, a config key, a command-line option; nil when the whole file is meant.
    public var field: String?
    /// What was found and what was expected.
    public var message: String
    /// The errno of the system call that failed, if one did.
    public var errno: Int32?
    /// Further problems found in the same pass (a cohort is checked whole, so every
    /// bad file is named at once); empty for a single problem.
    public var problems: [SleepfoldError]

    public init(_ code: Code, file: String? = nil, field: String? = nil, _ message: String,
                errno: Int32? = nil, problems: [SleepfoldError] = []) {
        self.code = code
        self.file = file
        self.field = field
        self.message = message
        self.errno = errno
        self.problems = problems
    }

    /// A problem stated as what was found where something else was expected:
    /// the message reads "found \(found), expected \(expected)".
    public init(_ code: Code, file: String? = nil, field: String? = nil, found: String, expected: String) {
        self.init(code, file: file, field: field, "found \(found), expected \(expected)")
    }

    /// A failed system call: its name and subject in `message`, errno's text appended.
    public static func system(_ call: String, file: String? = nil, field: String? = nil, errno: Int32) -> SleepfoldError {
        SleepfoldError(.io, file: file, field: field,
                       "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))", errno: errno)
    }

    /// "file: field: message", leaving out what is unknown, then one line per further problem.
    public var description: String {
        let place = [file, field].compactMap { $0 }.filter { !$0.isEmpty }
        let head = (place + [message]).joined(separator: ": ")
        return ([head] + problems.map { "  - \($0)" }).joined(separator: "\n")
    }

    /// This error with `file` and `field` filled in where they are still unknown
    /// (a decoder that knows only bytes throws; its caller knows the file).
    public func located(file: String?, field: String? = nil) -> SleepfoldError {
        var copy = self
        if copy.file == nil { copy.file = file }
        if copy.field == nil { copy.field = field }
        return copy
    }
}

extension SleepfoldError {
    /// `error`, thrown while reading or writing `file` (a Foundation error, usually), as
    /// `.io` with the system's reason and its errno when there is one, or `.fileNotFound`
    /// when the file or its directory does not exist: "cannot \(action): \(reason)".
    /// A `SleepfoldError` is only located (see `located`).
    package static func fileAccess(_ error: any Error, file: String, field: String? = nil,
                                   cannot action: String) -> SleepfoldError {
        if let error = error as? SleepfoldError { return error.located(file: file, field: field) }
        let ns = error as NSError
        var posix: Int32?
        if ns.domain == NSPOSIXErrorDomain {
            posix = Int32(ns.code)
        } else if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            posix = Int32(underlying.code)
        }
        let missing = posix == ENOENT
            || (ns.domain == NSCocoaErrorDomain && [NSFileNoSuchFileError, NSFileReadNoSuchFileError].contains(ns.code))
        return SleepfoldError(missing ? .fileNotFound : .io, file: file, field: field,
                              "cannot \(action): \(ns.localizedDescription)", errno: posix)
    }
}

/// Runs `body`, which reads or writes `file`, turning what it throws into a
/// `SleepfoldError` (see `SleepfoldError.fileAccess`).
package func fileAccess<T>(_ file: String, field: String? = nil, cannot action: String,
                           _ body: () throws -> T) throws(SleepfoldError) -> T {
    do {
        return try body()
    } catch {
        throw SleepfoldError.fileAccess(error, file: file, field: field, cannot: action)
    }
}

/// Runs `body`, filling in `file` and `field` of any `SleepfoldError` it throws where
/// they are still unknown (see `SleepfoldError.located`); other errors pass unchanged.
package func locating<T>(file: String?, field: String? = nil, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as SleepfoldError {
        throw error.located(file: file, field: field)
    }
}

// General codes; each module adds its own beside the code that throws them.
extension SleepfoldError.Code {
    /// The file does not exist (or, writing, the directory it goes into).
    public static let fileNotFound = Self("fileNotFound")
    /// A file could not be opened, read, written or moved (errno in `errno`).
    public static let io = Self("io")
    /// The file or message ends before what its header or framing declares.
    public static let truncated = Self("truncated")
    /// A format or protocol version this build does not read (NPY, epoch file, EDF,
    /// report.json, the wire protocol).
    public static let badVersion = Self("badVersion")
    /// A file's header cannot be parsed, lacks a key, declares impossible sizes, or is
    /// not the one the format requires (NPY, epoch file, predictions.csv).
    public static let malformedHeader = Self("malformedHeader")
    /// A setting, option or field holds a value outside what is allowed.
    public static let invalidValue = Self("invalidValue")
    /// The CPU lacks an instruction set the model core was compiled for.
    public static let unsupportedCPU = Self("unsupportedCPU")
}
