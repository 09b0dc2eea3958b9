import Foundation
import Testing
import Basics
import Recordings
import Evaluation
import Reports
import TestSupport

private let config: JSONValue = .object([
    "model": .object(["feature_extractor": .string("attnsleep"), "encoder": .string("transformer")]),
    "batch": .integer(128), "lr": .number(0.001), "epochs": .integer(3), "amsgrad": .bool(true), "note": .null,
])

private func makeReport(selection: SelectionMode = .validation, skipFold: Int? = nil,
                        selections: [String: [Prediction]] = [:]) throws -> (Report, SmallRun) {
    let run = try SmallRun(selection: selection, skipFold: skipFold)
    var counts = Array(repeating: 0, count: 5)
    for p in run.predictions { counts[Int(p.truth.rawValue)] += 1 }
    let data = DataSummary(directory: "data/synth", recordings: 12, subjects: 6, epochsPerClass: counts)
    let runs: [Int: FoldRun] = [0: FoldRun(chosenEpoch: 2, epochsTrained: 3, wallSeconds: 12.5, worker: "node1-7"),
                                2: FoldRun(chosenEpoch: 3, epochsTrained: 3, wallSeconds: 11.25, worker: "node2-1")]
    let report = try Report(predictions: run.predictions, plan: run.plan, recordingSubjects: run.recordingSubjects,
                            runs: runs, selections: selections, data: data,
                        protocol: ProtocolSummary(folds: 3, foldPlan: .seeded, seed: 11, selection: selection),
                        config: config, sleepfoldVersion: "0.1.0", createdAt: Date(timeIntervalSince1970: 1_764_000_000))
    return (report, run)
}

private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("sleepfold-report-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Test func reportJSONHasTheDocumentedKeys() throws {
    let (report, _) = try makeReport(skipFold: 1)
    let json = try #require(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
    #expect(Set(json.keys) == ["schema_version", "title", "sleepfold_version", "created_at", "data", "protocol",
                               "config", "pooled", "folds", "subjects", "over_folds", "error_analysis", "selections"])
    #expect(json["schema_version"] as? Int == Report.currentSchemaVersion)
    #expect(json["created_at"] as? String == "2025-11-24T16:00:00Z")
    let data = try #require(json["data"] as? [String: Any])
    #expect(Set(data.keys) == ["directory", "recordings", "subjects", "epochs_per_class"])
    #expect(Set((data["epochs_per_class"] as? [String: Int])?.keys ?? [:].keys) == ["W", "N1", "N2", "N3", "REM"])
    let proto = try #require(json["protocol"] as? [String: Any])
    #expect(Set(proto.keys) == ["folds", "fold_plan", "seed", "selection"])
    #expect(proto["selection"] as? String == "validation" && proto["fold_plan"] as? String == "seeded")
    let folds = try #require(json["folds"] as? [[String: Any]])
    #expect(folds.count == 3)
    for fold in folds {
        #expect(Set(fold.keys) == ["fold", "train", "validation", "test", "metrics", "chosen_epoch",
                                   "epochs_trained", "attempts", "wall_seconds", "worker"])
    }
    #expect(folds[0]["worker"] as? String == "node1-7" && folds[0]["wall_seconds"] as? Double == 12.5)
    #expect(folds[1]["worker"] is NSNull && folds[1]["chosen_epoch"] is NSNull)
    let emptyMetrics = try #require(folds[1]["metrics"] as? [String: Any])
    #expect(emptyMetrics["accuracy"] is NSNull && emptyMetrics["kappa"] is NSNull && emptyMetrics["epochs"] as? Int == 0)
    let subjects = try #require(json["subjects"] as? [[String: Any]])
    #expect(subjects.count == 6 && Set(subjects[0].keys) == ["subject", "fold", "recordings", "metrics"])
    let over = try #require(json["over_folds"] as? [String: Any])
    #expect(Set(over.keys) == ["accuracy", "macro_f1", "kappa", "f1_per_class"])
    #expect(Set((over["accuracy"] as? [String: Any])?.keys ?? [:].keys) == ["mean", "sd", "n"])
    let pooled = try #require(json["pooled"] as? [String: Any])
    #expect(pooled["accuracy"] as? Double == report.pooled.accuracy)
    let configBack = try #require(json["config"] as? [String: Any])
    #expect(configBack["batch"] as? Int == 128 && configBack["note"] is NSNull)
}

