import Foundation
import Testing
import Coordinator
import Basics
import Shared

/// The pieces of a run plan: 4 subjects, one night each, 2 folds, valid as built.
struct PlanParts {
    var runID = "0123456789abcdef"
    var folds: [RunPlan.Fold]
    var configJSON = #"{"name": "tiny", "training": {"epochs": 2}}"#
    var selection = "validation"
    var epochs = 2
    var files: [String: URL]
    /// Fold 0 tests 3-epoch nights, fold 1 one-epoch nights.
    var epochCounts = ["SC4011E0": 3, "SC4021E0": 3, "SC4031E0": 1, "SC4041E0": 1]

    static func ref(_ subject: String) -> Sleepfold_RecordingRef {
        .with {
            $0.id = "SC4\(subject)1E0"
            $0.subject = subject
            $0.sha256 = String(repeating: subject.last!, count: 64)
            $0.sizeBytes = 1000
            $0.fileName = "SC4\(subject)1E0.npz"
        }
    }

    init() {
        let r = ["01", "02", "03", "04"].map(Self.ref)
        folds = [RunPlan.Fold(train: [r[2]], validation: [r[3]], test: [r[0], r[1]], cost: 10),
                 RunPlan.Fold(train: [r[0]], validation: [r[1]], test: [r[2], r[3]], cost: 10)]
        files = Dictionary(uniqueKeysWithValues: r.map { ($0.id, URL(fileURLWithPath: "/data/\($0.fileName)")) })
    }

    /// Changes recording `id` wherever the folds list it.
    mutating func change(_ id: String, _ edit: (inout Sleepfold_RecordingRef) -> Void) {
        for k in folds.indices {
            for i in folds[k].train.indices where folds[k].train[i].id == id { edit(&folds[k].train[i]) }
            for i in folds[k].validation.indices where folds[k].validation[i].id == id { edit(&folds[k].validation[i]) }
            for i in folds[k].test.indices where folds[k].test[i].id == id { edit(&folds[k].test[i]) }
        }
    }

    func plan() throws -> RunPlan {
        try RunPlan(runID: runID, folds: folds, configJSON: configJSON, seed: 5, selection: selection,
                    epochs: epochs, files: files, epochCounts: epochCounts)
    }
}

@Suite struct RunPlanTests {
    @Test func aSoundPlanIsAcceptedAndItsTasksCarryTheFoldSeedAndSettings() throws {
        let plan = try PlanParts().plan()
        let task = plan.task(fold: 1, attempt: 2)
        #expect(task.runID == plan.runID && task.fold == 1 && task.foldCount == 2 && task.attempt == 2)
        #expect(task.test.map(\.id) == ["SC4031E0", "SC4041E0"] && task.selection == "validation" && task.epochs == 2)
        #expect(task.seed == plan.seed(ofFold: 1) && task.seed != plan.seed(ofFold: 0))
    }

    /// One broken rule each, and the field the error must name.
    static let broken: [(String, String, @Sendable (inout PlanParts) -> Void)] = [
        ("empty run id", "runID", { $0.runID = "" }),
        ("no folds", "folds", { $0.folds = []; $0.files = [:] }),
        ("zero epochs", "epochs", { $0.epochs = 0 }),
        ("negative epochs", "epochs", { $0.epochs = -3 }),
        ("unknown selection", "selection", { $0.selection = "best-guess" }),
        ("config not JSON", "configJSON", { $0.configJSON = "{model: " }),
        ("config not an object", "configJSON", { $0.configJSON = "[1, 2]" }),
        ("fold without training", "folds[0].train", { $0.folds[0].train = [] }),
        ("fold without test", "folds[1].test", { $0.folds[1].test = [] }),
        ("validation selection without validation set", "folds[0].validation", { $0.folds[0].validation = [] }),
        ("recording in train and test", "folds[0]", { $0.folds[0].train.append(PlanParts.ref("01")) }),
        ("subject split across sets", "folds[0]", { parts in
            var night2 = PlanParts.ref("03")
            night2.id = "SC4032E0"
            parts.folds[0].test.append(night2)     // subject 03 trains fold 0
            parts.folds[1].test.append(night2)
            parts.files[night2.id] = URL(fileURLWithPath: "/data/SC4032E0.npz")
        }),
        ("fold leaving out a recording", "folds[1]", { $0.folds[1].validation = [] ; $0.selection = "last" }),
        ("recording described otherwise in another fold", "folds[1]", { $0.folds[1].train[0].subject = "99" }),
        ("recording without content hash", "sha256", { $0.change("SC4021E0") { $0.sha256 = "" } }),
        ("recording with a malformed hash", "sha256", { $0.change("SC4021E0") { $0.sha256 = String(repeating: "G", count: 64) } }),
        ("recording without size", "sizeBytes", { $0.change("SC4021E0") { $0.sizeBytes = 0 } }),
        ("recording without a file", "files", { $0.files["SC4011E0"] = nil }),
        ("recording tested twice", "folds", { $0.folds[1].test.append(PlanParts.ref("01")) }),
        ("recording without an epoch count", "epochCounts", { $0.epochCounts["SC4021E0"] = nil }),
        ("recording with no epochs", "epochCounts", { $0.epochCounts["SC4031E0"] = 0 }),
        ("recording tested nowhere", "folds", { $0.files["SC4051E0"] = URL(fileURLWithPath: "/data/SC4051E0.npz") }),
    ]

