import Foundation
import Basics
import Evaluation
import Shared

extension SleepfoldError.Code {
    /// A run plan breaks one of `RunPlan`'s rules (folds, recordings, epochs, selection, config).
    public static let invalidRunPlan = Self("invalidRunPlan")
    /// A fold result does not fit the run plan (run id, fold, test recordings, label counts).
    public static let invalidFoldResult = Self("invalidFoldResult")
}

/// Everything the coordinator hands out: the folds with their recordings,
/// the config and the seeds. Built by the command line from the cohort and
/// the fold plan; the same data, plan, config and seed give the same `runID`,
/// which is how a restarted coordinator knows its journal belongs to it.
///
/// A plan is checked whole when it is made (`init` throws), so the runtime and
/// the commands can trust it; results coming back are checked against it
/// (`validate(_:)`).
public struct RunPlan: Sendable {
    /// A fold's recordings, as positions in a list of recordings that every fold of a plan
    /// made by `RunSetup` shares: a study of 10,000 tasks of 125 recordings held 1.25 million
    /// `RecordingRef`s (113 MB, Benchmarks/load/README.md), and holds them 4 bytes each.
    public struct Fold: Sendable {
        /// The recordings the positions point into (one array, shared, for a `RunSetup` plan).
        private var recordings: [Sleepfold_RecordingRef]
        private var trainAt: [Int32], validationAt: [Int32], testAt: [Int32]
        /// Work estimate used to run the longest folds first (training epochs).
        public var cost: Int

        public var train: [Sleepfold_RecordingRef] {
            get { trainAt.map { recordings[Int($0)] } }
            set { trainAt = add(newValue) }
        }
        public var validation: [Sleepfold_RecordingRef] {
            get { validationAt.map { recordings[Int($0)] } }
            set { validationAt = add(newValue) }
        }
        public var test: [Sleepfold_RecordingRef] {
            get { testAt.map { recordings[Int($0)] } }
            set { testAt = add(newValue) }
        }

        public init(train: [Sleepfold_RecordingRef], validation: [Sleepfold_RecordingRef],
                    test: [Sleepfold_RecordingRef], cost: Int) {
            recordings = []
            trainAt = []; validationAt = []; testAt = []
            self.cost = cost
            self.train = train
            self.validation = validation
            self.test = test
        }

        /// A fold of `recordings` (shared with the plan's other folds) at the positions given.
        /// - Precondition: every position is one of `recordings`.
        public init(recordings: [Sleepfold_RecordingRef], train: [Int32], validation: [Int32], test: [Int32], cost: Int) {
            precondition((train + validation + test).allSatisfy { recordings.indices.contains(Int($0)) },
                         "a fold's recording outside its list")
            self.recordings = recordings
            trainAt = train; validationAt = validation; testAt = test
            self.cost = cost
        }

        /// `refs` added to `recordings`; their positions.
        private mutating func add(_ refs: [Sleepfold_RecordingRef]) -> [Int32] {
            let first = recordings.count
            recordings += refs
            return refs.indices.map { Int32(first + $0) }
        }
    }

    public let runID: String
    public let folds: [Fold]
    public let configJSON: String
    public let seed: UInt64
    /// A `SelectionMode` raw value: validation, last or test-oracle.
    public let selection: String
    public let epochs: Int
    /// Recording id → file the coordinator serves to workers without shared storage.
    public let files: [String: URL]
    /// Recording id → its number of 30-s epochs (labels): what a result must predict.
    public let epochCounts: [String: Int]

