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
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
              let out = FileHandle(forWritingAtPath: temporary.path) else {
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
}
