import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that a reader sees either the old file or the whole new one,
/// never a half-written one (a report read while a run rewrites it, a crash mid-write).
public enum AtomicFile {
    /// Writes `data` to a temporary file in the directory of `url`, flushes it to
    /// disk and renames it over `url` (rename(2) is atomic within one file system,
    /// hence the same directory).
    ///
    /// - Throws: `SleepfoldError` (`.io`, or `.fileNotFound` when the directory does
    ///   not exist) naming the file, the step that failed and errno's text, with `errno` set.
    public static func write(_ data: Data, to url: URL) throws(SleepfoldError) {
        let directory = url.deletingLastPathComponent()
        var random = SystemRandomNumberGenerator()
        let temporary = directory.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(String(random.next() as UInt32, radix: 16))")

        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        if fd < 0 {
            throw Self.failure(url, "create a temporary file next to it", errno)
        }
        var failure = data.withUnsafeBytes { writeFully(fd, $0) }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        if close(fd) != 0, failure == 0 { failure = errno }
        if failure != 0 {
            unlink(temporary.path)
            throw Self.failure(url, "write it", failure)
        }
        if rename(temporary.path, url.path) != 0 {
            let code = errno
            unlink(temporary.path)
            throw Self.failure(url, "rename the temporary file onto it", code)
        }
    }

    /// "cannot <step>: <errno text> (errno N)"; a missing directory is `.fileNotFound`.
    private static func failure(_ url: URL, _ step: String, _ code: Int32) -> SleepfoldError {
        SleepfoldError(code == ENOENT ? .fileNotFound : .io, file: url.path,
                       "cannot \(step): \(String(cString: strerror(code))) (errno \(code))",
                       errno: code)
    }
}
