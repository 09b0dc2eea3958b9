import Foundation
import Basics
import COpenSSL

/// SHA-256 (FIPS 180-4), incremental, used as the content hash of recording files
/// and of fold states.
///
/// Feed bytes with `update`, then read `finalize()`; `hexDigest(ofFile:)` streams a
/// file through it in 1 MiB pieces. Computed by OpenSSL's libcrypto, which uses the
/// CPU's SHA extensions (SHA-NI) where it has them: about 8 times the speed of the
/// plain Swift this was before, whose digests of the fold states took 8 % of a
/// coordinator's CPU at 1,000 workers (Benchmarks/load/README.md, fifth session).
public struct SHA256: Sendable {
    /// OpenSSL's state: a plain C struct, so a copy of this value hashes on independently.
    private var context = SHA256_CTX()

    public init() {
        SHA256_Init(&context)
    }

    /// Adds `bytes` to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        SHA256_Update(&context, base, bytes.count)
    }

    /// Adds `bytes` to the message.
    public mutating func update<Bytes: ContiguousBytes>(_ bytes: Bytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The 32-byte digest of everything added so far.
    public func finalize() -> [UInt8] {
        var copy = context
        return [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
            SHA256_Final(buffer.baseAddress, &copy)
            count = 32
        }
    }

    /// The digest as 64 lowercase hex characters.
    public func hexDigest() -> String {
        let digits = Array("0123456789abcdef".utf8)
        let digest = finalize()
        return String(unsafeUninitializedCapacity: 64) { buffer in
            for (i, byte) in digest.enumerated() {
                buffer[2 * i] = digits[Int(byte >> 4)]
                buffer[2 * i + 1] = digits[Int(byte & 0x0f)]
            }
            return 64
        }
    }

    /// Digest of `bytes`.
    public static func hash<Bytes: ContiguousBytes>(_ bytes: Bytes) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Hex digest of `bytes`.
    public static func hexDigest<Bytes: ContiguousBytes>(_ bytes: Bytes) -> String {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.hexDigest()
    }

    /// Hex digest of the file at `url`, read in 1 MiB pieces (the file need not fit in memory).
    ///
    /// - Throws: `SleepfoldError` (`.fileNotFound`, `.io`) naming the file.
    public static func hexDigest(ofFile url: URL) throws(SleepfoldError) -> String {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw SleepfoldError(.fileNotFound, file: url.path, found: "no such file", expected: "a file to hash")
        }
        return try fileAccess(url.path, cannot: "read the file") {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            var hasher = SHA256()
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(chunk)
            }
            return hasher.hexDigest()
        }
    }
}
