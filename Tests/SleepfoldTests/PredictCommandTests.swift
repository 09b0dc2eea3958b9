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

@Suite struct PredictCommandTests {
    /// A trained fold 0, and the id of one of its test recordings.
    private func trainedFold() throws -> (TinyRun, String) {
        let tiny = try TinyRun("predict")
        try tiny.train(fold: 0)
        let id = try #require(try tiny.testSubjects().first?.first.map { "SC4\($0)1E0" })
        return (tiny, id)
    }

    @Test func theCheckpointPredictsExactlyWhatTheFoldPredicted() throws {
        let (tiny, id) = try trainedFold()
        defer { tiny.remove() }
        let checkpoint = tiny.run.appendingPathComponent("checkpoints/fold-00.safetensors").path
        let night = tiny.data.appendingPathComponent("\(id).npz").path
        let result = try CommandRunner.run(["predict", "--checkpoint", checkpoint, "--data", night, "--csv", "--threads", "2"])
        #expect(result.status == 0, "\(result.stderr)")

        // Same model, eval mode: the same labels and bit-identical probabilities as predictions.csv.
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "epoch,true,predicted,p_w,p_n1,p_n2,p_n3,p_rem")
        let fold = try tiny.predictionRows().filter { $0[0] == id }
        #expect(!fold.isEmpty)
        #expect(lines.count - 1 == fold.count)
        for (line, row) in zip(lines.dropFirst(), fold) {
            #expect(line == ([row[1]] + row[3...]).joined(separator: ","))
        }

        // The scores at the end (stderr with --csv) are those of these predictions.
        let correct = fold.filter { $0[3] == $0[4] }.count
        let accuracy = String(format: "%.1f %%", 100 * Double(correct) / Double(fold.count))
        #expect(result.stderr.contains("\(id): accuracy \(accuracy), macro-F1"))
        #expect(result.stderr.contains("kappa"))

        // The table: a header, one line per epoch with stage names, and the scores.
        let table = try CommandRunner.run(["predict", "--checkpoint", checkpoint, "--data", night])
        #expect(table.status == 0, "\(table.stderr)")
        let tableLines = table.stdout.split(separator: "\n").map(String.init)
        try #require(tableLines.count == fold.count + 2)
        #expect(tableLines.first?.hasPrefix("epoch  true  predicted") == true)
        let stageNames = ["W", "N1", "N2", "N3", "REM"]
        let firstEpoch = tableLines[1].split(separator: " ").map(String.init)
        #expect(firstEpoch.count == 8)
        #expect(firstEpoch[0] == "0" && firstEpoch[1] == stageNames[Int(fold[0][3])!] && firstEpoch[2] == stageNames[Int(fold[0][4])!])
        #expect(tableLines.last?.hasPrefix("\(id): accuracy \(accuracy)") == true)
    }

    @Test func aNightWithoutLabelsGetsPredictionsButNoScores() throws {
        let (tiny, id) = try trainedFold()
        defer { tiny.remove() }
        let checkpoint = tiny.run.appendingPathComponent("checkpoints/fold-00.safetensors").path
        let labelled = try Recording(contentsOf: tiny.data.appendingPathComponent("\(id).npz"))
        let unlabelled = tiny.root.appendingPathComponent("night.npz")
        try NPZArchive.write([("x", NPYArray(labelled.x, shape: [labelled.epochCount, labelled.samplesPerEpoch, 1])),
                              ("fs", NPYArray(scalar: Int64(100)))], to: unlabelled)
        let result = try CommandRunner.run(["predict", "--checkpoint", checkpoint, "--data", unlabelled.path, "--csv"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("accuracy"))
        let fold = try tiny.predictionRows().filter { $0[0] == id }
        let lines = result.stdout.split(separator: "\n").dropFirst().map(String.init)
        #expect(lines == fold.map { ([$0[1], ""] + $0[4...]).joined(separator: ",") })
    }

    @Test func inputsThatDoNotFitFailWithAReason() throws {
        let (tiny, id) = try trainedFold()
        defer { tiny.remove() }
        let checkpoint = tiny.run.appendingPathComponent("checkpoints/fold-00.safetensors").path

        // 50 Hz: 1,500 samples per epoch, but the model takes 3,000.
        let short = tiny.root.appendingPathComponent("SC4991E0.npz")
        try Recording(id: "SC4991E0", subject: "99", night: 1, sampleRate: 50, samplesPerEpoch: 1500,
                      x: [Float](repeating: 0.5, count: 3000), labels: [0, 2]).write(to: short)
        let rate = try CommandRunner.run(["predict", "--checkpoint", checkpoint, "--data", short.path])
        #expect(rate.status != 0)
        #expect(rate.stderr.contains("1500 samples per epoch") && rate.stderr.contains("3000"))

        let garbage = tiny.root.appendingPathComponent("garbage.safetensors")
        try Data("not a checkpoint".utf8).write(to: garbage)
        let bad = try CommandRunner.run(["predict", "--checkpoint", garbage.path,
                                         "--data", tiny.data.appendingPathComponent("\(id).npz").path])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("garbage.safetensors"))
    }
}
