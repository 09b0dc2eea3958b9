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
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw DataError(.fileNotFound, file: url.path, "cannot open the epoch file")
        }
        defer { try? handle.close() }
        let header = [UInt8](try handle.read(upToCount: Self.headerBytes) ?? Data())
        guard header.count == Self.headerBytes, Array(header[0..<16]) == Self.magic else {
            throw DataError(.notAnArchive, file: url.path, "not a sleepfold epoch file (expected \"SLEEPFOLD-EPOCHS\" at offset 0)")
        }
        func u32(_ at: Int) -> UInt32 { header.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) } }
        func u64(_ at: Int) -> UInt64 { header.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) } }
        guard u32(16) == Self.version else {
            throw DataError(.malformedHeader, file: url.path, "epoch file version \(u32(16)), expected \(Self.version)")
        }
        let samples = Int(u32(20)), count = u64(24)
        sampleRate = Double(bitPattern: u64(32))
        guard samples > 0, count > 0, count < 1 << 32 else {
            throw DataError(.malformedHeader, file: url.path, "\(count) epochs of \(samples) samples, expected positive sizes")
        }
        samplesPerEpoch = samples
        let n = Int(count)
        let labelBytes = Self.padded(4 * n)
        let labelData = [UInt8](try handle.read(upToCount: labelBytes) ?? Data())
        guard labelData.count == labelBytes else {
            throw DataError(.truncated, file: url.path, "labels end early: \(labelData.count) of \(labelBytes) bytes")
        }
        labels = labelData.withUnsafeBytes { raw in (0..<n).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) } }
        dataOffset = Self.headerBytes + labelBytes
        let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
        guard size == dataOffset + 4 * n * samples else {
            throw DataError(.truncated, file: url.path, "file has \(size) bytes, expected \(dataOffset + 4 * n * samples) for \(n) epochs of \(samples) samples")
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
                throw DataError(.ioFailure, file: url.path, "cannot open: \(String(cString: strerror(errno)))")
            }
        }
        let bytes = 4 * samplesPerEpoch
        var done = 0
        while done < bytes {
            let n = pread(descriptor, UnsafeMutableRawPointer(destination) + done, bytes - done,
                          off_t(dataOffset + epoch * bytes + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw DataError(.ioFailure, file: url.path, "read of epoch \(epoch) failed: \(n < 0 ? String(cString: strerror(errno)) : "end of file")")
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
