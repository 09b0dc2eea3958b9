import Foundation
import Testing
import Basics
import Cohorts
import Synthesis
import Evaluation
import Reports
import Shared
import TestSupport

@Suite struct SynthAndPlanCommandTests {
    @Test func attnsleepPlanOfASyntheticTwentySubjectCohortIsThePapers() throws {
        let dir = try CommandRunner.temporaryDirectory("plan")
        defer { try? FileManager.default.removeItem(at: dir) }
        let synth = try CommandRunner.run(["synth", "--subjects", "20", "--hours", "0.2", "--seed", "3", "--out", dir.path])
        #expect(synth.status == 0, "\(synth.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(files.count == 40)
        #expect(files.first == "SC4001E0.npz" && files.last == "SC4192E0.npz")

        let plan = try CommandRunner.run(["plan", "--data", dir.path, "--folds", "20", "--fold-plan", "attnsleep", "--json"])
        #expect(plan.status == 0, "\(plan.stderr)")
        struct Plan: Decodable { struct Fold: Decodable { let fold: Int; let train, validation, test: [String] }; let folds: [Fold] }
        let decoded = try JSONDecoder().decode(Plan.self, from: Data(plan.stdout.utf8))
        // The paper's order for Sleep-EDF-20 (reference/attnsleep-fold-order.json).
        let order = [14, 5, 4, 17, 8, 7, 19, 12, 0, 15, 16, 9, 11, 10, 3, 1, 6, 18, 2, 13]
        #expect(decoded.folds.map(\.test) == order.map { [String(format: "%02d", $0)] })
        for fold in decoded.folds {
            #expect(Set(fold.train + fold.validation + fold.test).count == 20)
            #expect(fold.validation.count == 2)
        }
    }

    @Test func aBrokenRecordingIsNamedAndTheCommandFails() throws {
        let dir = try CommandRunner.temporaryDirectory("broken")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try CommandRunner.run(["synth", "--subjects", "3", "--nights", "1", "--hours", "0.2", "--out", dir.path]).status == 0)
        try Data("not a zip".utf8).write(to: dir.appendingPathComponent("SC4011E0.npz"))
        let plan = try CommandRunner.run(["plan", "--data", dir.path, "--folds", "3"])
        #expect(plan.status != 0)
        #expect(plan.stderr.contains("SC4011E0.npz"))
    }

    @Test func badOptionsExitNonZeroWithAReason() throws {
        let result = try CommandRunner.run(["synth", "--subjects", "2", "--nights", "3", "--out", "/tmp/never"])
        // A SleepfoldError: status 1 and its description, "field: found …, expected …", as the one line.
        #expect(result.status == 1)
        #expect(result.stderr == "Error: --nights: found 3, expected 1 or 2\n")
    }
}
