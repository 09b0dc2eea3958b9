import Foundation
import Testing
import Basics
import Evaluation

/// Predictions of one night from its true and predicted stages, epochs 0, 1, … (or `epochs`).
private func night(_ recording: String, fold: Int = 0, truth: [Stage], predicted: [Stage],
                   epochs: [Int]? = nil) throws -> [Prediction] {
    let indices = epochs ?? Array(truth.indices)
    return try zip(indices, zip(truth, predicted)).map { epoch, pair in
        try Prediction(recording: recording, epoch: epoch, fold: fold, truth: pair.0, predicted: pair.1,
                       probabilities: [0.2, 0.2, 0.2, 0.2, 0.2])
    }
}

/// Night A, 10 epochs with 2 transitions (W→N1 between epochs 2|3, N1→N2 between 4|5):
/// epochs 2, 3, 4, 5 are at a transition, 0, 1, 6…9 stable. Errors at 2 (W as N1,
/// transition), 4 (N1 as N2, transition) and 8 (N2 as W, stable).
private func nightA() throws -> [Prediction] {
    try night("A", truth: [.wake, .wake, .wake, .n1, .n1, .n2, .n2, .n2, .n2, .n2],
              predicted: [.wake, .wake, .n1, .n1, .n2, .n2, .n2, .n2, .wake, .n2])
}

/// Night B, 6 epochs all N2 (no transition): N2 predicted as N1 at epochs 0, 1 and 5.
private func nightB() throws -> [Prediction] {
    try night("B", fold: 1, truth: Array(repeating: .n2, count: 6), predicted: [.n1, .n1, .n2, .n2, .n2, .n1])
}

@Test func transitionsAndStableEpochsOfATenEpochNight() throws {
    let analysis = ErrorAnalysis(predictions: try nightA(), recordingSubjects: ["A": "01"])
    #expect(analysis.transitions.epochs == 4 && analysis.stable.epochs == 6)
    #expect(analysis.transitions.accuracy == 0.5)           // right at 3 and 5, wrong at 2 and 4
    #expect(analysis.stable.accuracy == 5.0 / 6.0)          // wrong at 8 only
    #expect(analysis.errors == 3)
    #expect(analysis.transitionErrorShare == 2.0 / 3.0)
    // The transition epochs by hand: truth W W N1 N1 at 2…5, predicted N1 N1 N2 N2.
    let pairs: [(truth: Stage, predicted: Stage)] = [(.wake, .n1), (.n1, .n1), (.n1, .n2), (.n2, .n2)]
    #expect(analysis.transitions == Metrics(pairs: pairs))
    // Three kinds of error, once each: tied, so in stage order of the true stage.
    #expect(analysis.topConfusions.map { "\($0.truth.name)>\($0.predicted.name)" } == ["W>N1", "N1>N2", "N2>W"])
    // Epoch e of 10 lies in fifth e / 2: errors at 2, 4, 8 in fifths 1, 2, 4.
    #expect(analysis.topConfusions.map(\.perFifth) == [[0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1]])
    let hours: [Double] = [2, 4, 8].map { Double($0) * 30 / 3600 }
    #expect(analysis.topConfusions.map(\.meanHours) == hours)
    #expect(analysis.worstNights == [ErrorAnalysis.Night(recording: "A", subject: "01", fold: 0,
                                                          metrics: Metrics(pairs: try nightA().map { ($0.truth, $0.predicted) }))])
}

@Test func twoNightsPoolTransitionsConfusionsAndRankTheNights() throws {
    // Shuffled input: the analysis orders each night by epoch itself.
    var rng = SeededGenerator(seed: 5)
    let predictions = try (nightA() + nightB()).shuffled(using: &rng)
    let analysis = ErrorAnalysis(predictions: predictions, recordingSubjects: ["A": "01", "B": "02"])
    #expect(analysis.transitions.epochs == 4 && analysis.transitions.accuracy == 0.5)
    #expect(analysis.stable.epochs == 12 && analysis.stable.accuracy == 8.0 / 12.0)
    #expect(analysis.errors == 6 && analysis.transitionErrorShare == 2.0 / 6.0)

    let top = analysis.topConfusions
    #expect(top.count == 4)
    #expect(top.map { "\($0.truth.name)>\($0.predicted.name)" } == ["N2>N1", "W>N1", "N1>N2", "N2>W"])
    #expect(top.map(\.count) == [3, 1, 1, 1])
    let sixth: Double = 1.0 / 6
    #expect(top.map(\.shareOfErrors) == [0.5, sixth, sixth, sixth])
    // Night B has 6 epochs: epoch e in fifth ⌊5e / 6⌋, so errors at 0, 1, 5 lie in fifths 0, 0, 4.
    #expect(top[0].perFifth == [2, 0, 0, 0, 1])
    // N2 epochs: A's 5…9 in fifths 2, 3, 3, 4, 4; B's 0…5 in fifths 0, 0, 1, 2, 3, 4.
    #expect(top[0].truthEpochsPerFifth == [2, 1, 2, 3, 3])
    #expect(top[3].truthEpochsPerFifth == [2, 1, 2, 3, 3])
    #expect(top[1].truthEpochsPerFifth == [2, 1, 0, 0, 0])   // W at A's epochs 0, 1, 2
    // Errors at 0, 30 and 150 s: a mean of 60 s.
    #expect(abs(top[0].meanHours - 60.0 / 3600) < 1e-15)

    // B (3 of 6 right) is worse than A (7 of 10).
    #expect(analysis.worstNights.map(\.recording) == ["B", "A"])
    #expect(analysis.worstNights.map(\.subject) == ["02", "01"])
    #expect(analysis.worstNights.map(\.fold) == [1, 0])
    #expect(analysis.worstNights[0].metrics.accuracy == 0.5 && analysis.worstNights[0].metrics.epochs == 6)
    #expect(analysis.worstNights[1].metrics.accuracy == 0.7)

    // Fewer asked for: the worst first, the most frequent first.
    let short = ErrorAnalysis(predictions: predictions, recordingSubjects: ["A": "01"], worstNights: 1, topConfusions: 2)
    #expect(short.worstNights.map(\.recording) == ["B"] && short.worstNights[0].subject == nil)
    #expect(short.topConfusions.map(\.count) == [3, 1])
    #expect(short.transitions == analysis.transitions && short.stable == analysis.stable)
}

