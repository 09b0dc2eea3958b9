import ArgumentParser
import Foundation
import Basics
import Cohorts
import EDF
import Synthesis
import Evaluation
import Reports
import SleepNet
import Shared

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare runs side by side, with paired tests over folds and bootstrap intervals over subjects.",
        discussion: """
        For each pair of runs (A, B): per-fold differences of macro-F1 and kappa, a two-sided \
        Wilcoxon signed-rank test over folds (needs the same folds), and a 95 % bootstrap \
        interval of the pooled difference B − A resampling subjects (needs the same subjects). \
        Prints markdown; --out DIR also writes compare.md and compare.json.
        """)

    @Argument(help: "Run directories (each with report.json and predictions.csv).")
    var runs: [String]

    @Option(help: "Bootstrap resamples.")
    var resamples: Int = 2000

    @Option(help: "Bootstrap seed.")
    var seed: UInt64 = 0

    @Option(help: "Directory to write compare.md and compare.json to.")
    var out: String?

    @Flag(help: "Print JSON instead of markdown.")
    var json = false

    func run() throws {
        guard runs.count >= 2 else { throw ValidationError("give at least two run directories") }
        guard resamples >= 100 else {
            throw SleepfoldError(.invalidValue, field: "--resamples", found: "\(resamples)", expected: "at least 100")
        }
        let names = Self.names(runs.map { URL(fileURLWithPath: $0).standardizedFileURL })
        let loaded = try zip(runs, names).map { path, name -> RunComparison.Run in
            let dir = URL(fileURLWithPath: path)
            let report = try Report.read(from: dir.appendingPathComponent("report.json"))
            let predictions = try PredictionsCSV.read(from: dir.appendingPathComponent("predictions.csv"))
            return RunComparison.Run(name: name, report: report, predictions: predictions)
        }
        let comparison = RunComparison(loaded, resamples: resamples, seed: seed)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let jsonData = try encoder.encode(comparison)
        let markdown = comparison.markdown()
        if let out {
            let dir = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try markdown.write(to: dir.appendingPathComponent("compare.md"), atomically: true, encoding: .utf8)
            try jsonData.write(to: dir.appendingPathComponent("compare.json"), options: .atomic)
        }
        if json {
            FileHandle.standardOutput.write(jsonData)
            print()
        } else {
            print(markdown)
        }
    }

    /// A short name per run directory: its last path component, or as many trailing
    /// components as it takes to tell them apart (a study's `ex1/seed-0` and `ex2/seed-0`).
    static func names(_ directories: [URL]) -> [String] {
        let parts = directories.map { $0.pathComponents.filter { $0 != "/" } }
        let longest = parts.map(\.count).max() ?? 1
        for depth in 1...max(1, longest) {
            let names = parts.map { $0.suffix(depth).joined(separator: "/") }
            if Set(names).count == names.count || depth == longest { return names }
        }
        return parts.map { $0.joined(separator: "/") }
    }
}