    /// A plan, checked whole.
    ///
    /// - Throws: `SleepfoldError` with code `.invalidRunPlan` naming the first problem
    ///   (every further one in `problems`) when: the run id is empty; there is no fold;
    ///   `epochs` is below 1; `selection` is not a `SelectionMode`; `configJSON` is not
    ///   a JSON object; a fold has no training or no test recordings, or no validation
    ///   recordings while the selection needs them; a fold puts one subject or recording
    ///   in two of train, validation and test, or leaves out a recording of `files`; a
    ///   recording has no id, no SHA-256 content hash, no size or no file, or is described
    ///   differently in two folds, or has no epoch count of at least 1 in `epochCounts`;
    ///   or a recording of `files` is tested in no fold or in more than one.
    public init(runID: String, folds: [Fold], configJSON: String, seed: UInt64,
                selection: String, epochs: Int, files: [String: URL], epochCounts: [String: Int]) throws {
        self.runID = runID
        self.folds = folds
        self.configJSON = configJSON
        self.seed = seed
        self.selection = selection
        self.epochs = epochs
        self.files = files
        self.epochCounts = epochCounts
        let problems = self.problems()
        if var first = problems.first {
            first.problems = Array(problems.dropFirst())
            throw first
        }
    }

    /// Fold k's seed: derived from the run seed and k only, so a fold gives the
    /// same result whichever worker runs it and however often it restarts.
    public func seed(ofFold fold: Int) -> UInt64 {
        var g = SeededGenerator(seed: seed, stream: UInt64(fold))
        return g.next()
    }

    /// Fold `fold`'s state fingerprint, as its task has it (`Sleepfold_FoldTask.stateFingerprint`),
    /// without building the task (which lists every recording of the fold).
    public func stateFingerprint(fold: Int) -> String {
        Sleepfold_FoldTask.with { t in
            t.runID = runID
            t.fold = UInt32(fold)
            t.seed = seed(ofFold: fold)
        }.stateFingerprint
    }

    /// The task of fold `fold` (0-based, in `folds.indices`) for its `attempt`-th try (1 for the first).
    public func task(fold: Int, attempt: Int) -> Sleepfold_FoldTask {
        .with { t in
            t.runID = runID
            t.fold = UInt32(fold)
            t.foldCount = UInt32(folds.count)
            t.attempt = UInt32(attempt)
            t.train = folds[fold].train
            t.validation = folds[fold].validation
            t.test = folds[fold].test
            t.configJson = configJSON
            t.seed = seed(ofFold: fold)
            t.selection = selection
            t.epochs = UInt32(epochs)
        }
    }

    // MARK: - Checking the plan

