import Foundation
import Testing
import SleepNet
import Synthesis
import Worker
import Basics
import Recordings
import Cohorts
import Evaluation
import Shared

/// A fold task over recordings written to a temporary directory, with a tiny model.
struct TinyFold {
    let directory: URL
    var task: Sleepfold_FoldTask
    let files: [String: URL]

    init(selection: String = "validation", epochs: UInt32 = 2) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("worker-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let recordings = try SynthCohort.generate(SynthOptions(subjects: 4, nights: 1, hours: 0.3, seed: 4))
        var refs: [Sleepfold_RecordingRef] = []
        var files: [String: URL] = [:]
        for r in recordings {
            let url = directory.appendingPathComponent("\(r.id).npz")
            try r.write(to: url)
            var ref = Sleepfold_RecordingRef()
            ref.id = r.id
            ref.subject = r.subject
            ref.sha256 = try SHA256.hexDigest(ofFile: url)
            ref.sizeBytes = UInt64(try Data(contentsOf: url).count)
            ref.fileName = url.lastPathComponent
            refs.append(ref)
            files[r.id] = url
        }
        var config = ExperimentConfig(name: "tiny")
        config.model.cnnFirstChannels = 8
        config.model.cnnChannels = 16
        config.model.afrChannels = 4
        config.model.heads = 4
        config.model.dFF = 16
        config.training.batchSize = 16
        var task = Sleepfold_FoldTask()
        task.runID = "run-test"
        task.fold = 1
        task.foldCount = 4
        task.attempt = 1
        task.train = [refs[0], refs[1]]
        task.validation = [refs[2]]
        task.test = [refs[3]]
        task.configJson = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        task.seed = 77
        task.selection = selection
        task.epochs = epochs
        self.task = task
        self.files = files
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Sleepfold_Progress] = []
    func add(_ p: Sleepfold_Progress) { lock.lock(); items.append(p); lock.unlock() }
    var all: [Sleepfold_Progress] { lock.lock(); defer { lock.unlock() }; return items }
}

@Suite struct FoldRunnerTests {
    @Test func aFoldResultCarriesPredictionsHistoryAndAReloadableCheckpoint() throws {
        let fold = try TinyFold()
        defer { fold.remove() }
        let progress = ProgressLog()
        let job = FoldJob(task: fold.task, files: fold.files, threads: 1, workerID: "test")
        let result = try FoldRunner.train(job, progress: { progress.add($0) }, isCancelled: { false })

        #expect(result.runID == "run-test" && result.fold == 1 && result.attempt == 1 && result.workerID == "test")
        #expect(progress.all.map(\.epoch) == [1, 2])
        #expect(result.history.count == 2)
        #expect((1...2).contains(result.chosenEpoch))
        let p = try #require(result.predictions.first)
        #expect(result.predictions.count == 1 && p.recordingID == fold.task.test[0].id)
        let n = p.trueLabels.count
        #expect(n == 36 && p.predictedLabels.count == n && p.probabilities.count == n * Stage.count * MemoryLayout<Float>.size)
        // The same training's other selections: same night and truth, as many predictions.
        for other in [result.lastPredictions, result.oraclePredictions] {
            #expect(other.count == 1 && other[0].recordingID == p.recordingID && other[0].trueLabels == p.trueLabels)
            #expect(other[0].predictedLabels.count == n && other[0].probabilities.count == p.probabilities.count)
        }
        #expect((1...2).contains(result.oracleEpoch))
        // The history carries the test fold's scores; the oracle's epoch is the best test accuracy.
        #expect(result.history.allSatisfy { $0.testLoss.isFinite && (0...1).contains($0.testAccuracy) && (0...1).contains($0.testMacroF1) })
        let bestTest = result.history.max { ($0.testAccuracy, -Int($0.epoch)) < ($1.testAccuracy, -Int($1.epoch)) }!
        #expect(result.oracleEpoch == bestTest.epoch)

        // The checkpoint is the chosen model: reloaded, it predicts the same stages.
        let url = fold.directory.appendingPathComponent("ckpt.safetensors")
        try result.checkpoint.write(to: url)
        let model = try SleepModel.loadCheckpoint(from: url)
        let test = try Recording(contentsOf: fold.files[p.recordingID]!)
        let logits = try model.forward(test.x, batch: test.epochCount, training: false).array
        var predicted: [UInt8] = []
        for i in 0..<n {
            var best = 0
            for k in 1..<Stage.count where logits[i * Stage.count + k] > logits[i * Stage.count + best] { best = k }
            predicted.append(UInt8(best))
        }
        #expect(predicted == Array(p.predictedLabels))
    }

    @Test func aBadConfigOrSelectionFailsWithAReason() throws {
        let fold = try TinyFold(selection: "best-guess")
        defer { fold.remove() }
        let job = FoldJob(task: fold.task, files: fold.files, threads: 1, workerID: "test")
        let error = #expect(throws: SleepfoldError.self) {
            try FoldRunner.train(job, progress: { _ in }, isCancelled: { false })
        }
        #expect(error?.code == .invalidFoldTask && error?.file == "fold 1 task" && error?.field == "selection")
        #expect(error?.description.contains("best-guess") == true)
        #expect(error?.message.contains("validation, last, test-oracle") == true)
    }

    @Test func aConfigThatIsNotAnExperimentConfigNamesTheField() throws {
        var fold = try TinyFold()
        defer { fold.remove() }
        fold.task.configJson = "{\"model\": 3}"
        let job = FoldJob(task: fold.task, files: fold.files, threads: 1, workerID: "test")
        let error = #expect(throws: SleepfoldError.self) {
            try FoldRunner.train(job, progress: { _ in }, isCancelled: { false })
        }
        #expect(error?.code == .invalidFoldTask && error?.field == "config_json")
    }

    @Test func aRecordingWithoutALocalFileIsNamed() throws {
        let fold = try TinyFold()
        defer { fold.remove() }
        var files = fold.files
        files[fold.task.validation[0].id] = nil
        let job = FoldJob(task: fold.task, files: files, threads: 1, workerID: "test")
        let error = #expect(throws: SleepfoldError.self) {
            try FoldRunner.train(job, progress: { _ in }, isCancelled: { false })
        }
        #expect(error?.code == .recordingNotLocal && error?.field == "recording \(fold.task.validation[0].id)")
    }
}