@Test func nightsOfEqualAccuracyAreRankedById() throws {
    let a = try night("n2", truth: [.wake, .wake], predicted: [.wake, .n1])
    let b = try night("n1", truth: [.n3, .n3], predicted: [.n2, .n3])
    let c = try night("n0", truth: [.rem, .rem], predicted: [.rem, .rem])
    let analysis = ErrorAnalysis(predictions: a + b + c, recordingSubjects: [:], worstNights: 3)
    #expect(analysis.worstNights.map(\.recording) == ["n1", "n2", "n0"])
    #expect(analysis.worstNights.map(\.metrics.accuracy) == [0.5, 0.5, 1])
}

@Test func aMissingEpochIsNoTransitionAndADuplicateCountsOnce() throws {
    // Epoch 2 has no prediction: 1 (W) and 3 (N1) are not neighbours, so nothing is at a transition.
    var predictions = try night("gap", truth: [.wake, .wake, .n1, .n1], predicted: [.wake, .n1, .n1, .n1], epochs: [0, 1, 3, 4])
    #expect(ErrorAnalysis(predictions: predictions, recordingSubjects: [:]).transitions.epochs == 0)
    // With epoch 2 predicted (N1), epochs 1 and 2 are at the transition.
    let filled = try night("gap", truth: [.n1], predicted: [.wake], epochs: [2])
    let full = ErrorAnalysis(predictions: predictions + filled, recordingSubjects: [:])
    #expect(full.transitions.epochs == 2 && full.transitions.accuracy == 0)
    // A second prediction of epoch 1 is ignored: the first one counts.
    predictions += try night("gap", truth: [.n3], predicted: [.n3], epochs: [1])
    let deduplicated = ErrorAnalysis(predictions: predictions, recordingSubjects: [:])
    #expect(deduplicated.stable.epochs == 4 && deduplicated.errors == 1)
    #expect(deduplicated.topConfusions.map { "\($0.truth.name)>\($0.predicted.name)" } == ["W>N1"])
}

@Test func noErrorsAndNoPredictionsAreDefined() throws {
    let perfect = ErrorAnalysis(predictions: try night("p", truth: [.wake, .n1, .n1], predicted: [.wake, .n1, .n1]),
                                recordingSubjects: [:])
    #expect(perfect.errors == 0 && perfect.transitionErrorShare == nil && perfect.topConfusions.isEmpty)
    // W N1 N1: epochs 0 and 1 at the transition, 2 stable.
    #expect(perfect.transitions.epochs == 2 && perfect.transitions.accuracy == 1 && perfect.stable.epochs == 1)
    let empty = ErrorAnalysis(predictions: [], recordingSubjects: [:])
    #expect(empty.transitions.epochs == 0 && empty.stable.accuracy == nil)
    #expect(empty.worstNights.isEmpty && empty.topConfusions.isEmpty && empty.transitionErrorShare == nil)
}

@Test func jsonNamesStagesAndRoundTrips() throws {
    let analysis = ErrorAnalysis(predictions: try nightA() + nightB(), recordingSubjects: ["A": "01"])
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(analysis)
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    #expect(Set(json.keys) == ["transitions", "stable", "errors", "transition_error_share", "top_confusions", "worst_nights"])
    let first = try #require((json["top_confusions"] as? [[String: Any]])?.first)
    #expect(Set(first.keys) == ["truth", "predicted", "count", "share_of_errors", "per_fifth",
                                "truth_epochs_per_fifth", "mean_hours"])
    #expect(first["truth"] as? String == "N2" && first["predicted"] as? String == "N1")
    // B has no subject in the map: an explicit null.
    let nights = try #require(json["worst_nights"] as? [[String: Any]])
    #expect(nights[0]["recording"] as? String == "B" && nights[0]["subject"] is NSNull)
    #expect(try JSONDecoder().decode(ErrorAnalysis.self, from: data) == analysis)

    // Without errors the share is null, not left out.
    let perfect = ErrorAnalysis(predictions: try night("p", truth: [.wake], predicted: [.wake]), recordingSubjects: [:])
    let perfectJSON = try #require(try JSONSerialization.jsonObject(with: encoder.encode(perfect)) as? [String: Any])
    #expect(perfectJSON["transition_error_share"] is NSNull)

    // A stage name that is not one, or a per-fifth list of another length, is refused.
    let text = String(decoding: data, as: UTF8.self)
    let badStage = text.replacingOccurrences(of: "\"truth\":\"N2\"", with: "\"truth\":\"N4\"")
    #expect(badStage != text)
    #expect(throws: DecodingError.self) { try JSONDecoder().decode(ErrorAnalysis.self, from: Data(badStage.utf8)) }
    let badFifths = text.replacingOccurrences(of: "\"per_fifth\":[2,0,0,0,1]", with: "\"per_fifth\":[2,0,0,1]")
    #expect(badFifths != text)
    #expect(throws: DecodingError.self) { try JSONDecoder().decode(ErrorAnalysis.self, from: Data(badFifths.utf8)) }
}
