import Foundation
import Testing
import Basics
import Evaluation
import SleepNet
import Studies
import TestSupport

/// A study file is read with its paths relative to it, and a bad one is refused
/// naming the file and the field.
@Suite struct StudyFileTests {
    /// A directory with two arm configs and a study file written from `json`.
    static func write(_ json: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("study-file-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("configs"), withIntermediateDirectories: true)
        for name in ["a", "b"] {
            try #"{"name": "\#(name)"}"#.write(to: directory.appendingPathComponent("configs/\(name).json"), atomically: true, encoding: .utf8)
        }
        let url = directory.appendingPathComponent("study.json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static let good = """
    {"name": "s", "data": "../data", "folds": 3, "fold_plan": "seeded", "seeds": [0, 7], "baseline": "a",
     "paper_protocol": true, "epochs": 2,
     "arms": [{"name": "a", "config": "configs/a.json"}, {"name": "b-2", "config": "configs/b.json"}]}
    """

    @Test func aStudyFileIsReadWithPathsRelativeToIt() throws {
        let url = try Self.write(Self.good)
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let study = try StudyFile.load(from: url)
        let directory = url.deletingLastPathComponent()
        #expect(study.name == "s" && study.folds == 3 && study.foldPlan == .seeded && study.seeds == [0, 7])
        #expect(study.data.path == directory.deletingLastPathComponent().appendingPathComponent("data").standardizedFileURL.path)
        #expect(study.arms.map(\.name) == ["a", "b-2"])
        #expect(study.arms[1].config.path == directory.appendingPathComponent("configs/b.json").standardizedFileURL.path)
        #expect(study.baseline == "a" && study.paperProtocol && study.epochs == 2)
    }

    @Test(arguments: [
        (#""folds": 3"#, #""folds": 1"#, "folds", "found 1, expected an integer ≥ 2"),
        (#""folds": 3"#, #""folds": "3""#, "folds", "found \"3\", expected an integer ≥ 2"),
        (#""seeds": [0, 7]"#, #""seeds": []"#, "seeds", "found an array, expected a non-empty array of seeds (integers ≥ 0)"),
        (#""seeds": [0, 7]"#, #""seeds": [0, 0]"#, "seeds[1]", "found 0 a second time, expected distinct seeds"),
        (#""seeds": [0, 7]"#, #""seeds": [0, -1]"#, "seeds[1]", "found -1, expected an integer ≥ 0"),
        (#""baseline": "a""#, #""baseline": "c""#, "baseline", "found \"c\", expected the name of an arm: \"a\", \"b-2\""),
        (#""fold_plan": "seeded""#, #""fold_plan": "random""#, "fold_plan", "found \"random\", expected \"attnsleep\" or \"seeded\""),
        (#""paper_protocol": true"#, #""paper_protocol": 1"#, "paper_protocol", "found 1, expected true or false"),
        (#""epochs": 2"#, #""epochs": 0"#, "epochs", "found 0, expected an integer ≥ 1"),
        (#""name": "s""#, #""name": "s", "seed": 1"#, "seed", "found an unknown key, expected one of arms, baseline, data, epochs, fold_plan, folds, name, paper_protocol, seeds"),
        (#""name": "b-2""#, #""name": "a""#, "arms[1].name", "found \"a\" a second time, expected distinct arm names"),
        (#""name": "b-2""#, #""name": "../b""#, "arms[1].name", "found \"../b\", expected a plain directory name: letters, digits, '.', '_', '-', not starting with '.'"),
    ])
    func aBadStudyFileNamesTheField(original: String, replacement: String, field: String, message: String) throws {
        let url = try Self.write(Self.good.replacingOccurrences(of: original, with: replacement))
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let error = try #require(throws: SleepfoldError.self) { try StudyFile.load(from: url) }
        #expect(error.code == .invalidStudy && error.file == url.path && error.field == field, "\(error)")
        #expect(error.message == message, "\(error)")
    }

    @Test func aMissingConfigIsNamedWithItsPath() throws {
        let url = try Self.write(Self.good.replacingOccurrences(of: "configs/b.json", with: "configs/none.json"))
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let error = try #require(throws: SleepfoldError.self) { try StudyFile.load(from: url) }
        #expect(error.field == "arms[1].config" && error.message.contains("configs/none.json"), "\(error)")
    }

    @Test func theLPTBoundIsTheLongestTaskOrTheAverageLoad() {
        #expect(Utilisation.lowerBound(taskSeconds: [10, 1, 1], workers: 2) == 10)
        #expect(Utilisation.lowerBound(taskSeconds: [4, 4, 4, 4], workers: 2) == 8)
        let u = Utilisation(makespanSeconds: 9, taskSeconds: [4, 4, 4, 4], workers: 2)
        #expect(u?.ratio == 9.0 / 8.0 && u?.tasks == 4)
        #expect(Utilisation(makespanSeconds: nil, taskSeconds: [1], workers: 1) == nil)
    }

    @Test func aTaskCostsItsEpochsTimesTrainingAndScoring() {
        let cost = SleepNet.ModelCost(trainFLOPsPerSample: 3e6, inferFLOPsPerSample: 1e6, parameters: 10)
        // 2 epochs × (3 MFLOP × 100 training samples + 1 MFLOP × 50 scored samples) = 700 MFLOP.
        #expect(TaskCost.megaFLOPs(epochs: 2, trainSamples: 100, evaluatedSamples: 50, model: cost) == 700)
    }
}

/// The study files shipped in configs/ are valid: the seed's table and the synthetic one.
@Suite struct ShippedStudyFileTests {
    static let configs = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("configs")

    @Test func theSleepEDF20StudyIsTheSeedsTable() throws {
        let study = try StudyFile.load(from: Self.configs.appendingPathComponent("study-sleep-edf-20.json"))
        #expect(study.arms.map(\.name) == ["ex1", "ex2", "ex3", "ex4"] && study.baseline == "ex1")
        #expect(study.folds == 20 && study.foldPlan == .attnsleep && study.seeds == [0, 1, 2] && study.paperProtocol)
        #expect(study.arms.map(\.config.lastPathComponent) == ["ex1-attnsleep.json", "ex2-conformer.json", "ex3-msmp.json", "ex4-msmp-batch32.json"])
        #expect(study.data.path.hasSuffix("/data/sleep-edf-20") && study.epochs == nil)
    }

    @Test func theSyntheticStudyUsesTheSmallConfigs() throws {
        let study = try StudyFile.load(from: Self.configs.appendingPathComponent("small/study-synthetic.json"))
        #expect(study.arms.allSatisfy { $0.config.deletingLastPathComponent().lastPathComponent == "small" })
        #expect(study.paperProtocol && study.epochs == 5)
    }
}