@Test func reportJSONIsPrettySortedAndStable() throws {
    let (report, _) = try makeReport()
    let text = String(decoding: try report.jsonData(), as: UTF8.self)
    #expect(text.hasPrefix("{\n  \""))
    #expect(text.hasSuffix("}\n"))
    // Top-level keys appear in sorted order.
    let keys = ["config", "created_at", "data", "error_analysis", "folds", "over_folds", "pooled", "protocol",
                "schema_version", "selections", "sleepfold_version", "subjects", "title"]
    let positions = keys.compactMap { text.range(of: "\n  \"\($0)\" : ")?.lowerBound }
    #expect(positions.count == keys.count)
    #expect(positions == positions.sorted())
    #expect(try report.jsonData() == report.jsonData())
}

@Test func reportWritesAtomicallyAndReadsBack() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let url = directory.appendingPathComponent("report.json")
    let (first, _) = try makeReport(skipFold: 2)
    try first.write(to: url)
    let (report, _) = try makeReport()
    try report.write(to: url)
    let back = try Report.read(from: url)
    #expect(back == report)
    #expect(try back.jsonData() == report.jsonData())
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["report.json"])
    let none = directory.appendingPathComponent("none.json")
    let error = expectError(.fileNotFound, file: none.path) { _ = try Report.read(from: none) }
    #expect(error?.message.hasPrefix("cannot read the report: ") == true, "\(String(describing: error))")
}

@Test func titleWarnsOnlyForTestOracleSelection() throws {
    for selection in SelectionMode.allCases {
        let (report, _) = try makeReport(selection: selection)
        let warns = report.title.contains("test-oracle selection — leaks test data, only for comparison with published numbers")
        #expect(warns == (selection == .testOracle), "\(selection)")
        #expect(report.title.contains("3-fold") && report.title.contains("data/synth"))
        #expect(report.markdown().hasPrefix("# \(report.title)\n"))
    }
}

@Test func reportIsRebuiltFromPredictionsCSVAndThePlanItKeeps() throws {
    let (report, run) = try makeReport()
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let csv = directory.appendingPathComponent("predictions.csv")
    try PredictionsCSV.write(run.predictions, to: csv)
    let stored = try Report.decode(report.jsonData())
    #expect(try stored.plan() == run.plan)
    #expect(stored.recordingSubjects == run.recordingSubjects)
    let rebuilt = try stored.rebuilt(from: PredictionsCSV.read(from: csv))
    #expect(rebuilt == report)
    // With fewer predictions the metrics change but the rest is kept.
    let partial = try stored.rebuilt(from: run.predictions.filter { $0.fold != 0 })
    #expect(partial.folds[0].metrics.epochs == 0 && partial.folds[0].run == report.folds[0].run)
    #expect(partial.pooled.epochs < report.pooled.epochs && partial.title == report.title)
    // Predictions that do not fit the plan are refused, by both routes.
    let p = run.predictions[0]
    let misplaced = try Prediction(recording: p.recording, epoch: 10_000, fold: (p.fold + 1) % 3, truth: .n1,
                                   predicted: .n1, probabilities: p.probabilities)
    do {
        _ = try stored.rebuilt(from: run.predictions + [misplaced])
        Issue.record("rebuilt accepted a prediction in the wrong fold")
    } catch {
        #expect(error.code == .wrongFold && error.field == "recording \(p.recording) epoch 10000")
        #expect(error.message == "found fold \(misplaced.fold), expected fold \(p.fold), which tests subject \"\(run.recordingSubjects[p.recording]!)\"")
    }
    do {
        _ = try Report(predictions: [misplaced], plan: run.plan, recordingSubjects: run.recordingSubjects,
                       data: report.data, protocol: report.evaluationProtocol, config: .null, sleepfoldVersion: "x")
        Issue.record("init accepted a prediction in the wrong fold")
    } catch {
        #expect(error.code == .wrongFold && error.field == "recording \(p.recording) epoch 10000")
    }
}

