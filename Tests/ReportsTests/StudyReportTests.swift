import Foundation
import Testing
import Basics
import Evaluation
import Reports
import TestSupport

/// A small made-up study: 6 subjects (one night each, 20 epochs with stages
/// cycling W, N1, N2, N3, REM), 3 folds, seeds 0 and 1. An arm predicts the first
/// `correct` epochs of every night right and the others as the next stage, so
/// every fold's and every pool's accuracy is exactly `correct` / 20.
struct SmallStudy {
    static let subjects = (0..<6).map { "0\($0)" }
    static let epochs = 20
    let plan: FoldPlan
    let recordingSubjects: [String: String]

    init() throws {
        plan = try FoldPlan(subjects: Self.subjects, folds: 3, kind: .seeded, seed: 4, selection: .validation)
        var map: [String: String] = [:]
        for subject in Self.subjects { map["SC4\(subject)1E0"] = subject }
        recordingSubjects = map
    }

    /// Predictions with `correct(subject)` right epochs per night.
    func predictions(_ correct: (String) -> Int) throws -> [Prediction] {
        var out: [Prediction] = []
        for (recording, subject) in recordingSubjects.sorted(by: { $0.key < $1.key }) {
            let fold = plan.fold(testing: subject)!
            for epoch in 0..<Self.epochs {
                let truth = Stage(rawValue: Int32(epoch % 5))!
                let predicted = epoch < correct(subject) ? truth : Stage(rawValue: Int32((epoch + 1) % 5))!
                out.append(try Prediction(recording: recording, epoch: epoch, fold: fold, truth: truth, predicted: predicted,
                                          probabilities: [0.2, 0.2, 0.2, 0.2, 0.2]))
            }
        }
        return out
    }

    /// A run whose selections predict `correct[selection]` epochs right in every
    /// night, plus `bySubject` extra right epochs for the subjects listed.
    func run(seed: UInt64, arm: String, _ correct: [StudyInput.Selection: Int], bySubject: [String: Int] = [:],
             wall: Double? = 100) throws -> StudyInput.Run {
        var predictions: [StudyInput.Selection: [Prediction]] = [:]
        for (selection, count) in correct {
            predictions[selection] = try self.predictions { count + (bySubject[$0] ?? 0) }
        }
        return StudyInput.Run(seed: seed, directory: "\(arm)/seed-\(seed)",
                              paperDirectory: correct[.paper] == nil ? nil : "\(arm)/seed-\(seed)-paper",
                              predictions: predictions, wallSeconds: wall)
    }

    /// Three arms: `base` (baseline) 14 of 20 right; `better` 16 (17 with seed 1),
    /// test-oracle 2 more, paper 3 more; `mixed` better on subjects 00–02, worse on
    /// the others.
    func input(name: String = "cnn-vs-attention") throws -> StudyInput {
        let base = StudyInput.Arm(
            name: "base", config: .object(["name": .string("attnsleep-demo")]), model: "attnsleep", batchSize: 128,
            parameters: 520_000, flopsPerSample: 1.84e9,
            runs: try [0, 1].map { try run(seed: $0, arm: "base", [.validation: 14, .testOracle: 15, .paper: 16, .last: 13]) })
        let better = StudyInput.Arm(
            name: "better", config: .object(["name": .string("conformer-demo")]), model: "conformer", batchSize: 64,
            parameters: 1_230_000, flopsPerSample: 3.4e9,
            runs: try [1, 0].map { seed in  // given out of order: the report sorts runs by seed
                try run(seed: seed, arm: "better", [.validation: 16 + Int(seed), .testOracle: 18 + Int(seed), .paper: 19 + Int(seed)])
            })
        let mixed = StudyInput.Arm(
            name: "mixed", config: .null, model: "msmp", batchSize: 32, parameters: 90_000, flopsPerSample: 2.5e7,
            runs: try [0, 1].map { try run(seed: $0, arm: "mixed", [.validation: 12], bySubject: ["00": 6, "01": 6, "02": 6]) })
        return StudyInput(name: name, baseline: "base", foldPlan: plan, recordingSubjects: recordingSubjects,
                          arms: [base, better, mixed], workers: 4, makespanSeconds: 900, lptLowerBoundSeconds: 750,
                          sleepfoldVersion: "0.1.0")
    }
}

private func json(_ report: StudyReport) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
}

