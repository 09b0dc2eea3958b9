import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
    static let headerBytes = 64

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

    /// Writes the epoch file of the `.npz` recording at `npz` to `url`, streaming x
    /// (never the whole signal in memory), checking it as loading a recording does
    /// (finite values, labels 0…4, the expected rate when given).
    @discardableResult
    public static func convert(npz: URL, to url: URL, expectedSampleRate: Double? = nil) throws -> EpochFile {
        let archive = try NPZArchive(url: npz)
        let layout = try RecordingLayout(archive: archive, expectedSampleRate: expectedSampleRate)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).part")
        FileManager.default.createFile(atPath: temporary.path, contents: nil)
        guard let out = FileHandle(forWritingAtPath: temporary.path) else {
            throw DataError(.ioFailure, file: temporary.path, "cannot create the epoch file")
        }
        var committed = false
        defer {
            try? out.close()
            if !committed { try? FileManager.default.removeItem(at: temporary) }
        }
        var header = [UInt8](repeating: 0, count: headerBytes)
        header.replaceSubrange(0..<16, with: magic)
        header.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: version.littleEndian, toByteOffset: 16, as: UInt32.self)
            raw.storeBytes(of: UInt32(layout.samplesPerEpoch).littleEndian, toByteOffset: 20, as: UInt32.self)
            raw.storeBytes(of: UInt64(layout.epochCount).littleEndian, toByteOffset: 24, as: UInt64.self)
            raw.storeBytes(of: layout.sampleRate.bitPattern.littleEndian, toByteOffset: 32, as: UInt64.self)
        }
        var labelBytes = [UInt8](repeating: 0, count: padded(4 * layout.epochCount))
        labelBytes.withUnsafeMutableBytes { raw in
            for (i, l) in layout.labels.enumerated() { raw.storeBytes(of: l.littleEndian, toByteOffset: 4 * i, as: Int32.self) }
        }
        try out.write(contentsOf: header + labelBytes)

        var index = 0
        var firstBad: (index: Int, value: Double)?, badCount = 0
        var chunk: [Float] = []
        try archive.stream("x") { npy, elements in
            chunk.removeAll(keepingCapacity: true)
            if npy.dtype == .float32 {
                for offset in stride(from: 0, to: elements.count, by: 4) {
                    chunk.append(Float(bitPattern: UInt32(littleEndian: elements.loadUnaligned(fromByteOffset: offset, as: UInt32.self))))
                }
            } else {  // float64; RecordingLayout allows only the two float types
                for offset in stride(from: 0, to: elements.count, by: 8) {
                    chunk.append(Float(Double(bitPattern: UInt64(littleEndian: elements.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))))
                }
            }
            for (i, v) in chunk.enumerated() where !v.isFinite {
                if firstBad == nil { firstBad = (index + i, Double(v)) }
                badCount += 1
            }
            index += chunk.count
            try chunk.withUnsafeBytes { try out.write(contentsOf: Data($0)) }
        }
        if let firstBad {
            throw layout.nonFiniteError(file: archive.path, firstIndex: firstBad.index, value: firstBad.value, count: badCount)
        }
        try out.synchronize()
        guard rename(temporary.path, url.path) == 0 else {
            throw DataError(.ioFailure, file: url.path, "cannot move the epoch file into place: \(String(cString: strerror(errno)))")
        }
        committed = true
        return try EpochFile(url: url)
    }

    static func padded(_ bytes: Int) -> Int { (bytes + 63) / 64 * 64 }
}
