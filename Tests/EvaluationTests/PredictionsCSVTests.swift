import Foundation
import Testing
import Basics
import Evaluation
import TestSupport

/// Predictions with probabilities drawn from all kinds of finite Floats: softmax-like
/// values, tiny and subnormal ones, exact 0 and 1, -0.0, random bit patterns.
private func samplePredictions(count: Int, seed: UInt64) throws -> [Prediction] {
    var rng = SeededGenerator(seed: seed)
    var result: [Prediction] = []
    for i in 0..<count {
        var probabilities: [Float] = []
        for j in 0..<Stage.count {
            switch (i + j) % 7 {
            case 0: probabilities.append(rng.nextUnitFloat())
            case 1: probabilities.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0x7F7F_FFFF))
            case 2: probabilities.append(Float.leastNonzeroMagnitude * Float(rng.next() % 1000 + 1))
            case 3: probabilities.append(i % 2 == 0 ? 0 : 1)
            case 4: probabilities.append(-0.0)
            case 5: probabilities.append(Float(rng.nextUnitDouble() * 1e-7))
            default: probabilities.append(1 - rng.nextUnitFloat())
            }
        }
        let truth = try #require(Stage(rawValue: Int32(rng.next() % 5)))
        let predicted = try #require(Stage(rawValue: Int32(rng.next() % 5)))
        result.append(try Prediction(recording: "SC4\(i % 3)01E0", epoch: i, fold: i % 4,
                                     truth: truth, predicted: predicted, probabilities: probabilities))
    }
    return result
}

private let goodLine = "SC4001E0,3,0,2,2,0.1,0.2,0.5,0.1,0.1"

private func csv(_ lines: [String]) -> Data {
    Data((lines.joined(separator: "\n") + "\n").utf8)
}

@Test func headerIsExactlyTheContract() {
    #expect(PredictionsCSV.header == "recording,epoch,fold,true,predicted,p_w,p_n1,p_n2,p_n3,p_rem")
    #expect(PredictionsCSV.encode([]) == PredictionsCSV.header + "\n")
}

@Test(arguments: [1, 7, 500])
func writeThenReadRoundTripsEveryFloatExactly(count: Int) throws {
    let predictions = try samplePredictions(count: count, seed: UInt64(count))
    let text = PredictionsCSV.encode(predictions)
    #expect(text.split(separator: "\n").count == count + 1)
    let back = try PredictionsCSV.decode(Data(text.utf8))
    #expect(back.count == predictions.count)
    let byKey = Dictionary(uniqueKeysWithValues: predictions.map { ("\($0.recording)#\($0.epoch)", $0) })
    for p in back {
        let original = try #require(byKey["\(p.recording)#\(p.epoch)"])
        #expect(p.fold == original.fold && p.truth == original.truth && p.predicted == original.predicted)
        #expect(p.probabilities.map(\.bitPattern) == original.probabilities.map(\.bitPattern))
    }
}

@Test func rowsAreSortedByFoldRecordingEpoch() throws {
    let predictions = try samplePredictions(count: 40, seed: 3).reversed()
    let back = try PredictionsCSV.decode(Data(PredictionsCSV.encode(Array(predictions)).utf8))
    let keys = back.map { ($0.fold, $0.recording, $0.epoch) }
    #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 < $1 })
}

@Test func fileRoundTripIsAtomicAndComplete() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sleepfold-csv-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let url = directory.appendingPathComponent("predictions.csv")
    let first = try samplePredictions(count: 20, seed: 1)
    try PredictionsCSV.write(first, to: url)
    let second = try samplePredictions(count: 5, seed: 2)
    try PredictionsCSV.write(second, to: url)  // replaces the file
    #expect(Set(try PredictionsCSV.read(from: url)) == Set(second))
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["predictions.csv"])
    #expect(throws: PredictionError.self) { try PredictionsCSV.read(from: directory.appendingPathComponent("missing.csv")) }
    #expect(throws: PredictionError.self) { try PredictionsCSV.write(first, to: directory.appendingPathComponent("no/such/dir.csv")) }
}

