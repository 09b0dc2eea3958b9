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

/// SHHS as the AttnSleep paper ran it: Profusion annotations, the reference's channel,
/// the rule for stage values above 5, and the paper's 20 folds of its 329 recordings.
@Suite struct SHHSPaperCommandTests {
    @Test func profusionNightsPrepareWithTheReferencesChannelAndRule() throws {
        let root = try CommandRunner.temporaryDirectory("profusion")
        defer { try? FileManager.default.removeItem(at: root) }
        let raw = root.appendingPathComponent("raw"), data = root.appendingPathComponent("data")
        let synth = try CommandRunner.run(["synth", "--format", "profusion", "--subjects", "3", "--nights", "1",
                                           "--hours", "0.5", "--seed", "6", "--out", raw.path])
        #expect(synth.status == 0, "\(synth.stderr)")
        #expect(synth.stdout.contains("wrote 3 SHHS-style nights (EDF at 125 Hz + Profusion XML)"))
        // Night 200001 gets a stage 6 (movement) in its epoch 10: the reference leaves it out.
        let xmlURL = raw.appendingPathComponent("shhs1-200001-profusion.xml")
        var xml = try String(contentsOf: xmlURL, encoding: .utf8)
        let stages = try #require(xml.range(of: "<SleepStages>\n"))
        var position = stages.upperBound
        for _ in 0..<10 { position = try #require(xml.range(of: "</SleepStage>\n", range: position..<xml.endIndex)).upperBound }
        let tenth = try #require(xml.range(of: "</SleepStage>", range: position..<xml.endIndex))
        xml.replaceSubrange(position..<tenth.upperBound, with: "<SleepStage>6</SleepStage>")
        try xml.write(to: xmlURL, atomically: true, encoding: .utf8)

        let prepare = try CommandRunner.run(["prepare", "--edf-dir", raw.path, "--annotations", raw.path, "--rate", "125",
                                             "--channel", "EEG", "--channel-match", "first-containing", "--out", data.path])
        #expect(prepare.status == 0, "\(prepare.stderr)")
        #expect(prepare.stdout.contains("- skipped shhs1-200001: stage value 6 (above 5: unscored or movement) at epoch 10 "
                                        + "of shhs1-200001-profusion.xml"), "\(prepare.stdout)")
        #expect(prepare.stdout.contains("wrote 2 recordings") && prepare.stdout.contains("skipped 1 night"), "\(prepare.stdout)")
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("shhs1-200001.npz").path))

        // The reference's channel: the first label containing "EEG" is "EEG(sec)" (C3-A2).
        let archive = try NPZArchive(url: data.appendingPathComponent("shhs1-200002.npz"))
        #expect(try archive.array("ch_label").stringScalar() == "EEG(sec)")
        #expect(try archive.array("x").shape.dropFirst().first == 3750)
        let manifest = try String(contentsOf: data.appendingPathComponent("manifest.json"), encoding: .utf8)
        #expect(manifest.contains("\"subject\" : \"200002\"") && !manifest.contains("200001"))

        // Without --channel-match the channel is the one labelled "EEG" (C4-A1).
        let exact = try CommandRunner.run(["prepare", "--edf-dir", raw.path, "--annotations", raw.path, "--rate", "125",
                                           "--out", root.appendingPathComponent("exact").path])
        #expect(exact.status == 0, "\(exact.stderr)")
        let c4 = try NPZArchive(url: root.appendingPathComponent("exact/shhs1-200002.npz"))
        #expect(try c4.array("ch_label").stringScalar() == "EEG")
        // A file that is not Profusion XML is named with the element at fault.
        try "<CMPStudyConfig><SleepStages><SleepStage>N2</SleepStage></SleepStages></CMPStudyConfig>"
            .write(to: raw.appendingPathComponent("shhs1-200000-profusion.xml"), atomically: true, encoding: .utf8)
        let bad = try CommandRunner.run(["prepare", "--edf-dir", raw.path, "--annotations", raw.path, "--rate", "125",
                                         "--out", root.appendingPathComponent("bad").path])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("shhs1-200000-profusion.xml") && bad.stderr.contains("SleepStages.SleepStage[0]"),
                "\(bad.stderr)")
    }

    /// `plan --fold-plan attnsleep` on a cohort of the paper's 329 recordings (one tiny
    /// night each, subjects as prepare writes them) prints the paper's 20 folds, checked
    /// against the numpy fixture; 329 other subjects are refused by name.
    @Test func attnsleepPlanOfThePapers329RecordingsIsThePapers() throws {
        let dir = try CommandRunner.temporaryDirectory("shhs329")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fixture = try JSONSerialization.jsonObject(
            with: Data(contentsOf: try TestFixtures.url("folds/attnsleep-folds.json"))) as? [String: Any]
        let plans = try #require(fixture?["plans"] as? [[String: Any]])
        let shhs = try #require(plans.first { $0["cohort"] as? String == "shhs" && $0["folds"] as? Int == 20 })
        let recordings = try #require(shhs["subjects"] as? [String])
        let expected = try #require(shhs["test"] as? [[String]])

        func writeCohort(_ ids: [String], to folder: URL) throws -> URL {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var entries: [[String: Any]] = []
            for id in ids {
                let participant = String(id.split(separator: "-").last!)
                let night = Recording(id: id, subject: participant, night: 1, sampleRate: 125, samplesPerEpoch: 3750,
                                      x: [Float](repeating: 0, count: 3750), labels: [2])
                try night.write(to: folder.appendingPathComponent(id + ".npz"))
                entries.append(["path": id + ".npz", "subject": participant, "night": 1])
            }
            let manifest = folder.appendingPathComponent("manifest.json")
            try JSONSerialization.data(withJSONObject: ["recordings": entries]).write(to: manifest)
            return manifest
        }
        let paper = try writeCohort(recordings.reversed(), to: dir.appendingPathComponent("paper"))
        let plan = try CommandRunner.run(["plan", "--data", paper.path, "--folds", "20", "--fold-plan", "attnsleep",
                                          "--selection", "test-oracle", "--json"])
        #expect(plan.status == 0, "\(plan.stderr)")
        struct Plan: Decodable { struct Fold: Decodable { let fold: Int; let train, validation, test: [String] }; let folds: [Fold] }
        let decoded = try JSONDecoder().decode(Plan.self, from: Data(plan.stdout.utf8))
        #expect(decoded.folds.map(\.test) == expected.map { $0.map { String($0.dropFirst(6)) }.sorted() })
        #expect(decoded.folds.allSatisfy { $0.validation.isEmpty && $0.train.count + $0.test.count == 329 })

        // The same number of other SHHS1 nights: no paper order for them.
        let others = (0..<329).map { "shhs1-\(300_000 + $0)" }
        let other = try writeCohort(others, to: dir.appendingPathComponent("other"))
        let refused = try CommandRunner.run(["plan", "--data", other.path, "--folds", "20", "--fold-plan", "attnsleep"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--fold-plan attnsleep: found 329 subjects, 329 of them not among the paper's "
                                        + "SHHS1 recordings (first: \"300000\")"), "\(refused.stderr)")
    }
}
