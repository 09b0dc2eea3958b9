import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import Synthesis
import Evaluation
import Reports
import Shared
import TestSupport

/// The Sleep-EDF fixture pair under names that do not follow the SC4 pattern.
private let fixtures = TestFixtures.root.appendingPathComponent("edf/sleep-edf")

@Suite struct PrepareManifestCommandTests {
    @Test func aManifestNamesSubjectsAndTheOutputCohortKeepsThem() throws {
        let dir = try CommandRunner.temporaryDirectory("prepare-manifest")
        defer { try? FileManager.default.removeItem(at: dir) }
        let raw = dir.appendingPathComponent("raw")
        try FileManager.default.createDirectory(at: raw, withIntermediateDirectories: true)
        for who in ["alice", "bob"] {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent("SC4001E0-PSG-first300s.edf"),
                                             to: raw.appendingPathComponent("\(who)-night.edf"))
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent("SC4001EC-Hypnogram.edf"),
                                             to: raw.appendingPathComponent("\(who)-stages.edf"))
        }
        let manifest = """
        {"nights": [
          {"psg": "raw/alice-night.edf", "hypnogram": "raw/alice-stages.edf", "subject": "alice", "night": 1},
          {"psg": "raw/bob-night.edf", "hypnogram": "raw/bob-stages.edf", "subject": "bob", "id": "B1"}
        ]}
        """
        try manifest.write(to: dir.appendingPathComponent("nights.json"), atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("npz")
        let prepare = try CommandRunner.run(["prepare", "--manifest", dir.appendingPathComponent("nights.json").path,
                                             "--out", out.path, "--trim-wake", "none"])
        #expect(prepare.status == 0, "\(prepare.stderr)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("alice-night.npz").path))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("B1.npz").path))

        // The written cohort manifest carries the subjects into fold planning.
        let plan = try CommandRunner.run(["plan", "--data", out.appendingPathComponent("manifest.json").path,
                                          "--folds", "2", "--selection", "last", "--json"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("\"alice\"") && plan.stdout.contains("\"bob\""))
    }

    @Test func aManifestEntryWithoutSubjectIsNamed() throws {
        let dir = try CommandRunner.temporaryDirectory("prepare-manifest-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        try #"{"nights": [{"psg": "a.edf", "hypnogram": "b.edf"}]}"#
            .write(to: dir.appendingPathComponent("m.json"), atomically: true, encoding: .utf8)
        let result = try CommandRunner.run(["prepare", "--manifest", dir.appendingPathComponent("m.json").path, "--out", dir.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("nights[0].subject"))
        let both = try CommandRunner.run(["prepare", "--out", dir.path])
        #expect(both.status != 0 && both.stderr.contains("--manifest"))
    }
}
