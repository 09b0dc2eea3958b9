import Foundation
import Testing
import Basics

/// `sleepfold study` end to end, real processes over real sockets: a synthetic
/// study of 2 arms × 2 seeds × 3 folds (and the paper protocol's runs) on 2 local
/// workers, its coordinator SIGKILLed mid-study and restarted.
@Suite(.serialized) struct StudyCommandTests {
    /// 6 subjects, one 0.4-hour night each; two narrow models (AttnSleep, and one with
    /// a Conformer encoder), 2 epochs; a study file naming them.
    struct Fixture {
        let root: URL
        var data: URL { root.appendingPathComponent("data") }
        var studyFile: URL { root.appendingPathComponent("study.json") }
        func config(_ arm: String) -> URL { root.appendingPathComponent("\(arm).json") }

        init(name: String) throws {
            root = try CommandRunner.temporaryDirectory(name)
            let synth = try CommandRunner.run(["synth", "--subjects", "6", "--nights", "1", "--hours", "0.4",
                                               "--seed", "2", "--out", data.path])
            guard synth.status == 0 else { throw ClusterFixture.Failure("synth failed: \(synth.stderr)") }
            try """
            {"name": "tiny-a", "model": {"cnnFirstChannels": 8, "cnnChannels": 16, "afrChannels": 4, "heads": 4, "dFF": 16},
             "training": {"epochs": 2, "batchSize": 16}}
            """.write(to: config("a"), atomically: true, encoding: .utf8)
            try """
            {"name": "tiny-b", "model": {"cnnFirstChannels": 8, "cnnChannels": 16, "afrChannels": 4, "heads": 2, "dFF": 8,
             "encoder": "conformer"}, "training": {"epochs": 2, "batchSize": 16}}
            """.write(to: config("b"), atomically: true, encoding: .utf8)
            try """
            {"name": "tiny", "data": "data", "folds": 3, "seeds": [0, 1], "baseline": "a", "paper_protocol": true,
             "arms": [{"name": "a", "config": "a.json"}, {"name": "b", "config": "b.json"}]}
            """.write(to: studyFile, atomically: true, encoding: .utf8)
        }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    static func count(_ text: String, in log: String) -> Int { log.components(separatedBy: text).count - 1 }

    @Test func aStudyKilledMidwayAndRestartedEqualsSeparateRunsBitForBit() throws {
        let f = try Fixture(name: "study")
        defer { f.remove() }
        let out = f.root.appendingPathComponent("out")
        let arguments = ["study", f.studyFile.path, "--workers", "2", "--out", out.path]

        // First session: SIGKILLed once 5 of its 24 tasks are journalled.
        let first = try BackgroundProcess(arguments, log: f.root.appendingPathComponent("first.out"))
        let deadline = Date().addingTimeInterval(120)
        while Self.count(" done by ", in: first.output) < 5 && first.process.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        first.kill()
        let journalled = try FileManager.default.subpathsOfDirectory(atPath: out.path)
            .filter { $0.hasSuffix("journal.jsonl") }
            .map { try String(contentsOf: out.appendingPathComponent($0), encoding: .utf8).split(separator: "\n").count }
            .reduce(0, +)
        #expect(journalled >= 5 && journalled < 24, "\(first.output)")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("study.json").path))
        // The study's write-ahead log (one for all its runs) is left by the killed coordinator, and
        // replayed by the next (docs/durability.md), which removes it when the study is done.
        let log = out.appendingPathComponent("study.wal")
        #expect(FileManager.default.fileExists(atPath: log.path))

        // Second session: resumes from the journals; journalled tasks are not sent again.
        let second = try CommandRunner.run(arguments, timeout: 300)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("journal: \(journalled) of 24 folds already done"), "\(second.stderr)")
        #expect(!FileManager.default.fileExists(atPath: log.path))
        #expect(Self.count(" (attempt ", in: second.stderr.components(separatedBy: "\n").filter { $0.contains(" → ") }.joined(separator: "\n"))
                == 24 - journalled, "\(second.stderr)")
        #expect(second.stdout.contains("makespan") && second.stdout.contains("LPT lower bound"), "\(second.stdout)")

