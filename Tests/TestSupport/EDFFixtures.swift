import Foundation
import Testing
import EDF

/// The EDF files under Tests/Fixtures/edf (PhysioNet Sleep-EDF excerpts and other
/// readers' samples) and EDF helpers the EDF and preparation tests share.
public enum EDFFixtures {
    public static func url(_ relativePath: String) throws -> URL {
        try TestFixtures.url("edf/" + relativePath)
    }

    public static func bytes(_ relativePath: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url(relativePath)))
    }
}

/// Largest |a − b| over two equally long arrays (∞ when the lengths differ).
public func maxAbsDifference(_ a: [Double], _ b: [Double]) -> Double {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// An EDF+C file from EDFWriter with the reserved field and one time-keeping onset patched.
public func patchedPlusFile(reserved: String, lastRecordOnset: String) throws -> [UInt8] {
    let eeg = EDFWriter.Signal(
        header: EDFSignalHeader(label: "EEG", physicalMinimum: -1, physicalMaximum: 1,
                                digitalMinimum: -100, digitalMaximum: 100, samplesPerRecord: 10),
        digitalSamples: (0..<40).map { Int32($0) })
    var bytes = try EDFWriter(startTime: EDFDateTime(year: 2001, month: 2, day: 3, hour: 4, minute: 5, second: 6),
                              recordDuration: 1, signals: [eeg]).encode()
    for (i, b) in reserved.utf8.enumerated() { bytes[192 + i] = b }
    // The last record's time-keeping TAL "+3\x14\x14" is its signal 2 bytes.
    let recordBytes = (bytes.count - 768) / 4
    let tal = 768 + 3 * recordBytes + 20
    #expect(Array(bytes[tal..<(tal + 4)]) == Array("+3\u{14}\u{14}".utf8))
    for (i, b) in lastRecordOnset.utf8.enumerated() { bytes[tal + i] = b }
    return bytes
}