@Test func malformedReportJSONNamesTheKey() throws {
    let (report, _) = try makeReport()
    var json = try #require(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
    var pooled = try #require(json["pooled"] as? [String: Any])
    pooled.removeValue(forKey: "macro_f1")
    json["pooled"] = pooled
    let missingKey = try JSONSerialization.data(withJSONObject: json)
    do {
        _ = try Report.decode(missingKey, file: "run/report.json")
        Issue.record("accepted a report without pooled.macro_f1")
    } catch {
        #expect(error.code == .badReport && error.file == "run/report.json" && error.field == "pooled.macro_f1")
        #expect(error.description == "run/report.json: pooled.macro_f1: found no such key, expected it (see docs/report-json.md)")
    }
    json = try #require(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
    json["schema_version"] = Report.currentSchemaVersion + 1
    let newer = try JSONSerialization.data(withJSONObject: json)
    do {
        _ = try Report.decode(newer)
        Issue.record("accepted a newer schema")
    } catch {
        #expect(error.code == .badVersion && error.file == "report.json" && error.field == "schema_version")
        #expect(error.message == "found \(Report.currentSchemaVersion + 1), expected at most \(Report.currentSchemaVersion) "
                + "(it was written by a newer sleepfold)")
    }
    let notJSON = expectError(.badReport, file: "report.json") { _ = try Report.decode(Data("not json".utf8)) }
    #expect(notJSON?.message.contains("expected a report.json") == true, "\(String(describing: notJSON))")
}

