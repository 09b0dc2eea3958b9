import Basics
/// The metrics of one subject: its test fold, its recordings and their scores.
public struct SubjectMetrics: Codable, Equatable, Hashable, Sendable {
    /// Subject id, e.g. "00".
    public let subject: String
    /// The fold that tests this subject.
    public let fold: Int
    /// The subject's recordings (all of them, predicted or not), sorted.
    public let recordings: [String]
    /// Scores of the subject's predicted epochs.
    public let metrics: Metrics

    public init(subject: String, fold: Int, recordings: [String], metrics: Metrics) {
        self.subject = subject
        self.fold = fold
        self.recordings = recordings
        self.metrics = metrics
    }
}

/// All the metrics a report gives, computed from the predictions alone (with the
/// fold plan and the recording → subject map), so that a report can always be
/// rebuilt from predictions.csv.
///
/// A fold or subject without predictions (a run still going, a fold that failed)
/// gets empty metrics (0 epochs, undefined scores) and does not count in the
/// mean ± sd over folds; `MeanSD.n` tells how many folds did.
public struct Evaluation: Equatable, Sendable {
    /// Pooled over all predictions of all folds, as the papers report.
    public let pooled: Metrics
    /// One entry per fold of the plan, index = fold number.
    public let folds: [Metrics]
    /// One entry per subject of the plan, sorted by subject id.
    public let subjects: [SubjectMetrics]
    /// Mean ± sd of the per-fold scores.
    public let overFolds: FoldStatistics

    /// Computes every metric of the report.
    ///
    /// - Parameters:
    ///   - predictions: test-epoch predictions, in any order.
    ///   - plan: the fold plan of the run.
    ///   - recordingSubjects: the subject of every recording of the cohort.
    /// - Throws: `SleepfoldError` (`.unknownRecording`, `.unknownSubject`, `.wrongFold`,
    ///   `.duplicatePrediction`; no file, the recording and epoch as the field) when a
    ///   prediction's recording is not in
    ///   `recordingSubjects`, a recording's subject is not in the plan, a prediction's
    ///   fold is not the fold that tests its subject, or one (recording, epoch) is
    ///   predicted twice.
    public init(predictions: [Prediction], plan: FoldPlan,
                recordingSubjects: [String: String]) throws(SleepfoldError) {
        var foldOfSubject: [String: Int] = [:]
        for fold in plan.folds {
            for subject in fold.test { foldOfSubject[subject] = fold.index }
        }
        var recordingsOfSubject: [String: [String]] = [:]
        // Sorted, so that the error names the same recording every time.
        for (recording, subject) in recordingSubjects.sorted(by: { $0.key < $1.key }) {
            guard foldOfSubject[subject] != nil else {
                throw SleepfoldError(.unknownSubject, field: "recording \(recording)",
                                     found: "subject \"\(subject)\", which the fold plan does not test",
                                     expected: "one of its \(foldOfSubject.count) subjects")
            }
            recordingsOfSubject[subject, default: []].append(recording)
        }

        var foldMatrices = Array(repeating: ConfusionMatrix(), count: plan.folds.count)
        var subjectMatrices: [String: ConfusionMatrix] = [:]
        var seen = Set<EpochKey>()
        seen.reserveCapacity(predictions.count)
        for p in predictions {
            guard let subject = recordingSubjects[p.recording], let fold = foldOfSubject[subject] else {
                throw SleepfoldError(.unknownRecording, field: "recording \(p.recording) epoch \(p.epoch)",
                                     found: "a prediction for a recording the cohort does not have",
                                     expected: "predictions for recordings of the cohort")
            }
            if p.fold != fold {
                throw SleepfoldError(.wrongFold, field: "recording \(p.recording) epoch \(p.epoch)", found: "fold \(p.fold)",
                                     expected: "fold \(fold), which tests subject \"\(subject)\"")
            }
            if !seen.insert(EpochKey(recording: p.recording, epoch: p.epoch)).inserted {
                throw SleepfoldError(.duplicatePrediction, field: "recording \(p.recording) epoch \(p.epoch)",
                                     found: "a second prediction", expected: "one prediction per epoch")
            }
            foldMatrices[fold].add(truth: p.truth, predicted: p.predicted)
            subjectMatrices[subject, default: ConfusionMatrix()].add(truth: p.truth, predicted: p.predicted)
        }

        var pooledMatrix = ConfusionMatrix()
        for matrix in foldMatrices { pooledMatrix.add(matrix) }
        pooled = Metrics(confusion: pooledMatrix)
        folds = foldMatrices.map { Metrics(confusion: $0) }
        subjects = foldOfSubject.keys.sorted().map { subject in
            SubjectMetrics(subject: subject, fold: foldOfSubject[subject] ?? 0,
                           recordings: (recordingsOfSubject[subject] ?? []).sorted(),
                           metrics: Metrics(confusion: subjectMatrices[subject] ?? ConfusionMatrix()))
        }
        overFolds = FoldStatistics(folds: folds)
    }

    private struct EpochKey: Hashable {
        let recording: String
        let epoch: Int
    }
}

// Why predictions do not fit the fold plan or the cohort.
extension SleepfoldError.Code {
    /// A prediction names a recording missing from the recording → subject map.
    public static let unknownRecording = Self("unknownRecording")
    /// A recording's subject is not tested by any fold of the plan.
    public static let unknownSubject = Self("unknownSubject")
    /// A prediction's fold is not the one that tests its subject.
    public static let wrongFold = Self("wrongFold")
    /// One (recording, epoch) has two predictions.
    public static let duplicatePrediction = Self("duplicatePrediction")
}
