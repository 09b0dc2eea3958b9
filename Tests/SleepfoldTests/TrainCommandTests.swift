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

/// A tiny cross-validation set-up for command tests: a synthetic cohort of three
/// one-night subjects (0.3 h each), a narrow AttnSleep trained for two epochs, and
/// `sleepfold train` run on some of its three folds into one run directory.
struct TinyRun {
    let root: URL
    var data: URL { root.appendingPathComponent("data") }
    var run: URL { root.appendingPathComponent("run") }
    var config: URL { root.appendingPathComponent("tiny.json") }

    static let tinyConfig = """
        {"name": "tiny",
         "model": {"cnnFirstChannels": 8, "cnnChannels": 16, "afrChannels": 4, "heads": 4, "dFF": 16},
         "training": {"batchSize": 32, "epochs": 5}}
        """

    /// Writes the cohort and the config (no training yet).
    init(_ name: String) throws {
        root = try CommandRunner.temporaryDirectory(name)
        try Data(Self.tinyConfig.utf8).write(to: config)
        let synth = try CommandRunner.run(["synth", "--subjects", "3", "--nights", "1", "--hours", "0.3",
                                           "--seed", "5", "--out", data.path])
        guard synth.status == 0 else { throw Failure(message: "synth failed: \(synth.stderr)") }
    }

    /// The `train` arguments of fold `fold` (2 epochs, overriding the config's 5).
    func trainArguments(fold: Int) -> [String] {
        ["train", "--data", data.path, "--folds", "3", "--fold", String(fold), "--config", config.path,
         "--epochs", "2", "--seed", "7", "--threads", "1", "--out", run.path]
    }

    /// Trains `fold`; throws unless the command succeeds.
    @discardableResult
    func train(fold: Int) throws -> CommandRunner.Output {
        let output = try CommandRunner.run(trainArguments(fold: fold))
        guard output.status == 0 else { throw Failure(message: "train --fold \(fold) failed: \(output.stderr)") }
        return output
    }

    /// Test subjects of each fold, from `sleepfold plan --json` with the same options.
    func testSubjects() throws -> [[String]] {
        let plan = try CommandRunner.run(["plan", "--data", data.path, "--folds", "3", "--seed", "7", "--json"])
        struct Plan: Decodable { struct Fold: Decodable { let test: [String] }; let folds: [Fold] }
        return try JSONDecoder().decode(Plan.self, from: Data(plan.stdout.utf8)).folds.map(\.test)
    }

