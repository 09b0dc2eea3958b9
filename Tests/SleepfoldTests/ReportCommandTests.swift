import Foundation
import Testing
import Basics
import Cohorts
import Synthesis
import Evaluation
import Reports
import Shared
import TestSupport

@Suite struct ReportCommandTests {
    /// Sets every number inside `value` to zero (metrics, counts, confusion matrices).
    private func zeroed(_ value: Any) -> Any {
        switch value {
        case let object as [String: Any]: return object.mapValues { zeroed($0) }
        case let array as [Any]: return array.map { zeroed($0) }
        case is NSNumber: return 0
        default: return value
        }
    }

    @Test func reRenderingFromTheRunDirectoryRestoresTheReport() throws {
        let tiny = try TinyRun("report")
        defer { tiny.remove() }
        try tiny.train(fold: 0)
        try tiny.train(fold: 1)
        let jsonURL = tiny.run.appendingPathComponent("report.json")
        let mdURL = tiny.run.appendingPathComponent("report.md")
        let originalJSON = try Data(contentsOf: jsonURL), originalMarkdown = try Data(contentsOf: mdURL)

        // Wipe every derived number (pooled, per fold, per subject, over folds) and the Markdown.
        var object = try #require(try JSONSerialization.jsonObject(with: originalJSON) as? [String: Any])
        object["pooled"] = zeroed(object["pooled"]!)
        object["over_folds"] = zeroed(object["over_folds"]!)
        for key in ["folds", "subjects"] {
            object[key] = (object[key] as! [[String: Any]]).map { entry in
                entry.merging(["metrics": zeroed(entry["metrics"]!)]) { $1 }
            }
        }
        let wiped = try JSONSerialization.data(withJSONObject: object)
        #expect(try Report.decode(wiped).pooled.epochs == 0)
        try wiped.write(to: jsonURL)
        try FileManager.default.removeItem(at: mdURL)

        let result = try CommandRunner.run(["report", tiny.run.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Data(contentsOf: jsonURL) == originalJSON)
        #expect(try Data(contentsOf: mdURL) == originalMarkdown)
        let report = try Report.read(from: jsonURL)
        #expect(result.stdout.contains("over \(report.pooled.epochs) test epochs"))
    }

    @Test func theMetricsComeFromPredictionsCSV() throws {
        let tiny = try TinyRun("report-csv")
        defer { tiny.remove() }
        try tiny.train(fold: 0)
        // Make every prediction right: accuracy becomes 1.
        let csvURL = tiny.run.appendingPathComponent("predictions.csv")
        let lines = try String(contentsOf: csvURL, encoding: .utf8).split(separator: "\n").map(String.init)
        let fixed = [lines[0]] + lines.dropFirst().map { line in
            var fields = line.split(separator: ",").map(String.init)
            fields[4] = fields[3]
            return fields.joined(separator: ",")
        }
        try Data((fixed.joined(separator: "\n") + "\n").utf8).write(to: csvURL)

        let result = try CommandRunner.run(["report", tiny.run.path])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try Report.read(from: tiny.run.appendingPathComponent("report.json"))
        #expect(report.pooled.accuracy == 1)
        #expect(report.pooled.epochs == lines.count - 1)
        #expect(report.folds[0].metrics.accuracy == 1)
        #expect(result.stdout.contains("accuracy 100.0 %"))
    }

    @Test func aRunDirectoryWithoutItsFilesFailsWithAReason() throws {
        let tiny = try TinyRun("report-missing")
        defer { tiny.remove() }
        let empty = try CommandRunner.run(["report", tiny.root.path])
        #expect(empty.status != 0)
        #expect(empty.stderr.contains("report.json"))

        try tiny.train(fold: 0)
        try FileManager.default.removeItem(at: tiny.run.appendingPathComponent("predictions.csv"))
        let noCSV = try CommandRunner.run(["report", tiny.run.path])
        #expect(noCSV.status != 0)
        #expect(noCSV.stderr.contains("predictions.csv"))
    }
}