/// Malformed files and where the reader must say the problem is.
@Test(arguments: [
    ([String](), 1, nil as String?, PredictionError.Code.header),
    (["recording,epoch,fold,true,predicted,p_w,p_n1,p_n2,p_n3"], 1, nil, .header),
    (["recording,epoch,fold,true,predicted,p_w,p_n1,p_n2,p_n3,p_rem\r"], 1, nil, .header),
    ([PredictionsCSV.header, goodLine, "SC4001E0,4,0,2,2,0.1,0.2,0.5,0.1"], 3, nil, .format),
    ([PredictionsCSV.header, goodLine, "", goodLine], 3, nil, .format),
    ([PredictionsCSV.header, goodLine + "\r"], 2, nil, .format),
    ([PredictionsCSV.header, "SC4001E0,-1,0,2,2,0.1,0.2,0.5,0.1,0.1"], 2, "epoch", .epoch),
    ([PredictionsCSV.header, "SC4001E0,+1,0,2,2,0.1,0.2,0.5,0.1,0.1"], 2, "epoch", .epoch),
    ([PredictionsCSV.header, "SC4001E0,1.5,0,2,2,0.1,0.2,0.5,0.1,0.1"], 2, "epoch", .epoch),
    ([PredictionsCSV.header, goodLine, "SC4001E0,4,x,2,2,0.1,0.2,0.5,0.1,0.1"], 3, "fold", .fold),
    ([PredictionsCSV.header, "SC4001E0,4,0,5,2,0.1,0.2,0.5,0.1,0.1"], 2, "true", .label),
    ([PredictionsCSV.header, "SC4001E0,4,0,2,,0.1,0.2,0.5,0.1,0.1"], 2, "predicted", .label),
    ([PredictionsCSV.header, "SC4001E0,4,0,2,2,0.1,0.2,abc,0.1,0.1"], 2, "p_n2", .probabilities),
    ([PredictionsCSV.header, "SC4001E0,4,0,2,2,0.1,0.2,0.5,0.1,nan"], 2, "p_rem", .probabilities),
    ([PredictionsCSV.header, "SC4001E0,4,0,2,2,1e60,0.2,0.5,0.1,0.1"], 2, "p_w", .probabilities),
    ([PredictionsCSV.header, ",4,0,2,2,0.1,0.2,0.5,0.1,0.1"], 2, "recording", .recording),
    ([PredictionsCSV.header, "\"SC4001E0\",4,0,2,2,0.1,0.2,0.5,0.1,0.1"], 2, "recording", .recording),
])
func malformedFilesNameTheLineAndColumn(lines: [String], line: Int, column: String?, code: PredictionError.Code) {
    let data = lines.isEmpty ? Data() : csv(lines)
    do {
        _ = try PredictionsCSV.decode(data, file: "run/predictions.csv")
        Issue.record("accepted \(lines)")
    } catch {
        #expect(error.line == line)
        #expect(error.column == column)
        #expect(error.code == code)
        #expect(error.description.hasPrefix("run/predictions.csv line \(line)"))
        if let column { #expect(error.description.contains("column \(column)")) }
    }
}

@Test func aFileWithoutFinalNewlineOrRowsIsRead() throws {
    #expect(try PredictionsCSV.decode(Data((PredictionsCSV.header + "\n" + goodLine).utf8)).count == 1)
    #expect(try PredictionsCSV.decode(Data(PredictionsCSV.header.utf8)).isEmpty)
}

@Test func predictionsRejectWhatCSVCannotCarry() {
    let p: [Float] = [0.2, 0.2, 0.2, 0.2, 0.2]
    #expect(throws: PredictionError.self) { try Prediction(recording: "a,b", epoch: 0, fold: 0, truth: .wake, predicted: .wake, probabilities: p) }
    #expect(throws: PredictionError.self) { try Prediction(recording: "", epoch: 0, fold: 0, truth: .wake, predicted: .wake, probabilities: p) }
    #expect(throws: PredictionError.self) { try Prediction(recording: "a\nb", epoch: 0, fold: 0, truth: .wake, predicted: .wake, probabilities: p) }
    #expect(throws: PredictionError.self) { try Prediction(recording: "a", epoch: -1, fold: 0, truth: .wake, predicted: .wake, probabilities: p) }
    #expect(throws: PredictionError.self) { try Prediction(recording: "a", epoch: 0, fold: -2, truth: .wake, predicted: .wake, probabilities: p) }
    #expect(throws: PredictionError.self) { try Prediction(recording: "a", epoch: 0, fold: 0, truth: .wake, predicted: .wake, probabilities: [1]) }
    #expect(throws: PredictionError.self) { try Prediction(recording: "a", epoch: 0, fold: 0, truth: .wake, predicted: .wake, probabilities: [.nan, 0, 0, 0, 0]) }
    #expect(throws: Never.self) { try Prediction(recording: "a", epoch: 0, fold: 0, truth: .wake, predicted: .wake, probabilities: p) }
}
