import Basics
/// One night of single-channel EEG cut into 30-s epochs, with a stage label per epoch.
///
/// Memory layout: `x` is row-major (epochs, samplesPerEpoch), i.e. epoch `i`
/// occupies `x[i * samplesPerEpoch ..< (i + 1) * samplesPerEpoch]`.
/// Files: `init(contentsOf:subject:night:expectedSampleRate:)` and `write(to:compression:extraMembers:)`
/// read and write the AttnSleep `.npz` format (Recording+NPZ.swift); `Cohort` reads many.
public struct Recording: Sendable {
    /// Identifier of the night, the file name without extension (e.g. "SC4001E0").
    public var id: String
    /// Subject the night belongs to (e.g. "00"); nights of one subject share a fold.
    public var subject: String
    /// Night number within the subject (1 or 2 for Sleep-EDF), if known.
    public var night: Int?
    /// Sampling rate in Hz (100 for the AttnSleep format).
    public var sampleRate: Double
    /// Samples per 30-s epoch (3000 at 100 Hz).
    public var samplesPerEpoch: Int
    /// Signal, (epochs, samplesPerEpoch) row-major, physical units (µV).
    public var x: [Float]
    /// Stage label of each epoch, 0...4 (W, N1, N2, N3, REM).
    public var labels: [Int32]

    public init(id: String, subject: String, night: Int?, sampleRate: Double,
                samplesPerEpoch: Int, x: [Float], labels: [Int32]) {
        precondition(x.count == labels.count * samplesPerEpoch,
                     "Recording \(id): x has \(x.count) values, expected \(labels.count) × \(samplesPerEpoch)")
        self.id = id
        self.subject = subject
        self.night = night
        self.sampleRate = sampleRate
        self.samplesPerEpoch = samplesPerEpoch
        self.x = x
        self.labels = labels
    }

    /// Number of 30-s epochs.
    public var epochCount: Int { labels.count }
}
