import Foundation
import Basics
import Recordings

/// Reading and writing single arrays in the `.npy` format.
extension NPYArray {
    /// Decodes a complete `.npy` file image (header and data).
    ///
    /// - Throws: `SleepfoldError` (without a file: callers add it) for a bad magic string
    ///   or version, a malformed header, Fortran order, a big-endian or unsupported dtype,
    ///   truncated data, or data longer than the header's shape.
    public init(npy bytes: [UInt8]) throws {
        var collected: [UInt8] = []
        var decoder = NPYStreamDecoder { header, elements in
            if collected.isEmpty { collected.reserveCapacity(header.byteCount) }
            collected.append(contentsOf: elements)
        }
        decoder.streamSize = bytes.count
        try bytes.withUnsafeBytes { try decoder.consume($0) }
        let header = try decoder.finish()
        self.init(unchecked: header.dtype, shape: header.shape, bytes: collected)
    }

    /// Reads an `.npy` file; errors name the file.
    public init(contentsOf url: URL) throws {
        let bytes = try readFile(url)
        self = try locating(file: url.path) { try NPYArray(npy: bytes) }
    }

    /// The `.npy` file image of this array: a header as numpy writes it, then the data.
    public func npyBytes(version: NPYVersion = .v1) -> [UInt8] {
        NPYHeader.encode(dtype: dtype, shape: shape, version: version) + bytes
    }

    /// Writes this array as an `.npy` file, replacing any file at `url`.
    public func write(to url: URL, version: NPYVersion = .v1) throws {
        try fileAccess(url.path, cannot: "write the file") {
            try Data(npyBytes(version: version)).write(to: url, options: .atomic)
        }
    }
}

/// Reads a whole file, turning Foundation's errors into `SleepfoldError`.
func readFile(_ url: URL) throws(SleepfoldError) -> [UInt8] {
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw SleepfoldError(.fileNotFound, file: url.path, found: "no such file", expected: "an existing file")
    }
    return try fileAccess(url.path, cannot: "read the file") { [UInt8](try Data(contentsOf: url)) }
}