    @Test(arguments: broken.indices)
    func aBrokenPlanIsRefusedNamingTheField(index: Int) {
        let (name, field, breakIt) = Self.broken[index]
        var parts = PlanParts()
        breakIt(&parts)
        let error = #expect(throws: SleepfoldError.self, "\(name)") { try parts.plan() }
        #expect(error?.code == .invalidRunPlan, "\(name)")
        let fields = [error?.field] + (error?.problems.map(\.field) ?? [])
        #expect(fields.contains(field), "\(name): \(error.map(String.init(describing:)) ?? "no error")")
    }

    @Test func aProblemWithARecordingNamesItsFileAndEveryProblemIsListed() {
        var parts = PlanParts()
        parts.change("SC4011E0") { $0.sha256 = "" }
        parts.change("SC4041E0") { $0.sha256 = "" }
        parts.epochs = 0
        let error = #expect(throws: SleepfoldError.self) { try parts.plan() }
        #expect(error?.field == "epochs" && error?.file == "run plan")
        // In the order fold 0 lists them: validation (SC4041E0), then test (SC4011E0).
        #expect(error?.problems.map(\.file) == ["/data/SC4041E0.npz", "/data/SC4011E0.npz"])
        #expect(error?.problems.allSatisfy { $0.field == "sha256" && $0.message.contains("no content hash") } == true)
        #expect(error?.description.split(separator: "\n").count == 3)
    }

    @Test func selectionsWithoutValidationNeedNoValidationRecordings() throws {
        var parts = PlanParts()
        parts.selection = "last"
        parts.folds[0].validation = []
        parts.folds[0].train.append(PlanParts.ref("04"))
        parts.folds[1].validation = []
        parts.folds[1].train.append(PlanParts.ref("02"))
        _ = try parts.plan()
    }

    // MARK: - Results

    /// A safetensors file: the 8-byte little-endian header length, the header, the data.
    static func safetensors(header: String, dataBytes: Int) -> Data {
        let h = Array(header.utf8)
        return Data((0..<8).map { UInt8(truncatingIfNeeded: UInt64(h.count) >> (8 * UInt64($0))) } + h + [UInt8](repeating: 1, count: dataBytes))
    }

