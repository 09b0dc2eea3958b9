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

/// SHHS-sized cohorts: thousands of recordings go through plan, run and report
/// (tiny recordings and a tiny model, so the coordinator's share is what grows).
@Suite struct LargeCohortTests {
    static let recordings = 5000
    static let epochsPerRecording = 2

    /// Writes `recordings` nights of two 30-s epochs each (two per subject) and a manifest.
    private func writeCohort(in directory: URL) throws -> URL {
        var entries: [String] = []
        var rng = SeededGenerator(seed: 5000)
        for i in 0..<Self.recordings {
            // Stage-dependent amplitude, so the labels are not pure noise.
            let labels = (0..<Self.epochsPerRecording).map { Int32((i + $0) % 5) }
            var x = [Float](repeating: 0, count: labels.count * 3000)
            for (e, label) in labels.enumerated() {
                for s in 0..<3000 {
                    x[e * 3000 + s] = Float(label + 1) * (Float(rng.next() % 2001) / 1000 - 1)
                }
            }
            let id = String(format: "night-%05d", i)
            try Recording(id: id, subject: "", night: nil, sampleRate: 100, samplesPerEpoch: 3000, x: x, labels: labels)
                .write(to: directory.appendingPathComponent("\(id).npz"))
            entries.append("{\"path\": \"\(id).npz\", \"subject\": \"s\(i / 2)\", \"night\": \(i % 2 + 1)}")
        }
        let manifest = directory.appendingPathComponent("manifest.json")
        try Data("{\"recordings\": [\n\(entries.joined(separator: ",\n"))\n]}\n".utf8).write(to: manifest)
        return manifest
    }

    @Test func fiveThousandRecordingsPlanRunAndReport() throws {
        let root = try CommandRunner.temporaryDirectory("large-cohort")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let manifest = try writeCohort(in: data)
        let config = root.appendingPathComponent("tiny.json")
        try Data("""
            {"name": "tiny", "model": {"cnnFirstChannels": 4, "cnnChannels": 8, "afrChannels": 2, "seReduction": 2,
             "heads": 1, "dFF": 8, "encoderLayers": 1}, "training": {"epochs": 1, "batchSize": 256}}
            """.utf8).write(to: config)

        let plan = try CommandRunner.run(["plan", "--data", manifest.path, "--folds", "5", "--json"])
        #expect(plan.status == 0, "\(plan.stderr)")
        let planJSON = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
        let folds = try #require(planJSON["folds"] as? [[String: Any]])
        #expect(folds.count == 5)

        let out = root.appendingPathComponent("run")
        let run = try CommandRunner.run(["run", "--data", manifest.path, "--folds", "5", "--workers", "2",
                                         "--config", config.path, "--selection", "last", "--out", out.path])
        #expect(run.status == 0, "\(run.stderr)")

        // Every night predicted once, every subject in the report.
        let csv = try String(contentsOf: out.appendingPathComponent("predictions.csv"), encoding: .utf8)
        let rows = csv.split(separator: "\n").dropFirst()
        #expect(rows.count == Self.recordings * Self.epochsPerRecording)
        #expect(Set(rows.map { $0.split(separator: ",")[0] }).count == Self.recordings)
        let report = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: out.appendingPathComponent("report.json"))) as? [String: Any])
        #expect((report["subjects"] as? [Any])?.count == Self.recordings / 2)
        #expect((report["folds"] as? [Any])?.count == 5)
        let journal = try String(contentsOf: out.appendingPathComponent("journal.jsonl"), encoding: .utf8)
        #expect(journal.split(separator: "\n").filter { $0.contains("\"predictions\"") }.count == 5)

        // The page stays readable: at most `maxHypnograms` nights, every fold among them, and it says so.
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.components(separatedBy: "<figure class=\"hypnogram\"").count - 1 == Report.maxHypnograms)
        #expect(html.contains("Showing 200 of 5\u{202F}000 test nights"))
        for fold in 0..<5 { #expect(html.contains("fold \(fold), 2 epochs")) }

        // The coordinator reports its own work per fold (the note on issue #8 quotes it).
        let line = try #require(run.stderr.split(separator: "\n").first { $0.contains("coordinator work for 5000 recordings") })
        let perFold = try #require(line.firstMatch(of: /: ([0-9.]+) ms per fold over 5 folds/))
        #expect(Double(perFold.output.1)! < 2000, "coordinator per-fold work: \(line)")
        print(line)
    }
}
