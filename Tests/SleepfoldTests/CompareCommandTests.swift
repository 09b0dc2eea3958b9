import Foundation
import Testing
import Basics
import Cohorts
import EDF
import Synthesis
import Evaluation
import Reports
import Shared
import TestSupport

@Suite struct CompareCommandTests {
    @Test func twoRunsOnTheSameFoldsGetPairedTestsAndBootstrapIntervals() throws {
        let f = try ClusterFixture(name: "compare", epochs: 1)
        defer { f.remove() }
        let short = f.root.appendingPathComponent("short"), long = f.root.appendingPathComponent("long")
        #expect(try CommandRunner.run(["run", "--workers", "1"] + f.runArguments + ["--out", short.path]).status == 0)
        #expect(try CommandRunner.run(["run", "--workers", "1"] + f.runArguments + ["--epochs", "3", "--out", long.path]).status == 0)

        let out = f.root.appendingPathComponent("cmp")
        let result = try CommandRunner.run(["compare", short.path, long.path, "--resamples", "500", "--out", out.path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let runs = try #require(json["runs"] as? [[String: Any]])
        #expect(runs.map { $0["name"] as? String } == ["short", "long"])
        let pair = try #require((json["pairs"] as? [[String: Any]])?.first)
        #expect((pair["folds"] as? [Any])?.count == 4)
        let wilcoxon = try #require(pair["wilcoxonMacroF1"] as? [String: Any])
        #expect((wilcoxon["pairs"] as? Int).map { $0 <= 4 } == true)
        let macroF1 = try #require(pair["macroF1"] as? [String: Any])
        let low = try #require(macroF1["low"] as? Double), high = try #require(macroF1["high"] as? Double)
        let difference = try #require(macroF1["difference"] as? Double)
        #expect(low <= high)
        #expect(low - 1e-12 <= difference + 0.5 && difference - 0.5 <= high + 1e-12)
        let markdown = try String(contentsOf: out.appendingPathComponent("compare.md"), encoding: .utf8)
        #expect(markdown.contains("| short |") && markdown.contains("Wilcoxon signed-rank over folds"))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("compare.json").path))

        // The same seed gives the same intervals.
        let again = try CommandRunner.run(["compare", short.path, long.path, "--resamples", "500", "--json"])
        #expect(again.stdout == result.stdout)
        let one = try CommandRunner.run(["compare", short.path])
        #expect(one.status != 0)

        // Run directories of a study share their last component: named by as many as tell them apart.
        let a = f.root.appendingPathComponent("study/a/seed-0"), b = f.root.appendingPathComponent("study/b/seed-0")
        for (from, to) in [(short, a), (long, b)] {
            try FileManager.default.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: from, to: to)
        }
        let study = try CommandRunner.run(["compare", a.path, b.path, "--resamples", "100", "--json"])
        let studyRuns = try #require((try JSONSerialization.jsonObject(with: Data(study.stdout.utf8)) as? [String: Any])?["runs"] as? [[String: Any]])
        #expect(studyRuns.map { $0["name"] as? String } == ["a/seed-0", "b/seed-0"], "\(study.stderr)")
    }
}