        // The study report: every arm with its runs, every selection pooled, b against a.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("study.json"))) as? [String: Any])
        let arms = try #require(json["arms"] as? [[String: Any]])
        #expect(arms.map { $0["name"] as? String } == ["a", "b"])
        for arm in arms {
            let runs = try #require(arm["runs"] as? [[String: Any]])
            #expect(runs.map { $0["dir"] as? String } == ["\(arm["name"]!)/seed-0", "\(arm["name"]!)/seed-1"])
            #expect(runs.map { $0["paper_dir"] as? String } == ["\(arm["name"]!)/seed-0-paper", "\(arm["name"]!)/seed-1-paper"])
            let pooled = try #require(arm["pooled"] as? [String: Any])
            for selection in ["validation", "last", "test-oracle", "paper"] {
                let scores = try #require(pooled[selection] as? [String: Any], "\(selection)")
                #expect((scores["accuracy"] as? [String: Any])?["mean"] is Double, "\(selection)")
            }
        }
        let comparisons = try #require(json["comparisons"] as? [[String: Any]])
        #expect(comparisons.contains { $0["arm"] as? String == "b" && $0["selection"] as? String == "validation" })
        #expect(comparisons.allSatisfy { ($0["pairs"] as? Int) == 6 }, "\(comparisons)")   // 3 folds × 2 seeds
        #expect(json["makespan_s"] is Double && json["lpt_lower_bound_s"] is Double && json["workers"] as? Int == 2)
        let html = try String(contentsOf: out.appendingPathComponent("study.html"), encoding: .utf8)
        #expect(html.contains("Error analysis: a") && html.contains("Error analysis: b"))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("study.md").path))

        // Every (arm, seed) equals a separate `run`; the paper runs equal `run --selection test-oracle`.
        for arm in ["a", "b"] {
            for seed in ["0", "1"] {
                for paper in [false, true] {
                    let runDirectory = f.root.appendingPathComponent("run-\(arm)-\(seed)\(paper ? "-paper" : "")")
                    let run = try CommandRunner.run(["run", "--data", f.data.path, "--folds", "3", "--seed", seed,
                                                     "--config", f.config(arm).path, "--workers", "2", "--out", runDirectory.path]
                                                    + (paper ? ["--selection", "test-oracle"] : []))
                    #expect(run.status == 0, "\(run.stderr)")
                    let studyRun = out.appendingPathComponent("\(arm)/seed-\(seed)\(paper ? "-paper" : "")")
                    for file in ["predictions.csv", "predictions-last.csv", "predictions-test-oracle.csv",
                                 "checkpoints/fold-00.safetensors", "checkpoints/fold-02.safetensors"] {
                        let mine = try Data(contentsOf: studyRun.appendingPathComponent(file))
                        let theirs = try Data(contentsOf: runDirectory.appendingPathComponent(file))
                        #expect(mine == theirs, "\(arm)/seed-\(seed)\(paper ? "-paper" : ""): \(file) differs from `run`'s")
                    }
                    // One journal line per fold: nothing was trained twice into the journal.
                    let lines = try String(contentsOf: studyRun.appendingPathComponent("journal.jsonl"), encoding: .utf8)
                        .split(separator: "\n").count
                    #expect(lines == 3)
                    for file in ["report.html", "report.md", "report.json"] {
                        #expect(FileManager.default.fileExists(atPath: studyRun.appendingPathComponent(file).path))
                    }
                }
            }
        }
    }

    @Test func aBadStudyFileIsRefusedNamingTheField() throws {
        let f = try Fixture(name: "study-bad")
        defer { f.remove() }
        let text = try String(contentsOf: f.studyFile, encoding: .utf8).replacingOccurrences(of: "\"baseline\": \"a\"", with: "\"baseline\": \"c\"")
        try text.write(to: f.studyFile, atomically: true, encoding: .utf8)
        let result = try CommandRunner.run(["study", f.studyFile.path, "--out", f.root.appendingPathComponent("out").path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(f.studyFile.path): baseline: found \"c\", expected the name of an arm: \"a\", \"b\""), "\(result.stderr)")
    }
}
