import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Basics

/// sleepfold's training-data format: one night's epochs laid out for reading one
/// epoch at a time (docs/training-data.md). Training reads a batch's epochs with
/// `pread` into its own buffer, so a worker's memory does not grow with the cohort:
/// the operating system's page cache holds the files, and it is not the process's.
///
///     offset 0    "SLEEPFOLD-EPOCHS" (16 bytes ASCII), then format version (UInt32 LE) = 1,
///                 samples per epoch (UInt32 LE), epoch count (UInt64 LE), sample rate (Float64 LE),
///                 zero padding to 64 bytes
///     offset 64   labels: epoch count × Int32 LE, zero padding to a multiple of 64 bytes
///     then        x: epoch count × samples per epoch × Float32 LE, C order (epoch-major)
///
/// `convert(npz:to:)` writes one from an AttnSleep `.npz` (stored or deflated, float32
/// or float64) in one streaming pass, to a temporary name renamed into place, so
/// concurrent writers of the same file never expose a half-written one.
public final class EpochFile: @unchecked Sendable {
    public static let magic = Array("SLEEPFOLD-EPOCHS".utf8)
    public static let version: UInt32 = 1
    package static let headerBytes = 64

    public let url: URL
    public let samplesPerEpoch: Int
    public let sampleRate: Double
    /// Stage labels, one per epoch (kept in memory: 4 bytes an epoch).
    public let labels: [Int32]
    /// Byte offset of epoch 0's first sample.
    let dataOffset: Int
    private var descriptor: Int32 = -1

    public var epochCount: Int { labels.count }

    /// Opens an epoch file, checking its header and size. The file descriptor is
    /// opened on the first read and can be closed again with `close()`.
    public init(url: URL) throws {
        self.url = url
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw SleepfoldError(.fileNotFound, file: url.path, found: "no such file", expected: "an epoch file")
        }
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw SleepfoldError(.io, file: url.path, found: "a file that cannot be opened for reading",
                                 expected: "a readable epoch file")
        }
        defer { try? handle.close() }
        let header = [UInt8](try fileAccess(url.path, cannot: "read the header") { try handle.read(upToCount: Self.headerBytes) } ?? Data())
        guard header.prefix(16).elementsEqual(Self.magic.prefix(header.count)) else {
            throw SleepfoldError(.badMagic, file: url.path, field: "magic", found: "other bytes at offset 0",
                                 expected: "\"SLEEPFOLD-EPOCHS\" (a sleepfold epoch file)")
        }
        guard header.count == Self.headerBytes else {
            throw SleepfoldError(.truncated, file: url.path, field: "header", found: "\(header.count) bytes",
                                 expected: "\(Self.headerBytes) bytes")
        }
        func u32(_ at: Int) -> UInt32 { header.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) } }
        func u64(_ at: Int) -> UInt64 { header.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) } }
        guard u32(16) == Self.version else {
            throw SleepfoldError(.badVersion, file: url.path, field: "format version",
                                 found: "\(u32(16))", expected: "\(Self.version)")
        }
        let samples = Int(u32(20)), count = u64(24)
        sampleRate = Double(bitPattern: u64(32))
        guard samples > 0, count > 0, count < 1 << 32 else {
            throw SleepfoldError(.malformedHeader, file: url.path, field: "header sizes",
                                 found: "\(count) epochs of \(samples) samples", expected: "positive sizes (fewer than 2³² epochs)")
        }
        samplesPerEpoch = samples
        let n = Int(count)
        let labelBytes = Self.padded(4 * n)
        let labelData = [UInt8](try fileAccess(url.path, cannot: "read the labels") { try handle.read(upToCount: labelBytes) } ?? Data())
        guard labelData.count == labelBytes else {
            throw SleepfoldError(.truncated, file: url.path, field: "labels",
                                 found: "\(labelData.count) bytes", expected: "\(labelBytes) bytes for \(n) epochs")
        }
        labels = labelData.withUnsafeBytes { raw in (0..<n).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) } }
        dataOffset = Self.headerBytes + labelBytes
        let attributes = try fileAccess(url.path, cannot: "read the file size") { try FileManager.default.attributesOfItem(atPath: url.path) }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size == dataOffset + 4 * n * samples else {
            throw SleepfoldError(.truncated, file: url.path, field: "file size", found: "\(size) bytes",
                                 expected: "\(dataOffset + 4 * n * samples) bytes for \(n) epochs of \(samples) samples")
        }
    }

    deinit { close() }

    /// Closes the file descriptor (reopened by the next read).
    public func close() {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
        descriptor = -1
    }

    /// Whether a descriptor is open.
    public var isOpen: Bool { descriptor >= 0 }

    /// Reads epoch `epoch` (samplesPerEpoch floats) into `destination`.
    public func read(epoch: Int, into destination: UnsafeMutablePointer<Float>) throws {
        precondition(epoch >= 0 && epoch < epochCount, "EpochFile: epoch \(epoch) of \(epochCount)")
        if descriptor < 0 {
            descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw SleepfoldError.system("open", file: url.path, errno: errno)
            }
        }
        let bytes = 4 * samplesPerEpoch
        var done = 0
        while done < bytes {
            let n = pread(descriptor, UnsafeMutableRawPointer(destination) + done, bytes - done,
                          off_t(dataOffset + epoch * bytes + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                if n < 0 { throw SleepfoldError.system("pread", file: url.path, field: "epoch \(epoch)", errno: errno) }
                throw SleepfoldError(.truncated, file: url.path, field: "epoch \(epoch)", found: "the end of the file",
                                     expected: "\(bytes) bytes of samples (the file shrank while being read?)")
            }
            done += n
        }
        // The file is little-endian; so are the machines sleepfold runs on.
        #if _endian(big)
        for i in 0..<samplesPerEpoch { destination[i] = Float(bitPattern: UInt32(littleEndian: destination[i].bitPattern)) }
        #endif
    }

    /// The whole night as a `Recording` (validation and test nights, one at a time).
    public func recording(id: String, subject: String, night: Int?) throws -> Recording {
        var x = [Float](repeating: 0, count: epochCount * samplesPerEpoch)
        try x.withUnsafeMutableBufferPointer { buffer in
            for e in 0..<epochCount { try read(epoch: e, into: buffer.baseAddress! + e * samplesPerEpoch) }
        }
        return Recording(id: id, subject: subject, night: night, sampleRate: sampleRate,
                         samplesPerEpoch: samplesPerEpoch, x: x, labels: labels)
    }

    package static func padded(_ bytes: Int) -> Int { (bytes + 63) / 64 * 64 }
}

// Codes of sleepfold's own and numpy's file formats (Cohorts reads the latter).
extension SleepfoldError.Code {
    /// The file does not start with its format's magic bytes (not an epoch file, not an `.npy` array).
    public static let badMagic = Self("badMagic")
}