    /// Every rule the plan breaks, in a fixed order; empty for a sound plan.
    private func problems() -> [SleepfoldError] {
        var problems: [SleepfoldError] = []
        func problem(_ field: String, in file: String = "run plan", found: String, expected: String) {
            problems.append(SleepfoldError(.invalidRunPlan, file: file, field: field, found: found, expected: expected))
        }
        func check(_ ref: Sleepfold_RecordingRef) {
            let file = files[ref.id]?.path ?? "recording \(ref.id.isEmpty ? "(no id)" : ref.id)"
            if ref.id.isEmpty { problem("id", in: file, found: "an empty recording id", expected: "the file name without extension") }
            if files[ref.id] == nil {
                problem("files", in: file, found: "no file for recording \(ref.id)", expected: "a file for every recording of the folds")
            }
            if !Self.isSHA256(ref.sha256) {
                problem("sha256", in: file, found: ref.sha256.isEmpty ? "no content hash" : "\"\(ref.sha256)\"",
                        expected: "the file's SHA-256 as 64 lowercase hex digits (scan the cohort with content hashes)")
            }
            if ref.sizeBytes == 0 { problem("sizeBytes", in: file, found: "0", expected: "the file's size in bytes (above 0)") }
            if (epochCounts[ref.id] ?? 0) < 1 {
                problem("epochCounts", in: file, found: epochCounts[ref.id].map { "\($0) epochs" } ?? "no epoch count",
                        expected: "the recording's number of epochs (at least 1)")
            }
        }

        if runID.isEmpty { problem("runID", found: "an empty run id", expected: "the run's hash of data, plan, config and seed") }
        if folds.isEmpty { problem("folds", found: "no fold", expected: "at least one fold") }
        if epochs < 1 {
            problem("epochs", found: "\(epochs)", expected: "at least 1 training epoch (the config's training.epochs or --epochs)")
        }
        let mode = SelectionMode(rawValue: selection)
        if mode == nil {
            problem("selection", found: "\"\(selection)\"",
                    expected: SelectionMode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let config = try? JSONSerialization.jsonObject(with: Data(configJSON.utf8))
        if !(config is [String: Any]) {
            problem("configJSON", found: config == nil ? "text that is not JSON" : "JSON that is not an object",
                    expected: "a JSON object (an experiment config: model and training)")
        }

        // Each fold: its sets filled, subject-wise disjoint, together every recording;
        // a recording described alike in every fold. Recordings and subjects are numbered
        // when first met, and each fold marks them in arrays (stamped with the fold): a
        // study's plans list hundreds of thousands of recordings, too many for dictionaries
        // of strings made afresh for each fold.
        var position: [String: Int] = [:], subjectPosition: [String: Int] = [:]
        var described: [Sleepfold_RecordingRef] = [], served: [Bool] = [], subjectOf: [Int] = []
        var recordingRole: [(fold: Int, role: Int)] = [], subjectRole: [(fold: Int, role: Int)] = []
        var testedIn: [[Int]] = []
        func subject(_ id: String) -> Int {
            if let s = subjectPosition[id] { return s }
            subjectPosition[id] = subjectRole.count
            subjectRole.append((-1, 0))
            return subjectRole.count - 1
        }
        for (k, fold) in folds.enumerated() {
            let sets = [("train", fold.train), ("validation", fold.validation), ("test", fold.test)]
            for (name, refs) in sets where refs.isEmpty {
                if name == "validation" && mode?.needsValidationSubjects != true { continue }
                problem("folds[\(k)].\(name)", found: "no recording",
                        expected: name == "validation" ? "at least one with selection \"\(selection)\"" : "at least one")
            }
            var inFold = 0, allServed = true
            for (role, (name, refs)) in sets.enumerated() {
                for ref in refs {
                    let p: Int, s: Int
                    if let known = position[ref.id] {
                        p = known
                        if described[p] == ref {
                            s = subjectOf[p]
                        } else {
                            problem("folds[\(k)]", found: "recording \(ref.id) described otherwise than in an earlier fold",
                                    expected: "one subject, hash, size and file name per recording")
                            s = subject(ref.subject)
                        }
                    } else {
                        p = described.count
                        s = subject(ref.subject)
                        position[ref.id] = p
                        described.append(ref)
                        served.append(files[ref.id] != nil)
                        subjectOf.append(s)
                        recordingRole.append((-1, 0))
                        testedIn.append([])
                        check(ref)
                    }
                    if recordingRole[p].fold == k {
                        problem("folds[\(k)]", found: "recording \(ref.id) in \(sets[recordingRole[p].role].0) and \(name)",
                                expected: "each recording in one of train, validation and test")
                    } else {
                        recordingRole[p] = (k, role)
                        inFold += 1
                        allServed = allServed && served[p]
                        if subjectRole[s].fold == k, subjectRole[s].role != role {
                            problem("folds[\(k)]", found: "subject \(ref.subject) in \(sets[subjectRole[s].role].0) and \(name)",
                                    expected: "all of a subject's recordings in one of train, validation and test")
                        }
                    }
                    if subjectRole[s].fold != k { subjectRole[s] = (k, role) }
                    if role == 2 { testedIn[p].append(k) }
                }
            }
            if inFold != files.count || !allServed {
                problem("folds[\(k)]", found: "\(inFold) recordings in train, validation and test",
                        expected: "the run's \(files.count) recordings, each in one of them")
            }
        }

        // Folds against recordings: each served recording tested exactly once.
        for id in files.keys.sorted() {
            let tested = position[id].map { testedIn[$0] } ?? []
            if tested.count != 1 {
                problem("folds", in: files[id]!.path,
                        found: tested.isEmpty ? "recording \(id) tested in no fold"
                                              : "recording \(id) tested in folds \(tested.map(String.init).joined(separator: ", "))",
                        expected: "each recording tested in exactly one fold")
            }
        }
        return problems
    }

    private static func isSHA256(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    // MARK: - Checking results

    /// Checks a fold result against the plan: this run's id, a fold of the plan,
    /// predictions for exactly the fold's test recordings, and for each of them one
    /// true label per epoch of the recording (`epochCounts`), as many predicted labels
    /// and `Stage.count` float32 probabilities per epoch, every label a `Stage`; the
    /// same for the other selections' predictions (`last_predictions`,
    /// `oracle_predictions`), whose true labels must be those of `predictions`, and an
    /// `oracle_epoch` in 1...epochs; and (with `checkpoint`) a checkpoint that is a
    /// well-formed safetensors file.
    /// Journal entries carry no checkpoint (it is on disk): they are checked without.
    ///
    /// - Throws: `SleepfoldError` with code `.invalidFoldResult`, naming the field.
    public func validate(_ result: Sleepfold_FoldResult, checkpoint: Bool = true) throws {
        func invalid(_ field: String, found: String, expected: String) -> SleepfoldError {
            SleepfoldError(.invalidFoldResult, file: "fold \(result.fold) result", field: field, found: found, expected: expected)
        }
        guard result.runID == runID else {
            throw invalid("run_id", found: "\"\(result.runID)\"", expected: "\"\(runID)\"")
        }
        guard folds.indices.contains(Int(result.fold)) else {
            throw invalid("fold", found: "\(result.fold)", expected: "a fold in 0..<\(folds.count)")
        }
        let expected = Set(folds[Int(result.fold)].test.map(\.id))
        let probabilityBytes = Stage.count * MemoryLayout<Float>.size
        /// One selection's predictions: one per test recording, each with the recording's epochs.
        func check(_ predictions: [Sleepfold_RecordingPredictions], field: String) throws {
            let got = predictions.map(\.recordingID)
            guard Set(got) == expected, got.count == expected.count else {
                throw invalid(field, found: "predictions for \(got.sorted())",
                              expected: "one for each test recording \(expected.sorted())")
            }
            for p in predictions {
                let n = p.trueLabels.count
                guard let count = epochCounts[p.recordingID], n == count else {
                    throw invalid("\(field)[\(p.recordingID)]", found: "\(n) true labels",
                                  expected: "one per epoch of the recording: \(epochCounts[p.recordingID] ?? 0)")
                }
                guard n > 0, p.predictedLabels.count == n, p.probabilities.count == n * probabilityBytes else {
                    throw invalid("\(field)[\(p.recordingID)]",
                                  found: "\(n) true labels, \(p.predictedLabels.count) predicted, \(p.probabilities.count) probability bytes",
                                  expected: "n > 0 true labels, n predicted, \(probabilityBytes) × n probability bytes")
                }
                guard p.trueLabels.allSatisfy({ $0 < Stage.count }), p.predictedLabels.allSatisfy({ $0 < Stage.count }) else {
                    throw invalid("\(field)[\(p.recordingID)]", found: "a label outside 0..<\(Stage.count)",
                                  expected: "stages 0…\(Stage.count - 1) (\(Stage.allCases.map(\.name).joined(separator: ", ")))")
                }
            }
        }
        try check(result.predictions, field: "predictions")
        // The other selections come from the same training on the same test nights:
        // the same truth, whatever the epoch that predicted them.
        let truth = Dictionary(uniqueKeysWithValues: result.predictions.map { ($0.recordingID, $0.trueLabels) })
        for (field, predictions) in [("last_predictions", result.lastPredictions), ("oracle_predictions", result.oraclePredictions)] {
            try check(predictions, field: field)
            for p in predictions where p.trueLabels != truth[p.recordingID] {
                throw invalid("\(field)[\(p.recordingID)]", found: "true labels other than those of predictions",
                              expected: "the test night's labels, as in predictions")
            }
        }
        guard (1...epochs).contains(Int(result.oracleEpoch)) else {
            throw invalid("oracle_epoch", found: "\(result.oracleEpoch)", expected: "an epoch in 1...\(epochs)")
        }
        if checkpoint, let problem = SafetensorsFraming.problem(in: result.checkpoint) {
            throw invalid("checkpoint", found: problem, expected: "a safetensors file of the chosen model")
        }
    }
}
