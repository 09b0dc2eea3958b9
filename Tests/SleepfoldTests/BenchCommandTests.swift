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

    @Test func badOptionsExitNonZeroWithAReason() throws {
        let batch = try CommandRunner.run(["bench", "--batch", "0", "--json"])
        #expect(batch.status != 0)
        #expect(batch.stderr.contains("--batch"))
        let config = try CommandRunner.run(["bench", "--config", "/nonexistent/bench.json"])
        #expect(config.status != 0)
        #expect(config.stderr.contains("/nonexistent/bench.json"))
    }
}
