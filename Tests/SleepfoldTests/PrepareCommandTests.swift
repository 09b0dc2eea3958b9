import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import EDF
import Synthesis
import Evaluation
import Reports
import Shared
import TestSupport

/// The first 300 s of PhysioNet's SC4001E0 and its hypnogram (Tests/Fixtures/edf).
private let fixtures = TestFixtures.root.appendingPathComponent("edf/sleep-edf")
private let psgFixture = fixtures.appendingPathComponent("SC4001E0-PSG-first300s.edf")
private let hypnogramFixture = fixtures.appendingPathComponent("SC4001EC-Hypnogram.edf")

/// A directory holding the pair under Sleep-EDF's names, plus `extra` copies (name → source).
private func edfDirectory(_ name: String, extra: [String: URL] = [:]) throws -> URL {
    let dir = try CommandRunner.temporaryDirectory(name)
    let edf = dir.appendingPathComponent("edf")
    try FileManager.default.createDirectory(at: edf, withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: psgFixture, to: edf.appendingPathComponent("SC4001E0-PSG.edf"))
    try FileManager.default.copyItem(at: hypnogramFixture, to: edf.appendingPathComponent("SC4001EC-Hypnogram.edf"))
    for (file, source) in extra { try FileManager.default.copyItem(at: source, to: edf.appendingPathComponent(file)) }
    return dir
}

@Suite struct PrepareCommandTests {
    @Test func withoutTrimmingTheNightBecomesTenWakeEpochsOfThePhysicalSignal() throws {
        // A hypnogram without its PSG is listed as unpaired.
        let dir = try edfDirectory("prepare", extra: ["SC4011EC-Hypnogram.edf": hypnogramFixture])
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("npz")
        let result = try CommandRunner.run(["prepare", "--edf-dir", dir.appendingPathComponent("edf").path,
                                            "--out", out.path, "--trim-wake", "none"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("| SC4001E0 | 10 | 10 | 0 | 0 | 0 | 0 |"))
        #expect(result.stdout.contains("| total | 10 | 10 |"))
        #expect(result.stdout.contains("unpaired SC4011EC-Hypnogram.edf"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path) == ["SC4001E0.npz"])

        let file = out.appendingPathComponent("SC4001E0.npz")
        let recording = try Recording(contentsOf: file)
        #expect(recording.subject == "00" && recording.night == 1)
        #expect(recording.sampleRate == 100 && recording.samplesPerEpoch == 3000)
        #expect(recording.labels == Array(repeating: 0, count: 10))
        let psg = try EDFReader(url: psgFixture)
        let channel = try #require(psg.header.signalIndices(label: "EEG Fpz-Cz").first)
        let physical = try psg.physicalSamples(signal: channel, as: Float.self)
        #expect(recording.x == physical)

        // Provenance members: the channel, the PSG's rate, its start time and each epoch's onset.
        let archive = try NPZArchive(url: file)
        #expect(try archive.array("ch_label").stringScalar() == "EEG Fpz-Cz")
        #expect(try archive.array("source_fs").doubleScalar() == 100)
        #expect(try archive.array("start_time").doubleScalar() == Double(psg.header.startTime.secondsSinceEpoch))
        #expect(try archive.array("epoch_onsets").doubles() == (0..<10).map { Double($0) * 30 })
    }

    @Test func aNightWithoutSleepIsNamedAndSkippedWhenTrimming() throws {
        let dir = try edfDirectory("prepare-trim")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("npz")
        let result = try CommandRunner.run(["prepare", "--edf-dir", dir.appendingPathComponent("edf").path, "--out", out.path])
        #expect(result.stdout.contains("skipped SC4001E0: no sleep epoch"))
        // Nothing written: the command fails with the reason.
        #expect(result.status != 0)
        #expect(result.stderr.contains("SC4001E0") && result.stderr.contains("no sleep epoch"))
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: out.path))?.isEmpty ?? true)
    }

    @Test func badChannelAndOptionsFailWithAReason() throws {
        let dir = try edfDirectory("prepare-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let edf = dir.appendingPathComponent("edf").path, out = dir.appendingPathComponent("npz").path
        let channel = try CommandRunner.run(["prepare", "--edf-dir", edf, "--out", out, "--channel", "EEG Nope"])
        #expect(channel.status != 0)
        #expect(channel.stderr.contains("SC4001E0-PSG.edf") && channel.stderr.contains("EEG Nope"))

        let trim = try CommandRunner.run(["prepare", "--edf-dir", edf, "--out", out, "--trim-wake", "soon"])
        #expect(trim.status != 0)
        #expect(trim.stderr.contains("--trim-wake"))

        try Data("{\"stages\": {\"Sleep stage W\": \"deep\"}}".utf8).write(to: dir.appendingPathComponent("map.json"))
        let map = try CommandRunner.run(["prepare", "--edf-dir", edf, "--out", out,
                                         "--stage-map", dir.appendingPathComponent("map.json").path])
        #expect(map.status != 0)
        #expect(map.stderr.contains("map.json"))
    }

    @Test func aStageMapFileDecidesWhichTextsAreStages() throws {
        // Mapping Sleep-EDF's "W" to N1 makes the night one of sleep: kept even with trimming.
        let dir = try edfDirectory("prepare-map")
        defer { try? FileManager.default.removeItem(at: dir) }
        let map = dir.appendingPathComponent("map.json")
        try Data("{\"stages\": {\"Sleep stage W\": \"N1\"}, \"drop\": [\"Sleep stage ?\"]}".utf8).write(to: map)
        let out = dir.appendingPathComponent("npz")
        let result = try CommandRunner.run(["prepare", "--edf-dir", dir.appendingPathComponent("edf").path,
                                            "--out", out.path, "--stage-map", map.path, "--compressed"])
        #expect(result.status == 0, "\(result.stderr)")
        let recording = try Recording(contentsOf: out.appendingPathComponent("SC4001E0.npz"))
        #expect(recording.labels == Array(repeating: 1, count: 10))
    }
}
