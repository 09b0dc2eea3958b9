import Testing
import Basics
import Recordings
import Evaluation
import Reports

/// A small cohort: subjects "00"…"05", two nights each, `epochs` epochs per night,
/// predictions right about 70 % of the time; one fold can be left unpredicted.
struct SmallRun {
    let plan: FoldPlan
    let recordingSubjects: [String: String]
    let predictions: [Prediction]

    init(selection: SelectionMode = .validation, epochs: Int = 40, skipFold: Int? = nil, seed: UInt64 = 11) throws {
        let subjects = (0..<6).map { "0\($0)" }
        plan = try FoldPlan(subjects: subjects, folds: 3, kind: .seeded, seed: seed, selection: selection)
        var map: [String: String] = [:]
        for s in subjects { for night in 1...2 { map["SC4\(s)\(night)E0"] = s } }
        recordingSubjects = map
        var rng = SeededGenerator(seed: seed)
        var result: [Prediction] = []
        for (recording, subject) in map.sorted(by: { $0.key < $1.key }) {
            let fold = plan.fold(testing: subject) ?? -1
            if fold == skipFold { continue }
            for epoch in 0..<epochs {
                let truth = Stage(rawValue: Int32(rng.next() % 5)) ?? .wake
                let predicted = rng.nextUnitDouble() < 0.7 ? truth : (Stage(rawValue: Int32(rng.next() % 5)) ?? .wake)
                var p = (0..<5).map { _ in rng.nextUnitFloat() }
                let sum = p.reduce(0, +)
                p = p.map { $0 / sum }
                result.append(try Prediction(recording: recording, epoch: epoch, fold: fold, truth: truth,
                                             predicted: predicted, probabilities: p))
            }
        }
        predictions = result
    }

    func evaluation() throws -> Evaluation {
        try Evaluation(predictions: predictions, plan: plan, recordingSubjects: recordingSubjects)
    }
}

@Test func evaluationPoolsPerFoldAndPerSubject() throws {
    let run = try SmallRun()
    let e = try run.evaluation()
    let pairs = { (ps: [Prediction]) in ps.map { (truth: $0.truth, predicted: $0.predicted) } }
    #expect(e.pooled == Metrics(pairs: pairs(run.predictions)))
    #expect(e.pooled.epochs == 12 * 40)
    #expect(e.folds.count == 3)
    for fold in run.plan.folds {
        #expect(e.folds[fold.index] == Metrics(pairs: pairs(run.predictions.filter { $0.fold == fold.index })))
    }
    #expect(e.subjects.map(\.subject) == ["00", "01", "02", "03", "04", "05"])
    for s in e.subjects {
        #expect(s.recordings == ["SC4\(s.subject)1E0", "SC4\(s.subject)2E0"])
        #expect(s.fold == run.plan.fold(testing: s.subject))
        #expect(s.metrics == Metrics(pairs: pairs(run.predictions.filter { run.recordingSubjects[$0.recording] == s.subject })))
    }
    #expect(e.overFolds == FoldStatistics(folds: e.folds))
    #expect(e.overFolds.accuracy.n == 3)
    // Input order does not matter.
    let reversed = try Evaluation(predictions: run.predictions.reversed(), plan: run.plan, recordingSubjects: run.recordingSubjects)
    #expect(reversed == e)
}

@Test func aFoldWithoutPredictionsIsEmptyAndLeftOutOfTheMeans() throws {
    let run = try SmallRun(skipFold: 1)
    let e = try run.evaluation()
    #expect(e.folds[1].epochs == 0 && e.folds[1].accuracy == nil)
    #expect(e.overFolds.accuracy.n == 2)
    #expect(e.overFolds.accuracy == MeanSD([e.folds[0].accuracy ?? -1, e.folds[2].accuracy ?? -1]))
    let untested = e.subjects.filter { $0.fold == 1 }
    #expect(untested.count == 2 && untested.allSatisfy { $0.metrics.epochs == 0 && $0.recordings.count == 2 })
}

@Test func predictionsThatDoNotFitThePlanAreRejected() throws {
    let run = try SmallRun()
    let p = run.predictions[0]
    func code(_ predictions: [Prediction], map: [String: String]? = nil) -> SleepfoldError.Code? {
        do {
            _ = try Evaluation(predictions: predictions, plan: run.plan, recordingSubjects: map ?? run.recordingSubjects)
            return nil
        } catch {
            #expect(error.file == nil && error.field?.hasPrefix("recording ") == true, "\(error)")
            #expect(error.message.hasPrefix("found ") && error.message.contains(", expected "), "\(error)")
            return error.code
        }
    }
    let stranger = try Prediction(recording: "SC4991E0", epoch: 0, fold: p.fold, truth: .wake, predicted: .wake, probabilities: p.probabilities)
    #expect(code(run.predictions + [stranger]) == .unknownRecording)
    let wrongFold = try Prediction(recording: p.recording, epoch: 999, fold: (p.fold + 1) % 3, truth: .wake, predicted: .wake, probabilities: p.probabilities)
    #expect(code(run.predictions + [wrongFold]) == .wrongFold)
    #expect(code(run.predictions + [p]) == .duplicatePrediction)
    var map = run.recordingSubjects
    map["SC4991E0"] = "99"
    #expect(code(run.predictions, map: map) == .unknownSubject)
    #expect(code(run.predictions) == nil)
    let duplicate = try #require(throws: SleepfoldError.self) {
        try Evaluation(predictions: run.predictions + [p], plan: run.plan, recordingSubjects: run.recordingSubjects)
    }
    #expect(duplicate.description == "recording \(p.recording) epoch \(p.epoch): found a second prediction, expected one prediction per epoch")
}