    static let checkpoint = safetensors(header: #"{"__metadata__": {"format": "pt"}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [24, 32]}, "# +
                                                #""w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}  "#, dataBytes: 32)

    func result(_ plan: RunPlan, fold: UInt32 = 0) -> Sleepfold_FoldResult {
        .with { r in
            r.runID = plan.runID
            r.fold = fold
            r.attempt = 1
            r.checkpoint = Self.checkpoint
            // The three selections of one training: same nights and truth, other predicted stages.
            func predictions(_ stage: UInt8) -> [Sleepfold_RecordingPredictions] {
                plan.folds[Int(fold)].test.map { ref in
                    let n = plan.epochCounts[ref.id]!
                    return .with {
                        $0.recordingID = ref.id
                        $0.trueLabels = Data((0..<n).map { UInt8($0 % Stage.count) })
                        $0.predictedLabels = Data(repeating: stage, count: n)
                        $0.probabilities = Data(repeating: 0, count: n * Stage.count * MemoryLayout<Float>.size)
                    }
                }
            }
            r.predictions = predictions(2)
            r.lastPredictions = predictions(3)
            r.oraclePredictions = predictions(0)
            r.oracleEpoch = 2
        }
    }

    @Test func aSoundResultIsAccepted() throws {
        let plan = try PlanParts().plan()
        try plan.validate(result(plan, fold: 0))
        try plan.validate(result(plan, fold: 1))
        // Journal entries carry no checkpoint (it is on disk).
        var entry = result(plan, fold: 1)
        entry.checkpoint = Data()
        try plan.validate(entry, checkpoint: false)
    }

    static let badResults: [(String, String, @Sendable (inout Sleepfold_FoldResult) -> Void)] = [
        ("another run", "run_id", { $0.runID = "fedcba9876543210" }),
        ("a fold outside the plan", "fold", { $0.fold = 2 }),
        ("a missing test recording", "predictions", { $0.predictions.removeLast() }),
        ("a recording twice", "predictions", { $0.predictions[1] = $0.predictions[0] }),
        ("a recording of another fold", "predictions", { $0.predictions[1].recordingID = "SC4031E0" }),
        ("no epochs", "predictions[SC4011E0]", { p in
            p.predictions[0].trueLabels = Data(); p.predictions[0].predictedLabels = Data(); p.predictions[0].probabilities = Data()
        }),
        ("fewer predicted labels", "predictions[SC4011E0]", { $0.predictions[0].predictedLabels.removeLast() }),
        ("short probabilities", "predictions[SC4021E0]", { $0.predictions[1].probabilities.removeLast(4) }),
        ("a true label outside the stages", "predictions[SC4011E0]", { $0.predictions[0].trueLabels[1] = UInt8(Stage.count) }),
        ("a predicted label outside the stages", "predictions[SC4021E0]", { $0.predictions[1].predictedLabels[2] = 200 }),
        ("one epoch per recording (issue 18)", "predictions[SC4011E0]", { r in
            for i in r.predictions.indices {
                r.predictions[i].trueLabels = Data([2]); r.predictions[i].predictedLabels = Data([2])
                r.predictions[i].probabilities = Data(count: Stage.count * 4)
            }
        }),
        ("a recording with an epoch too many", "predictions[SC4021E0]", { r in
            r.predictions[1].trueLabels.append(0); r.predictions[1].predictedLabels.append(0)
            r.predictions[1].probabilities.append(Data(count: Stage.count * 4))
        }),
        // The other selections, checked as `predictions` are, and with their truth.
        ("no last-epoch predictions (a result of protocol 1)", "last_predictions", { $0.lastPredictions = [] }),
        ("no test-oracle predictions", "oracle_predictions", { $0.oraclePredictions = [] }),
        ("a last-epoch recording of another fold", "last_predictions", { $0.lastPredictions[1].recordingID = "SC4031E0" }),
        ("short last-epoch predictions", "last_predictions[SC4011E0]", { $0.lastPredictions[0].predictedLabels.removeLast() }),
        ("short test-oracle probabilities", "oracle_predictions[SC4021E0]", { $0.oraclePredictions[1].probabilities.removeLast(4) }),
        ("a test-oracle night one epoch short", "oracle_predictions[SC4011E0]", { r in
            r.oraclePredictions[0].trueLabels.removeLast(); r.oraclePredictions[0].predictedLabels.removeLast()
            r.oraclePredictions[0].probabilities.removeLast(Stage.count * 4)
        }),
        ("a last-epoch label outside the stages", "last_predictions[SC4021E0]", { $0.lastPredictions[1].predictedLabels[0] = 5 }),
        ("last-epoch truth other than the predictions'", "last_predictions[SC4011E0]", { r in
            r.lastPredictions[0].trueLabels[2] = (r.lastPredictions[0].trueLabels[2] + 1) % UInt8(Stage.count)
        }),
        ("test-oracle truth other than the predictions'", "oracle_predictions[SC4021E0]", { r in
            r.oraclePredictions[1].trueLabels[0] = (r.oraclePredictions[1].trueLabels[0] + 1) % UInt8(Stage.count)
        }),
        ("no test-oracle epoch", "oracle_epoch", { $0.oracleEpoch = 0 }),
        ("a test-oracle epoch past the run's epochs", "oracle_epoch", { $0.oracleEpoch = 3 }),
        ("no checkpoint", "checkpoint", { $0.checkpoint = Data() }),
        ("a junk checkpoint", "checkpoint", { $0.checkpoint = Data("not a model at all".utf8) }),
        ("a checkpoint header longer than the file", "checkpoint", {
            $0.checkpoint = RunPlanTests.safetensors(header: "{}", dataBytes: 0); $0.checkpoint[0] = 200
        }),
        ("a checkpoint header length near 2^64", "checkpoint", { $0.checkpoint = Data(repeating: 0xFF, count: 64) }),
        ("a checkpoint header that is not JSON", "checkpoint", { $0.checkpoint = RunPlanTests.safetensors(header: "{nope", dataBytes: 0) }),
        ("a checkpoint without tensors", "checkpoint", { $0.checkpoint = RunPlanTests.safetensors(header: "{}", dataBytes: 0) }),
        ("offsets that disagree with the shape", "checkpoint", {
            $0.checkpoint = RunPlanTests.safetensors(header: #"{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#, dataBytes: 8)
        }),
        ("offsets past the data", "checkpoint", {
            $0.checkpoint = RunPlanTests.safetensors(header: #"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#, dataBytes: 8)
        }),
        ("a gap in the data", "checkpoint", {
            $0.checkpoint = RunPlanTests.safetensors(header: #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, dataBytes: 8)
        }),
        ("an unknown dtype", "checkpoint", {
            $0.checkpoint = RunPlanTests.safetensors(header: #"{"w": {"dtype": "F33", "shape": [2], "data_offsets": [0, 8]}}"#, dataBytes: 8)
        }),
        ("metadata that is not strings", "checkpoint", {
            $0.checkpoint = RunPlanTests.safetensors(header: #"{"__metadata__": {"n": 1}, "w": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]}}"#, dataBytes: 8)
        }),
    ]

    @Test(arguments: badResults.indices)
    func anUnsoundResultIsRejectedNamingTheField(index: Int) throws {
        let (name, field, breakIt) = Self.badResults[index]
        let plan = try PlanParts().plan()
        var bad = result(plan)
        breakIt(&bad)
        let error = #expect(throws: SleepfoldError.self, "\(name)") { try plan.validate(bad) }
        #expect(error?.code == .invalidFoldResult && error?.field == field, "\(name): \(error.map(String.init(describing:)) ?? "no error")")
    }
}
