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

/// SHHS end to end: a synthetic SHHS-style cohort (EDF + NSRR XML) is prepared at
/// 125 Hz and cross-validated through the cluster with the SHHS config.
@Suite struct SHHSCommandTests {
    @Test func syntheticSHHSCohortPreparesAndCrossValidatesWithTheSHHSConfig() throws {
        let root = try CommandRunner.temporaryDirectory("shhs")
        defer { try? FileManager.default.removeItem(at: root) }
        let raw = root.appendingPathComponent("raw"), data = root.appendingPathComponent("data")
        let synth = try CommandRunner.run(["synth", "--format", "nsrr", "--subjects", "6", "--nights", "1",
                                           "--hours", "0.5", "--seed", "4", "--out", raw.path])
        #expect(synth.status == 0, "\(synth.stderr)")
        let prepare = try CommandRunner.run(["prepare", "--edf-dir", raw.path, "--annotations", raw.path,
                                             "--rate", "125", "--out", data.path])
        #expect(prepare.status == 0, "\(prepare.stderr)")
        #expect(prepare.stdout.contains("shhs1-200005") && prepare.stdout.contains("wrote 6 recordings"))

        // Each night: 3750-sample epochs at 125 Hz, the channel and subject kept.
        let archive = try NPZArchive(url: data.appendingPathComponent("shhs1-200003.npz"))
        #expect(try archive.array("fs").doubleScalar() == 125)
        #expect(try archive.array("x").shape.dropFirst().first == 3750)
        #expect(try archive.array("ch_label").stringScalar() == "EEG")
        let manifest = try String(contentsOf: data.appendingPathComponent("manifest.json"), encoding: .utf8)
        #expect(manifest.contains("\"subject\" : \"200003\""))

        let config = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs/shhs-small.json")
        let out = root.appendingPathComponent("run")
        let run = try CommandRunner.run(["run", "--data", data.appendingPathComponent("manifest.json").path,
                                         "--config", config.path, "--epochs", "2", "--folds", "3", "--workers", "2",
                                         "--out", out.path])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: out.appendingPathComponent("report.json"))) as? [String: Any])
        #expect((report["folds"] as? [Any])?.count == 3)
        #expect((report["subjects"] as? [Any])?.count == 6)
        let config_ = try #require(report["config"] as? [String: Any])
        #expect((config_["model"] as? [String: Any])?["inputSamples"] as? Int == 3750)
        // The Sleep-EDF model (3000 samples = 100 Hz) refuses 125-Hz nights, naming the files and the rates.
        let wrong = try CommandRunner.run(["run", "--data", data.appendingPathComponent("manifest.json").path,
                                           "--epochs", "1", "--folds", "3", "--workers", "1",
                                           "--out", root.appendingPathComponent("wrong").path])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("sampling rate is 125 Hz, expected 100 Hz"), "\(wrong.stderr)")
    }
}
