import Foundation
import Testing
import Basics
import Recordings
import EDF
import Evaluation
import Staging
import TestSupport

/// A staged night's hypnogram.edf and summary.json against
/// Tests/Fixtures/staging/expected.json (scripts/make-staging-fixtures.py): the
/// committed staging/hypnogram.edf is what `StagedNight.hypnogramEDF` writes, byte for
/// byte, and pyedflib and MNE read from it exactly the annotations the project's reader reads;
/// the statistics are YASA's. SLEEPFOLD_WRITE_STAGING_FIXTURE=1 rewrites the EDF file
/// (then run the script again to check it with pyedflib).
@Suite struct StagingFixtureTests {
    struct Expected: Decodable {
        struct PyEDFLib: Decodable {
            let filetype: String
            let signals_in_file: Int
            let start: String
            let onsets: [Double]
            let durations: [Double]
            let texts: [String]
        }
        let start: String
        let stages: [Int32]
        let yasa: [String: Double?]
        struct MNE: Decodable {
            let onsets: [Double]
            let durations: [Double]
            let texts: [String]
        }
        /// Absent until the script has read the committed EDF file.
        let pyedflib: PyEDFLib?
        let mne: MNE?
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: TestFixtures.url("staging/expected.json")))
    }

    /// The fixture's night staged with certainty: each epoch's stage at probability 0.6.
    static func stagedNight(_ e: Expected) throws -> StagedNight {
        let n = e.stages.count
        // "2026-12-04T22:47:15"
        let parts = e.start.split(whereSeparator: { "-T:".contains($0) }).compactMap { Int($0) }
        try #require(parts.count == 6)
        let start = EDFDateTime(year: parts[0], month: parts[1], day: parts[2], hour: parts[3], minute: parts[4], second: parts[5])
        let recording = Recording(id: "fixture-night", subject: "fixture", night: nil, sampleRate: 100, samplesPerEpoch: 1,
                                  x: [Float](repeating: 0, count: n), labels: [Int32](repeating: 0, count: n))
        let night = Night(recording: recording, expert: nil, source: "fixture-night.edf", channel: "EEG Fpz-Cz",
                          sourceRate: 100, startTime: start, droppedSeconds: 0)
        var p = [Float](repeating: 0.1, count: n * Stage.count)
        for (i, s) in e.stages.enumerated() { p[i * Stage.count + Int(s)] = 0.6 }
        return try StagedNight(night: night, models: ["fixture"], probabilities: p, expert: nil)
    }

    @Test func theCommittedHypnogramIsWhatStagingWrites() throws {
        let staged = try Self.stagedNight(try Self.expected())
        let bytes = try staged.hypnogramEDF()
        let url = TestFixtures.root.appendingPathComponent("staging/hypnogram.edf")
        if ProcessInfo.processInfo.environment["SLEEPFOLD_WRITE_STAGING_FIXTURE"] == "1" {
            try Data(bytes).write(to: url)
        }
        #expect([UInt8](try Data(contentsOf: TestFixtures.url("staging/hypnogram.edf"))) == bytes)
    }

    @Test func pyedflibMNEAndTheProjectReaderReadTheSameAnnotations() throws {
        let e = try Self.expected()
        let pyedflib = try #require(e.pyedflib, "run scripts/make-staging-fixtures.py")
        let file = try EDFReader(url: TestFixtures.url("staging/hypnogram.edf"))
        let annotations = try file.annotations().annotations
        #expect(pyedflib.filetype == "EDF+" && file.header.variant == .continuous)
        #expect(pyedflib.signals_in_file == file.header.dataSignalIndices.count)
        let t = file.header.startTime
        #expect(pyedflib.start == String(format: "%04d-%02d-%02dT%02d:%02d:%02d", t.year, t.month, t.day, t.hour, t.minute, t.second))
        #expect(annotations.map(\.onset) == pyedflib.onsets)
        #expect(annotations.map { $0.duration ?? -1 } == pyedflib.durations)
        #expect(annotations.map(\.text) == pyedflib.texts)
        // One annotation per epoch, as Sleep-EDF names the stages.
        #expect(pyedflib.texts == e.stages.map { EDFWriter.hypnogramText(Stage(rawValue: $0)!) })
        // MNE reads the same.
        let mne = try #require(e.mne, "run scripts/make-staging-fixtures.py")
        #expect(annotations.map(\.onset) == mne.onsets)
        #expect(annotations.map { $0.duration ?? -1 } == mne.durations)
        #expect(annotations.map(\.text) == mne.texts)
    }

    @Test func theSummaryHasYASAsStatistics() throws {
        let e = try Self.expected()
        let staged = try Self.stagedNight(e)
        let json = try #require(try JSONSerialization.jsonObject(with: staged.summaryJSON()) as? [String: Any])
        let stats = try #require(json["statistics"] as? [String: Any])
        // summary.json key → YASA's key.
        let keys = ["tib": "TIB", "spt": "SPT", "waso": "WASO", "tst": "TST", "n1": "N1", "n2": "N2", "n3": "N3",
                    "rem": "REM", "nrem": "NREM", "sol": "SOL", "lat_n1": "Lat_N1", "lat_n2": "Lat_N2",
                    "lat_n3": "Lat_N3", "lat_rem": "Lat_REM", "pct_n1": "%N1", "pct_n2": "%N2", "pct_n3": "%N3",
                    "pct_rem": "%REM", "pct_nrem": "%NREM", "se": "SE", "sme": "SME",
                    "n_awakenings": "awakenings", "n_stage_shifts": "stage_shifts"]
        for (ours, theirs) in keys {
            let expected = try #require(e.yasa[theirs] ?? nil, "YASA's \(theirs)")
            let value = try #require(stats[ours] as? Double, "summary.json statistics.\(ours)")
            #expect(abs(value - expected) <= 1e-9, "\(ours): \(value), YASA \(theirs) \(expected)")
        }
        let remFromOnset = try #require(json["rem_latency_from_onset"] as? Double)
        #expect(abs(remFromOnset - (e.yasa["Lat_REM"]!! - e.yasa["SOL"]!!)) <= 1e-9)
        #expect(json["agreement"] is NSNull)
    }
}
