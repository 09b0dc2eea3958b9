#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Basics

/// Random access to the bytes of an EDF file: a file read with `pread`, or bytes in memory.
protocol EDFByteSource {
    /// Total size in bytes.
    var size: Int { get }
    /// Reads `count` bytes at `offset` into `buffer` (replacing its content).
    func read(at offset: Int, count: Int, into buffer: inout [UInt8]) throws
}

/// Bytes already in memory (tests, data produced by `EDFWriter`).
struct MemoryByteSource: EDFByteSource {
    let bytes: [UInt8]
    let name: String

    var size: Int { bytes.count }

    func read(at offset: Int, count: Int, into buffer: inout [UInt8]) throws {
        guard offset >= 0, count >= 0, offset <= bytes.count, count <= bytes.count - offset else {
            throw SleepfoldError(.truncated, file: name, field: "bytes \(offset)..<\(offset + count)",
                                 found: "\(bytes.count) bytes", expected: "\(offset + count) bytes")
        }
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: bytes[offset..<(offset + count)])
    }
}

/// A file opened read-only; reads with `pread`, so only the bytes asked for are read.
final class FileByteSource: EDFByteSource {
    let path: String
    let name: String
    let size: Int
    private let fd: Int32

    init(path: String, name: String) throws {
        self.path = path
        self.name = name
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            let code = errno
            var error = SleepfoldError.system("open of \(path)", file: name, errno: code)
            if code == ENOENT { error.code = .fileNotFound }
            throw error
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw SleepfoldError.system("fstat of \(path)", file: name, errno: code)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw SleepfoldError(.io, file: name, found: "\(path), which is not a regular file", expected: "an EDF file")
        }
        self.fd = fd
        self.size = Int(info.st_size)
    }

    deinit { close(fd) }

    func read(at offset: Int, count: Int, into buffer: inout [UInt8]) throws {
        buffer.removeAll(keepingCapacity: true)
        guard count > 0 else { return }
        buffer.append(contentsOf: repeatElement(0, count: count))
        var done = 0
        try buffer.withUnsafeMutableBytes { raw in
            while done < count {
                let n = pread(fd, raw.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SleepfoldError.system("pread", file: name, field: "bytes \(offset)..<\(offset + count)", errno: errno)
                }
                if n == 0 {
                    throw SleepfoldError(.truncated, file: name, field: "bytes \(offset)..<\(offset + count)",
                                         found: "end of file at byte \(offset + done)",
                                         expected: "\(offset + count) bytes (the file shrank while being read?)")
                }
                done += n
            }
        }
    }
}
