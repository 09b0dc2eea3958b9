import Foundation
import Basics
import Recordings

/// What fold planning needs to know about one recording, without its signal.
///
/// Made by `init(scanning:…)`, which reads `fs`, `y` and only the header of `x`
/// (optionally streaming x to check it, never holding it), so a cohort of
/// thousands of nights can be summarised in little memory. `Cohort.load` turns
/// a summary into the full `Recording`.
public struct RecordingSummary: Equatable, Sendable, Codable {
    /// Recording id: the file name without extension (e.g. "SC4001E0").
    public var id: String
    /// Subject id (e.g. "00"); nights of one subject share a fold.
    public var subject: String
    /// Night number, if known.
    public var night: Int?
    /// The `.npz` file.
    public var url: URL
    /// Number of 30-s epochs.
    public var epochCount: Int
    /// Sampling rate, Hz.
    public var sampleRate: Double
    /// Samples per epoch (3000 at 100 Hz).
    public var samplesPerEpoch: Int
    /// Stage label of each epoch, 0…4.
    public var labels: [Int32]
    /// Epochs per stage, indexed by `Stage.rawValue` (W, N1, N2, N3, REM).
    public var classCounts: [Int]
    /// SHA-256 of the file as 64 lowercase hex digits, if it was computed.
    public var contentHash: String?

    public init(id: String, subject: String, night: Int?, url: URL, epochCount: Int, sampleRate: Double,
                samplesPerEpoch: Int, labels: [Int32], classCounts: [Int], contentHash: String?) {
        self.id = id
        self.subject = subject
        self.night = night
        self.url = url
        self.epochCount = epochCount
        self.sampleRate = sampleRate
        self.samplesPerEpoch = samplesPerEpoch
        self.labels = labels
        self.classCounts = classCounts
        self.contentHash = contentHash
    }

    /// Reads and checks the file at `url` as `Recording(contentsOf:)` does, keeping only the summary.
    ///
    /// - Parameters:
    ///   - subject, night: as for `Recording(contentsOf:)`; nil subject reads a Sleep-EDF name.
    ///   - expectedSampleRate: the rate `fs` must equal; nil accepts any rate.
    ///   - checkSignal: stream all of x to check for NaN/infinity and verify its CRC.
    ///     Costs reading (and inflating) the whole file, but not holding it; without it
    ///     only x's header and recorded size are checked.
    ///   - computeHash: also compute `contentHash` (one more pass over the file).
    /// - Throws: `SleepfoldError` naming the file, member and problem.
    public init(scanning url: URL, subject: String? = nil, night: Int? = nil,
                expectedSampleRate: Double? = Recording.standardSampleRate,
                checkSignal: Bool = true, computeHash: Bool = false) throws {
        let (subject, night) = try Recording.identity(of: url, subject: subject, night: night)
        let archive = try NPZArchive(url: url)
        let layout = try RecordingLayout(archive: archive, expectedSampleRate: expectedSampleRate)
        if checkSignal {
            try RecordingSummary.checkFinite(archive: archive, layout: layout)
        }
        var counts = [Int](repeating: 0, count: Stage.count)
        for label in layout.labels { counts[Int(label)] += 1 }
        self.init(id: Recording.id(of: url), subject: subject, night: night, url: url,
                  epochCount: layout.epochCount, sampleRate: layout.sampleRate,
                  samplesPerEpoch: layout.samplesPerEpoch, labels: layout.labels, classCounts: counts,
                  contentHash: computeHash ? try SHA256.hexDigest(ofFile: url) : nil)
    }

    /// Streams x and throws at the first NaN or infinity, reporting how many there are.
    private static func checkFinite(archive: NPZArchive, layout: RecordingLayout) throws {
        var index = 0
        var firstBad: (index: Int, value: Double)?
        var badCount = 0
        _ = try archive.stream("x") { header, elements in
            // Elements arrive little-endian and whole; decode without copying the run.
            switch header.dtype {
            case .float32:
                for offset in stride(from: 0, to: elements.count, by: 4) {
                    let value = Float(bitPattern: UInt32(littleEndian: elements.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                    if !value.isFinite {
                        if firstBad == nil { firstBad = (index, Double(value)) }
                        badCount += 1
                    }
                    index += 1
                }
            default:  // float64; RecordingLayout allows only the two float types
                for offset in stride(from: 0, to: elements.count, by: 8) {
                    let value = Double(bitPattern: UInt64(littleEndian: elements.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                    // A float64 beyond Float's range turns infinite when loaded as float32.
                    if !Float(value).isFinite {
                        if firstBad == nil { firstBad = (index, value) }
                        badCount += 1
                    }
                    index += 1
                }
            }
        }
        if let firstBad {
            throw layout.nonFiniteError(file: archive.path, firstIndex: firstBad.index, value: firstBad.value, count: badCount)
        }
    }
}