    /// Rows of the run's predictions.csv, split into fields (header excluded).
    func predictionRows() throws -> [[String]] {
        let text = try String(contentsOf: run.appendingPathComponent("predictions.csv"), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

@Suite struct TrainCommandTests {
    @Test func twoFoldsTrainedOneByOneFillOneRunDirectory() throws {
        let tiny = try TinyRun("train")
        defer { tiny.remove() }
        let first = try tiny.train(fold: 0)
        #expect(first.stdout.contains("fold 0 epoch 1/2: train loss"))
        #expect(first.stdout.contains("fold 0 epoch 2/2: train loss"))
        #expect(first.stdout.contains("fold 0: accuracy"))
        #expect(first.stdout.contains("test fold scored after every epoch: "), "\(first.stdout)")
        try tiny.train(fold: 1)

        let fm = FileManager.default
        for name in ["journal.jsonl", "report.json", "report.md", "predictions.csv",
                     "predictions-last.csv", "predictions-test-oracle.csv",
                     "checkpoints/fold-00.safetensors", "checkpoints/fold-01.safetensors"] {
            #expect(fm.fileExists(atPath: tiny.run.appendingPathComponent(name).path), "\(name) missing")
        }
        #expect(!fm.fileExists(atPath: tiny.run.appendingPathComponent("checkpoints/fold-02.safetensors").path))

        // The journal holds both folds, without the checkpoint bytes (those are in checkpoints/).
        let journal = try String(contentsOf: tiny.run.appendingPathComponent("journal.jsonl"), encoding: .utf8)
        let entries = try journal.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(entries.map { $0["fold"] as? Int ?? 0 }.sorted() == [0, 1])
        #expect(entries.allSatisfy { $0["checkpoint"] == nil && $0["predictions"] != nil })

        // predictions.csv: the exact header, then one row per test epoch of folds 0 and 1.
        let csv = try String(contentsOf: tiny.run.appendingPathComponent("predictions.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("recording,epoch,fold,true,predicted,p_w,p_n1,p_n2,p_n3,p_rem\n"))
        let tests = try tiny.testSubjects()
        var expected: [String: (fold: Int, epochs: Int)] = [:]
        for fold in 0...1 {
            for subject in tests[fold] {
                let id = "SC4\(subject)1E0"
                let recording = try Recording(contentsOf: tiny.data.appendingPathComponent("\(id).npz"))
                expected[id] = (fold, recording.epochCount)
            }
        }
        let rows = try tiny.predictionRows()
        #expect(rows.count == expected.values.reduce(0) { $0 + $1.epochs })
        for (id, want) in expected {
            let mine = rows.filter { $0[0] == id }
            #expect(mine.count == want.epochs, "\(id)")
            #expect(mine.map { Int($0[1]) } == Array(0..<want.epochs), "\(id): epochs in order")
            #expect(mine.allSatisfy { $0[2] == String(want.fold) }, "\(id): fold")
        }
        // The other selections of the same trainings: the same header and rows (recording,
        // epoch, fold, true stage), only predicted stages and probabilities may differ.
        for name in ["predictions-last.csv", "predictions-test-oracle.csv"] {
            let other = try String(contentsOf: tiny.run.appendingPathComponent(name), encoding: .utf8)
            #expect(other.hasPrefix("recording,epoch,fold,true,predicted,p_w,p_n1,p_n2,p_n3,p_rem\n"))
            let otherRows = other.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            #expect(otherRows.map { Array($0[0..<4]) } == rows.map { Array($0[0..<4]) }, "\(name)")
        }

        // The report covers the two folds trained.
        let report = try Report.read(from: tiny.run.appendingPathComponent("report.json"))
        #expect(report.folds[0].metrics.epochs > 0 && report.folds[1].metrics.epochs > 0)
        #expect(report.folds[2].metrics.epochs == 0)
        #expect(report.pooled.epochs == rows.count)
        #expect(report.folds[0].run.chosenEpoch.map { (1...2).contains($0) } == true)
    }

    @Test func everyFoldTrainedAloneGivesTheClusterRunsPredictionsAndCheckpoints() throws {
        let tiny = try TinyRun("train-cluster")
        defer { tiny.remove() }
        for fold in 0..<3 { try tiny.train(fold: fold) }
        let cluster = tiny.root.appendingPathComponent("cluster")
        let run = try CommandRunner.run(["run", "--workers", "1", "--data", tiny.data.path, "--folds", "3",
                                         "--config", tiny.config.path, "--epochs", "2", "--seed", "7", "--out", cluster.path])
        #expect(run.status == 0, "\(run.stderr)")
        for file in ["predictions.csv", "predictions-last.csv", "predictions-test-oracle.csv",
                     "checkpoints/fold-00.safetensors", "checkpoints/fold-01.safetensors",
                     "checkpoints/fold-02.safetensors"] {
            let alone = try Data(contentsOf: tiny.run.appendingPathComponent(file))
            #expect(try Data(contentsOf: cluster.appendingPathComponent(file)) == alone, "\(file) differs")
        }
        let mine = try Report.read(from: tiny.run.appendingPathComponent("report.json"))
        let theirs = try Report.read(from: cluster.appendingPathComponent("report.json"))
        #expect(mine.pooled == theirs.pooled && mine.subjects == theirs.subjects && mine.overFolds == theirs.overFolds)
        #expect(mine.folds.map(\.run.chosenEpoch) == theirs.folds.map(\.run.chosenEpoch))
    }

    @Test func aFoldAlreadyInTheJournalIsNotTrainedAgain() throws {
        let tiny = try TinyRun("train-again")
        defer { tiny.remove() }
        try tiny.train(fold: 2)
        let csv = tiny.run.appendingPathComponent("predictions.csv")
        let before = try Data(contentsOf: csv)
        let again = try tiny.train(fold: 2)
        #expect(again.stdout.contains("already in"))
        #expect(!again.stdout.contains("epoch 1/2"))
        #expect(try Data(contentsOf: csv) == before)
        let journal = try String(contentsOf: tiny.run.appendingPathComponent("journal.jsonl"), encoding: .utf8)
        #expect(journal.split(separator: "\n").count == 1)
    }

    @Test func aFoldOutsideThePlanIsRefused() throws {
        let tiny = try TinyRun("train-bad")
        defer { tiny.remove() }
        var arguments = tiny.trainArguments(fold: 3)
        let result = try CommandRunner.run(arguments)
        #expect(result.status != 0)
        #expect(result.stderr.contains("--fold"))
        #expect(!FileManager.default.fileExists(atPath: tiny.run.appendingPathComponent("journal.jsonl").path))

        arguments = tiny.trainArguments(fold: 0)
        arguments[arguments.firstIndex(of: tiny.config.path)!] = tiny.root.appendingPathComponent("missing.json").path
        let missing = try CommandRunner.run(arguments)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("missing.json"))
    }
}
