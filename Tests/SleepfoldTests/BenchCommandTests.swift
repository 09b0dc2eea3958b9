import Foundation
import SleepNet
import Testing
import Basics
import Cohorts
import EDF
import Synthesis
import Evaluation
import Reports
import Shared
import TestSupport

@Suite struct BenchCommandTests {
    @Test func jsonHasPositiveThroughputsForATinyModel() throws {
        let dir = try CommandRunner.temporaryDirectory("bench")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("tiny.json")
        try Data(TinyRun.tinyConfig.utf8).write(to: config)
        let result = try CommandRunner.run(["bench", "--config", config.path, "--threads", "1",
                                            "--repeats", "1", "--batch", "8", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        // One JSON object on one line.
        #expect(result.stdout.split(separator: "\n").count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        for key in ["train_samples_per_s", "infer_samples_per_s", "infer_samples_per_s_batch512", "peak_rss_bytes"] {
            let value = try #require(object[key] as? Double, "\(key)")
            #expect(value > 0 && value.isFinite, "\(key) = \(value)")
        }
        #expect(object["threads"] as? Int == 1)
        #expect(object["batch"] as? Int == 8)
        #expect(object["repeats"] as? Int == 1)
        let expected = try SleepModel(config: ExperimentConfig.load(from: config).model).parameterCount
        #expect(object["parameters"] as? Int == expected)
        // The process holds at least the 512-epoch input (512 × 3000 floats).
        #expect((object["peak_rss_bytes"] as? Int ?? 0) > 512 * 3000 * 4)
    }

    /// --profile adds a "profile" object (and nothing else changes); without it there is none.
    @Test func profileJSONNamesEveryPassAndAddsUp() throws {
        let dir = try CommandRunner.temporaryDirectory("bench-profile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("tiny.json")
        try Data(TinyRun.tinyConfig.utf8).write(to: config)
        let arguments = ["bench", "--config", config.path, "--threads", "1", "--repeats", "2", "--batch", "8", "--json"]
        let plain = try CommandRunner.run(arguments)
        #expect(plain.status == 0, "\(plain.stderr)")
        let plainObject = try #require(try JSONSerialization.jsonObject(with: Data(plain.stdout.utf8)) as? [String: Any])
        #expect(plainObject["profile"] == nil)

        let result = try CommandRunner.run(arguments + ["--profile"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(Set(object.keys) == Set(plainObject.keys).union(["profile"]))
        let profile = try #require(object["profile"] as? [String: Any])
        #expect(profile["steps"] as? Int == 2)
        let rows = try #require(profile["rows"] as? [[String: Any]])
        let passes = try #require(profile["passes"] as? [[String: Any]])
        #expect(Set(passes.compactMap { $0["pass"] as? String }) == ["forward", "loss", "backward", "optimizer", "evaluation"])
        #expect(rows.contains { $0["layer"] as? String == "mrcnn.features1.0" && $0["pass"] as? String == "backward" })
        // Sorted by time, largest first.
        let ms = rows.compactMap { $0["ms_per_step"] as? Double }
        #expect(ms.count == rows.count && ms == ms.sorted(by: >))
        // The training rows are self times within the measured step (no double counting).
        // Loose below: an 8 ms step of a loaded machine loses whole preemptions between
        // scopes; ProfilerTests.selfTimesAddUpToTheStep holds the tight bound.
        let step = try #require(profile["train_step_ms"] as? Double)
        let covered = try #require(profile["profiled_train_ms"] as? Double)
        #expect(covered > 0.5 * step && covered <= step * 1.0001, "\(covered) of \(step) ms")
    }

    @Test func badOptionsExitNonZeroWithAReason() throws {
        let batch = try CommandRunner.run(["bench", "--batch", "0", "--json"])
        #expect(batch.status != 0)
        #expect(batch.stderr.contains("--batch"))
        let config = try CommandRunner.run(["bench", "--config", "/nonexistent/bench.json"])
        #expect(config.status != 0)
        #expect(config.stderr.contains("/nonexistent/bench.json"))
    }
}
