import Foundation
import Basics
import Recordings
import Cohorts
import EDF
import Preparation

/// Mean band powers of the epochs of each sleep stage over a set of recordings:
/// the check that a cohort (synthetic or real) has the spectral signature of
/// sleep EEG, and the per-stage table a cohort summary prints.
///
/// Each epoch gets a Welch spectrum; its power in each band (µV²) and its
/// relative power (band power / power in `reference`) are averaged over the
/// epochs of each stage.
public struct StageBandPowers: Sendable {
    /// The bands, in column order.
    public let bands: [FrequencyBand]
    /// The band relative powers are taken against (0.5–30 Hz by default).
    public let reference: FrequencyBand
    /// Number of epochs of each stage, indexed by `Stage.rawValue`.
    public let epochCounts: [Int]
    /// Mean absolute band power in µV², `absolute[stage][band]`; 0 for absent stages.
    public let absolute: [[Double]]
    /// Mean relative band power (0…1), `relative[stage][band]`; 0 for absent stages.
    public let relative: [[Double]]

    /// Measures `recordings`. Epochs whose label is not a stage (0…4) are skipped;
    /// recordings whose epochs are shorter than `segmentLength` contribute nothing.
    public init(recordings: [Recording], bands: [FrequencyBand] = FrequencyBand.standard,
                reference: FrequencyBand = .total, segmentLength: Int = 256) {
        self.bands = bands
        self.reference = reference
        var counts = [Int](repeating: 0, count: Stage.count)
        var absSum = [[Double]](repeating: [Double](repeating: 0, count: bands.count), count: Stage.count)
        var relSum = absSum
        for rec in recordings {
            guard let welch = WelchEstimator(segmentLength: segmentLength, sampleRate: rec.sampleRate),
                  rec.samplesPerEpoch >= segmentLength else { continue }
            for (e, label) in rec.labels.enumerated() {
                guard let stage = Stage(rawValue: label) else { continue }
                let start = e * rec.samplesPerEpoch
                guard let spectrum = welch.spectrum(of: rec.x[start..<(start + rec.samplesPerEpoch)]) else { continue }
                let s = Int(stage.rawValue)
                let total = spectrum.power(in: reference)
                counts[s] += 1
                for (b, band) in bands.enumerated() {
                    let p = spectrum.power(in: band)
                    absSum[s][b] += p
                    relSum[s][b] += total > 0 ? p / total : 0
                }
            }
        }
        epochCounts = counts
        absolute = absSum.enumerated().map { s, row in row.map { counts[s] > 0 ? $0 / Double(counts[s]) : 0 } }
        relative = relSum.enumerated().map { s, row in row.map { counts[s] > 0 ? $0 / Double(counts[s]) : 0 } }
    }

    /// Mean absolute power (µV²) of `stage` in `band`; nil if the band was not measured.
    public func absolute(_ stage: Stage, _ band: FrequencyBand) -> Double? {
        bands.firstIndex(of: band).map { absolute[Int(stage.rawValue)][$0] }
    }

    /// Mean relative power of `stage` in `band`; nil if the band was not measured.
    public func relative(_ stage: Stage, _ band: FrequencyBand) -> Double? {
        bands.firstIndex(of: band).map { relative[Int(stage.rawValue)][$0] }
    }

    /// A plain-text table: one row per stage with its epoch count, then the
    /// absolute power (µV²) and the relative power (%) of each band.
    public func table() -> String {
        func pad(_ s: String, _ width: Int) -> String {
            s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
        }
        var lines: [String] = []
        let absHeader = bands.map { pad($0.name, 13) }.joined()
        lines.append(pad("stage", 5) + pad("epochs", 8) + absHeader + "   (mean absolute power, µV²)")
        for stage in Stage.allCases {
            let s = Int(stage.rawValue)
            lines.append(pad(stage.name, 5) + pad(String(epochCounts[s]), 8)
                         + absolute[s].map { pad(String(format: "%.1f", $0), 13) }.joined())
        }
        lines.append(pad("stage", 5) + pad("epochs", 8) + absHeader + "   (mean relative power vs \(reference), %)")
        for stage in Stage.allCases {
            let s = Int(stage.rawValue)
            lines.append(pad(stage.name, 5) + pad(String(epochCounts[s]), 8)
                         + relative[s].map { pad(String(format: "%.1f", 100 * $0), 13) }.joined())
        }
        return lines.joined(separator: "\n")
    }
}