private func keys(_ value: Any?) -> Set<String> {
    Set((value as? [String: Any])?.keys.map { $0 } ?? [])
}

@Suite struct StudyReportTests {
    let study: SmallStudy

    init() throws { study = try SmallStudy() }

    @Test func studyJSONHasTheDocumentedKeys() throws {
        let report = try StudyReport(try study.input(), bootstrapReplicates: 200)
        let top = try json(report)
        #expect(Set(top.keys) == ["schema_version", "name", "sleepfold_version", "baseline", "folds", "subjects", "arms",
                                  "comparisons", "leakage", "makespan_s", "lpt_lower_bound_s", "makespan_over_lpt", "workers"])
        #expect(top["schema_version"] as? Int == StudyReport.currentSchemaVersion)
        #expect(top["name"] as? String == "cnn-vs-attention" && top["baseline"] as? String == "base")
        #expect(top["folds"] as? Int == 3 && top["subjects"] as? Int == 6 && top["workers"] as? Int == 4)
        #expect(top["makespan_s"] as? Double == 900 && top["lpt_lower_bound_s"] as? Double == 750)
        #expect(abs(try #require(top["makespan_over_lpt"] as? Double) - 1.2) < 1e-12)

        let arms = try #require(top["arms"] as? [[String: Any]])
        #expect(arms.map { $0["name"] as? String } == ["base", "better", "mixed"])
        for arm in arms {
            #expect(Set(arm.keys) == ["name", "model", "batch_size", "parameters", "flops_per_sample", "config", "runs", "pooled"])
            let runs = try #require(arm["runs"] as? [[String: Any]])
            #expect(runs.map { $0["seed"] as? Int } == [0, 1])
            for run in runs { #expect(Set(run.keys) == ["seed", "dir", "paper_dir", "wall_s", "selections"]) }
            #expect(keys(arm["pooled"]) == ["validation", "last", "test-oracle", "paper"])
        }
        let better = arms[1]
        #expect(better["model"] as? String == "conformer" && better["batch_size"] as? Int == 64)
        #expect(better["parameters"] as? Int == 1_230_000 && better["flops_per_sample"] as? Double == 3.4e9)
        let betterRuns = try #require(better["runs"] as? [[String: Any]])
        #expect(betterRuns[0]["dir"] as? String == "better/seed-0" && betterRuns[0]["paper_dir"] as? String == "better/seed-0-paper")
        #expect(betterRuns[0]["selections"] as? [String] == ["validation", "test-oracle", "paper"])
        let mixedRuns = try #require(arms[2]["runs"] as? [[String: Any]])
        #expect(mixedRuns[0]["paper_dir"] is NSNull)

        let pooled = try #require(better["pooled"] as? [String: Any])
        #expect(pooled["last"] is NSNull)
        let validation = try #require(pooled["validation"] as? [String: Any])
        #expect(Set(validation.keys) == ["accuracy", "macro_f1", "kappa", "per_class_f1"])
        #expect(keys(validation["accuracy"]) == ["mean", "sd", "per_seed"])
        #expect(keys(validation["per_class_f1"]) == ["W", "N1", "N2", "N3", "REM"])
        #expect(keys((validation["per_class_f1"] as? [String: Any])?["N3"]) == ["mean", "sd", "per_seed"])
        #expect((arms[0]["pooled"] as? [String: Any])?["last"] is [String: Any])

        let comparisons = try #require(top["comparisons"] as? [[String: Any]])
        for c in comparisons {
            #expect(Set(c.keys) == ["arm", "baseline", "selection", "metric", "pairs", "mean_difference", "median_difference",
                                    "differences", "wilcoxon", "holm_p", "bootstrap"])
            #expect(keys(c["wilcoxon"]) == ["statistic", "p", "nonzero_pairs", "method"])
            #expect(keys(c["bootstrap"]) == ["estimate", "low", "high", "confidence", "replicates", "defined_replicates",
                                             "seed", "seeds"])
            #expect(Set((c["differences"] as? [[String: Any]])?.first?.keys.map { $0 } ?? [])
                    == ["fold", "seed", "arm", "baseline", "difference"])
        }
        // validation: better and mixed, macro-F1 then accuracy; paper: better only (mixed has none).
        #expect(comparisons.map { "\($0["selection"]!) \($0["metric"]!) \($0["arm"]!)" } == [
            "validation macro_f1 better", "validation macro_f1 mixed", "validation accuracy better", "validation accuracy mixed",
            "paper macro_f1 better", "paper accuracy better"])

        let leakage = try #require(top["leakage"] as? [[String: Any]])
        #expect(leakage.map { "\($0["arm"]!) \($0["selection"]!)" } == ["base test-oracle", "base paper", "better test-oracle", "better paper"])
        for l in leakage { #expect(Set(l.keys) == ["arm", "selection", "reference", "accuracy", "macro_f1", "kappa"]) }
    }

    @Test func pooledScoresAreMeanAndSdOverSeeds() throws {
        let report = try StudyReport(try study.input(), bootstrapReplicates: 100)
        let better = try #require(report.arms.first { $0.name == "better" })
        let accuracy = try #require(better.pooled.validation).accuracy
        // Seed 0: 16 of 20 right in every night, seed 1: 17 of 20.
        #expect(accuracy.perSeed == [0.8, 0.85])
        #expect(abs(accuracy.mean! - 0.825) < 1e-15)
        #expect(abs(accuracy.sd! - 0.05 / 2.0.squareRoot()) < 1e-15)
        // Macro-F1 of seed 0 is what Metrics makes of those predictions.
        let seed0 = Metrics(pairs: try study.predictions { _ in 16 }.map { (truth: $0.truth, predicted: $0.predicted) })
        #expect(better.pooled.validation?.macroF1.perSeed.first == seed0.macroF1)
        #expect(better.pooled.validation?.perClassF1[Int(Stage.n3.rawValue)].perSeed.first == seed0[.n3].f1)
        #expect(better.pooled.last == nil && report.arms[0].pooled.last?.accuracy.perSeed == [0.65, 0.65])
        #expect(report.arms[0].pooled.validation?.accuracy.sd == 0)
    }

    @Test func comparisonsHoldTheKnownDifferences() throws {
        let report = try StudyReport(try study.input(), bootstrapReplicates: 500)
        let c = try #require(report.comparisons.first { $0.arm == "better" && $0.selection == .validation && $0.metric == .accuracy })
        // Every fold: 16/20 − 14/20 with seed 0, 17/20 − 14/20 with seed 1.
        #expect(c.pairs == 6 && c.differences.count == 6)
        #expect(c.differences.map(\.seed) == [0, 0, 0, 1, 1, 1] && c.differences.map(\.fold) == [0, 1, 2, 0, 1, 2])
        for d in c.differences {
            #expect(abs(d.difference - (d.seed == 0 ? 0.1 : 0.15)) < 1e-12)
        }
        #expect(abs(c.meanDifference! - 0.125) < 1e-12 && abs(c.medianDifference! - 0.125) < 1e-12)
        #expect(c.wilcoxon.nonzeroPairs == 6 && c.wilcoxon.statistic == 0)
        // The pooled difference is the same in every subject, so every replicate gives it.
        #expect(abs(c.bootstrap.estimate! - 0.125) < 1e-12)
        #expect(abs(c.bootstrap.low! - 0.125) < 1e-12 && abs(c.bootstrap.high! - 0.125) < 1e-12)
        #expect(c.bootstrap.seeds == [0, 1] && c.bootstrap.replicates == 500 && c.bootstrap.definedReplicates == 500)

        // Per-fold macro-F1 differences, recomputed from the predictions.
        let f1 = try #require(report.comparisons.first { $0.arm == "better" && $0.selection == .validation && $0.metric == .macroF1 })
        let arm = try study.predictions { _ in 16 }, base = try study.predictions { _ in 14 }
        for fold in 0..<3 {
            func score(_ predictions: [Prediction]) -> Double {
                Metrics(pairs: predictions.filter { $0.fold == fold }.map { (truth: $0.truth, predicted: $0.predicted) }).macroF1!
            }
            let d = try #require(f1.differences.first { $0.fold == fold && $0.seed == 0 })
            #expect(abs(d.difference - (score(arm) - score(base))) < 1e-12)
        }

        // `mixed` is better on half the subjects, worse on the others: the bootstrap
        // interval spans a range around its estimate.
        let mixed = try #require(report.comparisons.first { $0.arm == "mixed" && $0.selection == .validation && $0.metric == .accuracy })
        let b = mixed.bootstrap
        #expect(abs(b.estimate! - (15.0 / 20 - 14.0 / 20)) < 1e-12)  // 18 right for half the nights, 12 for the rest
        #expect(b.low! < b.estimate! && b.estimate! < b.high!)

        // Paper: 19 (20) of 20 against 16.
        let paper = try #require(report.comparisons.first { $0.arm == "better" && $0.selection == .paper && $0.metric == .accuracy })
        #expect(abs(paper.meanDifference! - 0.175) < 1e-12)
    }

    @Test func holmAdjustsAcrossTheArmsOfEachSelectionAndScore() throws {
        let report = try StudyReport(try study.input(), bootstrapReplicates: 50)
        for selection in StudyReport.comparedSelections {
            for score in StudyReport.comparedScores {
                let family = report.comparisons.filter { $0.selection == selection && $0.metric == score }
                let expected = HolmCorrection.adjusted(family.map(\.wilcoxon.p))
                #expect(family.map(\.holmP) == expected)
                for c in family {
                    if let p = c.wilcoxon.p, let holm = c.holmP { #expect(holm >= p && holm <= 1) }
                    for other in family {
                        if let p = c.wilcoxon.p, let q = other.wilcoxon.p, p < q { #expect(c.holmP! <= other.holmP!) }
                    }
                }
            }
        }
        // Two arms on validation: the smaller p is doubled (or capped at 1).
        let family = report.comparisons.filter { $0.selection == .validation && $0.metric == .accuracy }
        #expect(family.count == 2)
        let smallest = try #require(family.min { $0.wilcoxon.p! < $1.wilcoxon.p! })
        #expect(smallest.holmP == min(1, 2 * smallest.wilcoxon.p!))
        // A family of one (paper) is not adjusted.
        let paper = try #require(report.comparisons.first { $0.selection == .paper && $0.metric == .accuracy })
        #expect(paper.holmP == paper.wilcoxon.p)
    }

    @Test func leakageIsTheLeakySelectionMinusValidationPerSeed() throws {
        let report = try StudyReport(try study.input(), bootstrapReplicates: 50)
        let oracle = try #require(report.leakage.first { $0.arm == "better" && $0.selection == .testOracle })
        #expect(oracle.reference == .validation)
        #expect(oracle.accuracy.perSeed.map { $0.map { ($0 * 1e12).rounded() / 1e12 } } == [0.1, 0.1])
        #expect(abs(oracle.accuracy.mean! - 0.1) < 1e-12)
        let paper = try #require(report.leakage.first { $0.arm == "base" && $0.selection == .paper })
        #expect(abs(paper.accuracy.mean! - 0.1) < 1e-12 && abs(paper.accuracy.sd!) < 1e-12)
        #expect(!report.leakage.contains { $0.arm == "mixed" })
    }

    @Test func reportIsDeterministicAndReadsBack() throws {
        let input = try study.input()
        let a = try StudyReport(input, bootstrapSeed: 9, bootstrapReplicates: 300)
        let b = try StudyReport(input, bootstrapSeed: 9, bootstrapReplicates: 300)
        #expect(try a.jsonData() == b.jsonData())
        let other = try StudyReport(input, bootstrapSeed: 10, bootstrapReplicates: 300)
        let mixed = { (r: StudyReport) in r.comparisons.first { $0.arm == "mixed" && $0.metric == .accuracy }!.bootstrap }
        #expect(mixed(other).seed == 10 && mixed(other) != mixed(a))
        #expect(try StudyReport.decode(a.jsonData()) == a)

        let text = String(decoding: try a.jsonData(), as: UTF8.self)
        #expect(text.hasPrefix("{\n  \"arms\" : [") && text.hasSuffix("}\n"))
        let order = ["arms", "baseline", "comparisons", "folds", "leakage", "lpt_lower_bound_s", "makespan_over_lpt",
                     "makespan_s", "name", "schema_version", "sleepfold_version", "subjects", "workers"]
        let positions = order.compactMap { text.range(of: "\n  \"\($0)\" : ")?.lowerBound }
        #expect(positions.count == order.count && positions == positions.sorted())

        expectError(.badVersion, field: "schema_version") {
            _ = try StudyReport.decode(Data("{\"schema_version\": 99}".utf8))
        }
        expectError(.badStudyReport, file: "study.json") {
            _ = try StudyReport.decode(Data("{\"schema_version\": 1, \"name\": \"x\"}".utf8))
        }
    }

    @Test func markdownHasTheTables() throws {
        let md = try StudyReport(try study.input(name: "a|b"), bootstrapReplicates: 50).markdown()
        #expect(md.hasPrefix("# sleepfold study a\\|b: 3 arms × 2 seeds × 3 folds\n"))
        #expect(md.contains("- **better**: conformer, batch 64, 1.23 M parameters, 3.40 GFLOP per training sample, 2 seeds (config conformer-demo)"))
        #expect(md.contains("| arm | model | batch | parameters | FLOPs/sample | selection | accuracy | macro-F1 | kappa | F1 W | F1 N1 | F1 N2 | F1 N3 | F1 REM |"))
        #expect(md.contains("| better | conformer | 64 | 1.23 M | 3.40 GFLOP | validation | 82.5 ± 3.5 |"))
        #expect(md.contains("|  |  |  |  |  | test-oracle | 92.5 ± 3.5 |"))
        #expect(md.contains("| mixed | msmp | 32 | 0.09 M | 25.00 MFLOP | validation | 75.0 ± 0.0 |"))
        #expect(md.contains("| arm | score | pairs | mean Δ | median Δ | W | p | Holm p | pooled Δ | 95 % interval |"))
        #expect(md.contains("| better | accuracy | 6 | +12.50 | +12.50 | 0 |"))
        #expect(md.contains("| better | test-oracle − validation | +10.00 ± 0.00 |"))
        #expect(md.contains("| 4 | 15 min 00 s | 12 min 30 s | 1.20 |"))
        let sections = md.split(separator: "\n").filter { $0.hasPrefix("## ") }
        #expect(sections == ["## Seed experiment", "## Against the baseline (base)", "## Leakage of test-fold selection", "## Utilisation"])
    }

    // MARK: HTML

    /// The first tag nesting error of `html` (outside <style>), or nil.
    private func nestingError(_ html: String) -> String? {
        var text = html
        if let open = text.range(of: "<style>"), let close = text.range(of: "</style>") {
            text.replaceSubrange(open.upperBound..<close.lowerBound, with: "")
        }
        let void: Set<String> = ["meta", "br", "hr", "img", "input", "link", "col", "wbr"]
        var stack: [String] = []
        for match in text.matches(of: /<(\/?)([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*?)?(\/?)>/) {
            let name = String(match.output.2).lowercased()
            if !match.output.3.isEmpty || void.contains(name) { continue }
            if match.output.1.isEmpty {
                stack.append(name)
            } else if stack.last == name {
                stack.removeLast()
            } else {
                return "</\(name)> closes <\(stack.last ?? "nothing")>"
            }
        }
        return stack.isEmpty ? nil : "unclosed: \(stack)"
    }

    @Test func thePageIsSelfContainedEscapedAndTakesExtraSections() throws {
        var input = try study.input(name: "<b>study</b> & 'co'")
        input.arms[2].name = "mixed<script>"
        let report = try StudyReport(input, bootstrapReplicates: 50)
        let extra = [StudyHTMLSection(id: "errors-better", title: "Errors of better", body: "<p class=\"errors\">confusions</p>",
                                      style: ".errors { color: #b42318; }"),
                     StudyHTMLSection(id: "errors-base", title: "Errors of base", body: "<p>none</p>")]
        let html = report.html(appending: extra)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(nestingError(html) == nil, "\(nestingError(html) ?? "")")
        let withoutNamespaces = html.replacing(/xmlns(:[a-z]+)?="[^"]*"/, with: "")
        for forbidden in ["http://", "https://", "<script", "<link", "<iframe", "url(", "@import", "<img", " src=", " href="] {
            #expect(!withoutNamespaces.lowercased().contains(forbidden), "\(forbidden)")
        }
        #expect(html.contains("&lt;b&gt;study&lt;/b&gt; &amp; &#39;co&#39;"))
        #expect(html.contains("mixed&lt;script&gt;"))
        #expect(html.lowercased().firstMatch(of: /="[^"]*\b(nan|inf)\b/) == nil)

        // The study's sections in order, then the appended ones.
        let ids = html.matches(of: /<section id="([^"]+)"/).map { String($0.output.1) }
        #expect(ids == ["arms", "seeds", "comparisons", "leakage", "utilisation", "errors-better", "errors-base"])
        #expect(html.contains(".errors { color: #b42318; }") && html.contains("<h2>Errors of better</h2>"))
        // One difference plot per selection and score, a dot per (fold, seed) pair and arm.
        #expect(html.components(separatedBy: "<svg").count - 1 == 4)
        #expect(html.components(separatedBy: "<svg").count == html.components(separatedBy: "</svg>").count)
        #expect(html.components(separatedBy: "<circle class=\"pair\"").count - 1 == 2 * 2 * 6 + 2 * 6)
        #expect(html.components(separatedBy: "class=\"zero\"").count - 1 == 4)
        // Seed table: one row per arm and selection.
        #expect(html.components(separatedBy: "data-selection=\"validation\"><").count - 1 == 3)
        #expect(html.contains("<tr class=\"arm-start\" data-arm=\"better\" data-selection=\"validation\"><th rowspan=\"3\">better</th>"))
    }

    @Test func writesTheThreeFiles() throws {
        let report = try StudyReport(try study.input(), bootstrapReplicates: 50)
        let directory = try TestFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try report.write(to: directory.appendingPathComponent("study.json"))
        try report.writeMarkdown(to: directory.appendingPathComponent("study.md"))
        try report.writeHTML(to: directory.appendingPathComponent("study.html"))
        #expect(try StudyReport.read(from: directory.appendingPathComponent("study.json")) == report)
        #expect(try String(contentsOf: directory.appendingPathComponent("study.md"), encoding: .utf8) == report.markdown())
        #expect(try String(contentsOf: directory.appendingPathComponent("study.html"), encoding: .utf8) == report.html())
    }

    // MARK: Errors

    @Test func badStudiesNameTheField() throws {
        let good = try study.input()
        func expect(_ code: SleepfoldError.Code, field: String, file: String? = nil, _ change: (inout StudyInput) -> Void) {
            var input = good
            change(&input)
            expectError(code, file: file, field: field) { _ = try StudyReport(input, bootstrapReplicates: 10) }
        }
        expect(.unknownBaseline, field: "baseline") { $0.baseline = "nobody" }
        expect(.emptyStudy, field: "arms") { $0.arms = [] }
        expect(.emptyStudy, field: "arms[2].runs") { $0.arms[2].runs = [] }
        expect(.duplicateArm, field: "arms[2].name") { $0.arms[2].name = "better" }
        expect(.invalidValue, field: "arms[1].name") { $0.arms[1].name = "" }
        expect(.mismatchedSeeds, field: "arms[1].runs") { $0.arms[1].runs.removeLast() }
        expect(.mismatchedSeeds, field: "arms[2].runs") { $0.arms[2].runs[1].seed = 7 }
        expect(.duplicateSeed, field: "arms[0].runs[1].seed") { $0.arms[0].runs[1].seed = 0 }
        expect(.invalidValue, field: "arms[1].batchSize") { $0.arms[1].batchSize = 0 }
        expect(.invalidValue, field: "arms[0].flopsPerSample") { $0.arms[0].flopsPerSample = .nan }
        expect(.invalidValue, field: "arms[0].runs[0].wallSeconds") { $0.arms[0].runs[0].wallSeconds = -1 }
        expect(.invalidValue, field: "workers") { $0.workers = 0 }
        expect(.invalidValue, field: "makespanSeconds") { $0.makespanSeconds = .infinity }
        expect(.invalidValue, field: "name") { $0.name = "" }
        // Predictions that do not fit the plan: the run directory and the selection are named.
        expect(.unknownRecording, field: "paper predictions, recording SC4991E0 epoch 0", file: "better/seed-0-paper") {
            let stray = try! Prediction(recording: "SC4991E0", epoch: 0, fold: 0, truth: .wake, predicted: .wake,
                                        probabilities: [1, 0, 0, 0, 0])
            $0.arms[1].runs[1].predictions[.paper]!.append(stray)
        }
    }

    @Test func aStudyWithoutSharedSelectionsHasNoComparisons() throws {
        var input = try study.input()
        input.arms = [input.arms[0], input.arms[2]]
        for r in input.arms[1].runs.indices {
            input.arms[1].runs[r].predictions = [.last: input.arms[1].runs[r].predictions[.validation]!]
        }
        let report = try StudyReport(input, bootstrapReplicates: 10)
        #expect(report.comparisons.isEmpty)
        #expect(report.markdown().contains("No comparison: no other arm shares a selection with the baseline."))
        #expect(!report.html().contains("<svg"))
        // Without an LPT bound there is no ratio.
        input.lptLowerBoundSeconds = nil
        #expect(try StudyReport(input, bootstrapReplicates: 10).makespanOverLPT == nil)
    }
}
