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
    /// - Throws: `AtomicFileError` naming the file and the system's reason.
    public static func write(_ data: Data, to url: URL) throws(AtomicFileError) {
        let directory = url.deletingLastPathComponent()
        var random = SystemRandomNumberGenerator()
        let temporary = directory.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(String(random.next() as UInt32, radix: 16))")

        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        if fd < 0 {
            throw AtomicFileError(path: url.path, operation: "create a temporary file next to it", errno: errno)
        }
        var failure: Int32 = 0
        data.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = Glibc_write(fd, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        if close(fd) != 0, failure == 0 { failure = errno }
        if failure != 0 {
            unlink(temporary.path)
            throw AtomicFileError(path: url.path, operation: "write it", errno: failure)
        }
        if rename(temporary.path, url.path) != 0 {
            let code = errno
            unlink(temporary.path)
            throw AtomicFileError(path: url.path, operation: "rename the temporary file onto it", errno: code)
        }
    }
}

/// The system call `write(2)`, named apart from `AtomicFile.write`.
@inline(__always)
private func Glibc_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}

/// Why a file could not be written atomically: the path, what was being done, and
/// the system's error text.
public struct AtomicFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let operation: String
    /// The errno value of the failing system call.
    public let errno: Int32

    public init(path: String, operation: String, errno: Int32) {
        self.path = path
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        "\(path): cannot \(operation) (\(String(cString: strerror(errno))))"
    }
}
