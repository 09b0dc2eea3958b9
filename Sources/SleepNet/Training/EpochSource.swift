import Basics
import Recordings

/// Where training epochs come from: epoch `e` of recording `r`, copied into a
/// batch buffer on demand. Labels stay in memory (4 bytes an epoch); signals need
/// not: `EpochFileSource` reads them from disk, so a trainer's memory does not grow
/// with the size of its training set.
public protocol EpochSource: AnyObject {
    /// Samples per epoch, the same for every recording.
    var samplesPerEpoch: Int { get }
    /// Each recording's labels, in recording order.
    var labels: [[Int32]] { get }
    /// Copies epoch `epoch` of recording `recording` (samplesPerEpoch floats) to `destination`.
    func copyEpoch(recording: Int, epoch: Int, to destination: UnsafeMutablePointer<Float>) throws
}

/// Recordings held in memory.
public final class InMemoryEpochs: EpochSource {
    public let recordings: [Recording]
    public let samplesPerEpoch: Int
    public let labels: [[Int32]]

    public init(_ recordings: [Recording]) {
        self.recordings = recordings
        samplesPerEpoch = recordings.first?.samplesPerEpoch ?? 0
        labels = recordings.map(\.labels)
    }

    public func copyEpoch(recording r: Int, epoch e: Int, to destination: UnsafeMutablePointer<Float>) throws {
        let S = samplesPerEpoch
        recordings[r].x.withUnsafeBufferPointer { src in destination.update(from: src.baseAddress! + e * S, count: S) }
    }
}

/// Epoch files (`EpochFile`) read with pread. At most `maxOpenFiles` descriptors are
/// open at once (least recently used closed first), so thousands of nights are fine.
public final class EpochFileSource: EpochSource {
    public let files: [EpochFile]
    public let samplesPerEpoch: Int
    public let labels: [[Int32]]
    public static let maxOpenFiles = 64
    private var openOrder: [Int] = []

    public init(_ files: [EpochFile]) throws {
        self.files = files
        samplesPerEpoch = files.first?.samplesPerEpoch ?? 0
        for f in files where f.samplesPerEpoch != samplesPerEpoch {
            throw SleepfoldError(.shapeMismatch, file: f.url.path, field: "samples per epoch", found: "\(f.samplesPerEpoch)",
                                 expected: "\(samplesPerEpoch), as in \(files[0].url.path)")
        }
        labels = files.map(\.labels)
    }

    public func copyEpoch(recording r: Int, epoch e: Int, to destination: UnsafeMutablePointer<Float>) throws {
        let file = files[r]
        if !file.isOpen {
            if openOrder.count >= Self.maxOpenFiles { files[openOrder.removeFirst()].close() }
            openOrder.append(r)
        }
        try file.read(epoch: e, into: destination)
    }
}

/// A night for evaluation that is read only when it is predicted.
public struct LazyRecording {
    public var id: String
    public var load: () throws -> Recording

    public init(id: String, load: @escaping () throws -> Recording) {
        self.id = id
        self.load = load
    }

    public init(_ recording: Recording) {
        id = recording.id
        load = { recording }
    }
}
