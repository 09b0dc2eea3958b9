import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Basics
import Recordings

/// Epoch files written from NPZ nights (the worker's training data).
extension EpochFile {
    /// Writes the epoch file of the `.npz` recording at `npz` to `url`, streaming x
    /// (never the whole signal in memory), checking it as loading a recording does
    /// (finite values, labels 0…4, the expected rate when given).
    @discardableResult
    public static func convert(npz: URL, to url: URL, expectedSampleRate: Double? = nil) throws -> EpochFile {
        let archive = try NPZArchive(url: npz)
        let layout = try RecordingLayout(archive: archive, expectedSampleRate: expectedSampleRate)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).part")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw SleepfoldError.system("creating its temporary file \(temporary.lastPathComponent)", file: url.path, errno: errno)
        }
        let out = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
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
        func write(_ data: Data) throws(SleepfoldError) {
            try fileAccess(url.path, cannot: "write the epoch file (\(temporary.lastPathComponent))") { try out.write(contentsOf: data) }
        }
        try write(Data(header + labelBytes))

        var index = 0
        var firstBad: (index: Int, value: Double)?, badCount = 0
        var chunk: [Float] = []
        // The header was checked by RecordingLayout; the stream's copy is not needed.
        _ = try archive.stream("x") { npy, elements in
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
            try write(chunk.withUnsafeBytes { Data($0) })
        }
        if let firstBad {
            throw layout.nonFiniteError(file: archive.path, firstIndex: firstBad.index, value: firstBad.value, count: badCount)
        }
        try fileAccess(url.path, cannot: "flush the epoch file to disk") { try out.synchronize() }
        guard rename(temporary.path, url.path) == 0 else {
            throw SleepfoldError.system("renaming \(temporary.lastPathComponent) onto it", file: url.path, errno: errno)
        }
        committed = true
        return try EpochFile(url: url)
    }
}