@Test func markdownShowsEveryNumberTable() throws {
    let (report, _) = try makeReport(skipFold: 1)
    let md = report.markdown()
    for section in ["## Data", "## Protocol", "## Pooled over all folds", "### Per class", "### Confusion matrix",
                    "## Mean ± sd over folds", "## Folds", "## Subjects", "## Config"] {
        #expect(md.contains("\n\(section)"), "missing \(section)")
    }
    let accuracy = String(format: "%.1f", (report.pooled.accuracy ?? 0) * 100)
    #expect(md.contains("| \(report.pooled.epochs) | \(accuracy) |"))
    let w = report.pooled.confusion.rows[0].map(String.init).joined(separator: " | ")
    #expect(md.contains("| W | \(w) |"))
    let lines = md.split(separator: "\n")
    #expect(lines.filter { $0.hasPrefix("| 0 | ") || $0.hasPrefix("| 1 | ") || $0.hasPrefix("| 2 | ") }.count == 3)
    #expect(lines.contains { $0.hasPrefix("| 1 | ") && $0.contains("| 0 | – | – | – |") }, "unpredicted fold shows dashes")
    for s in report.subjects { #expect(md.contains("| \(s.subject) | \(s.fold) | ")) }
    #expect(md.contains("node1-7") && md.contains("\"batch\" : 128"))
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    try report.writeMarkdown(to: directory.appendingPathComponent("report.md"))
    #expect(try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8) == md)
}

@Test func dataSummaryCountsACohort() throws {
    let a = Recording(id: "SC4001E0", subject: "00", night: 1, sampleRate: 100, samplesPerEpoch: 2,
                      x: Array(repeating: 0, count: 8), labels: [0, 2, 2, 4])
    let b = Recording(id: "SC4002E0", subject: "00", night: 2, sampleRate: 100, samplesPerEpoch: 2,
                      x: Array(repeating: 0, count: 6), labels: [3, 2, 1])
    let c = Recording(id: "SC4011E0", subject: "01", night: 1, sampleRate: 100, samplesPerEpoch: 2,
                      x: Array(repeating: 0, count: 2), labels: [0])
    let summary = DataSummary(directory: "d", recordings: [a, b, c])
    #expect(summary == DataSummary(directory: "d", recordings: 3, subjects: 2, epochsPerClass: [2, 1, 3, 1, 1]))
}

/// Every key report.json holds.
private func allKeys(_ value: Any, into keys: inout Set<String>) {
    if let object = value as? [String: Any] {
        for (key, child) in object {
            keys.insert(key)
            allKeys(child, into: &keys)
        }
    } else if let array = value as? [Any] {
        for child in array { allKeys(child, into: &keys) }
    }
}

@Test func docsListEveryKey() throws {
    let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/report-json.md")
    let text = try String(contentsOf: docs, encoding: .utf8)
    // With every optional part present: other selections, and errors to analyse.
    let other = try SmallRun().predictions.map { try $0.predicting(.n2) }
    let (report, _) = try makeReport(selections: ["last": other, "test-oracle": other])
    #expect(report.errorAnalysis?.topConfusions.isEmpty == false && report.errorAnalysis?.worstNights.isEmpty == false)
    var json = try #require(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
    json.removeValue(forKey: "config")  // free-form, the user's keys
    var keys = Set<String>()
    allKeys(json, into: &keys)
    #expect(keys.count > 30)
    for key in keys.sorted() {
        #expect(text.contains("`\(key)`") || text.contains("\"\(key)\""), "docs/report-json.md does not list \(key)")
    }
}

@Test func aSchema1ReportStillReadsAndIsRebuiltAsSchema2() throws {
    // Written by sleepfold before schema 2 (Tests/Fixtures/reports/v1/README.md).
    let url = try TestFixtures.url("reports/v1/report.json")
    let old = try Report.read(from: url)
    #expect(old.schemaVersion == 1 && old.errorAnalysis == nil && old.selections.isEmpty)
    #expect(old.pooled.epochs == 60 && old.folds.count == 4 && old.folds[0].run.worker == "vm:750")
    // Its own numbers are intact: the pooled matrix is the sum of the folds'.
    var sum = ConfusionMatrix()
    for fold in old.folds { sum.add(fold.metrics.confusion) }
    #expect(sum == old.pooled.confusion)
    #expect(old.markdown().contains("## Error analysis\n\nNot in this report (report.json schema 1)"))

    // `sleepfold report` rebuilds it from predictions.csv: same metrics, now with the analysis, schema 2.
    let predictions = try PredictionsCSV.read(from: TestFixtures.url("reports/v1/predictions.csv"))
    let rebuilt = try old.rebuilt(from: predictions)
    #expect(rebuilt.schemaVersion == Report.currentSchemaVersion && Report.currentSchemaVersion == 2)
    #expect(rebuilt.pooled == old.pooled && rebuilt.folds == old.folds && rebuilt.subjects == old.subjects)
    #expect(rebuilt.errorAnalysis == ErrorAnalysis(predictions: predictions, recordingSubjects: old.recordingSubjects))
    #expect(rebuilt.errorAnalysis?.transitions.epochs ?? 0 > 0)
    #expect(rebuilt.selections.isEmpty)
    let back = try Report.decode(rebuilt.jsonData())
    #expect(back == rebuilt)

    // report.html of the old report still shows the analysis, computed from the predictions.
    let html = old.html(predictions: predictions, histories: [])
    #expect(html.contains("<section id=\"errors\" class=\"error-analysis\">"))
    #expect(html == rebuilt.html(predictions: predictions, histories: []).replacingOccurrences(
        of: "report.json schema 2", with: "report.json schema 1"))
}

@Test func aSchema2ReportMustHaveItsNewKeys() throws {
    let (report, _) = try makeReport()
    for key in ["error_analysis", "selections"] {
        var json = try #require(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
        json.removeValue(forKey: key)
        let data = try JSONSerialization.data(withJSONObject: json)
        _ = expectError(.badReport, field: key) { _ = try Report.decode(data) }
    }
    // Null is read as no analysis (a schema-1 report written back without a rebuild).
    var json = try #require(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
    json["error_analysis"] = NSNull()
    let withoutAnalysis = try Report.decode(JSONSerialization.data(withJSONObject: json))
    #expect(withoutAnalysis.errorAnalysis == nil)
}
