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
    let missing = directory.appendingPathComponent("missing.csv")
    let unread = expectError(.fileNotFound, file: missing.path) { _ = try PredictionsCSV.read(from: missing) }
    #expect(unread?.message.hasPrefix("cannot read the predictions: ") == true, "\(String(describing: unread))")
    let nowhere = directory.appendingPathComponent("no/such/dir.csv")
    let unwritten = expectError(.fileNotFound, file: nowhere.path) { try PredictionsCSV.write(first, to: nowhere) }
    #expect(unwritten?.errno == ENOENT)
}

/// Malformed files and where the reader must say the problem is.
@Test(arguments: [
    ([String](), 1, nil as String?, SleepfoldError.Code.malformedHeader),
    (["recording,epoch,fold,true,predicted,p_w,p_n1,p_n2,p_n3"], 1, nil, .malformedHeader),
    (["recording,epoch,fold,true,predicted,p_w,p_n1,p_n2,p_n3,p_rem\r"], 1, nil, .malformedHeader),
    ([PredictionsCSV.header, goodLine, "SC4001E0,4,0,2,2,0.1,0.2,0.5,0.1"], 3, nil, .malformedLine),
    ([PredictionsCSV.header, goodLine, "", goodLine], 3, nil, .malformedLine),
    ([PredictionsCSV.header, goodLine + "\r"], 2, nil, .malformedLine),
    ([PredictionsCSV.header, "SC4001E0,-1,0,2,2,0.1,0.2,0.5,0.1,0.1"], 2, "epoch", .invalidValue),
    ([PredictionsCSV.header, "SC4001E0,+1,0,2,2,0.1,0.2,0.5,0.1,0.1"], 2, "epoch", .invalidValue),
    ([PredictionsCSV.header, "SC4001E0,1.5,0,2,2,0.1,0.2,0.5,0.1,0.1"], 2, "epoch", .invalidValue),
    ([PredictionsCSV.header, goodLine, "SC4001E0,4,x,2,2,0.1,0.2,0.5,0.1,0.1"], 3, "fold", .invalidValue),
    ([PredictionsCSV.header, "SC4001E0,4,0,5,2,0.1,0.2,0.5,0.1,0.1"], 2, "true", .invalidValue),
    ([PredictionsCSV.header, "SC4001E0,4,0,2,,0.1,0.2,0.5,0.1,0.1"], 2, "predicted", .invalidValue),
    ([PredictionsCSV.header, "SC4001E0,4,0,2,2,0.1,0.2,abc,0.1,0.1"], 2, "p_n2", .invalidValue),
    ([PredictionsCSV.header, "SC4001E0,4,0,2,2,0.1,0.2,0.5,0.1,nan"], 2, "p_rem", .invalidValue),
    ([PredictionsCSV.header, "SC4001E0,4,0,2,2,1e60,0.2,0.5,0.1,0.1"], 2, "p_w", .invalidValue),
    ([PredictionsCSV.header, ",4,0,2,2,0.1,0.2,0.5,0.1,0.1"], 2, "recording", .invalidValue),
    ([PredictionsCSV.header, "\"SC4001E0\",4,0,2,2,0.1,0.2,0.5,0.1,0.1"], 2, "recording", .invalidValue),
])
func malformedFilesNameTheLineAndColumn(lines: [String], line: Int, column: String?, code: SleepfoldError.Code) {
    let data = lines.isEmpty ? Data() : csv(lines)
    let field = column.map { "line \(line), column \($0)" } ?? "line \(line)"
    let error = expectError(code, file: "run/predictions.csv", field: field) {
        _ = try PredictionsCSV.decode(data, file: "run/predictions.csv")
    }
    #expect(error?.description.hasPrefix("run/predictions.csv: \(field): found ") == true, "\(String(describing: error))")
    #expect(error?.message.contains(", expected ") == true, "\(String(describing: error))")
}

@Test func aFileWithoutFinalNewlineOrRowsIsRead() throws {
    #expect(try PredictionsCSV.decode(Data((PredictionsCSV.header + "\n" + goodLine).utf8)).count == 1)
    #expect(try PredictionsCSV.decode(Data(PredictionsCSV.header.utf8)).isEmpty)
}

@Test func predictionsRejectWhatCSVCannotCarry() {
    let p: [Float] = [0.2, 0.2, 0.2, 0.2, 0.2]
    func field(_ make: () throws(SleepfoldError) -> Prediction) -> String? {
        do {
            _ = try make()
            return nil
        } catch {
            #expect(error.code == .invalidValue && error.file == nil, "\(error)")
            #expect(error.message.hasPrefix("found ") && error.message.contains(", expected "), "\(error)")
            return error.field
        }
    }
    #expect(field { () throws(SleepfoldError) in try Prediction(recording: "a,b", epoch: 0, fold: 0, truth: .wake, predicted: .wake, probabilities: p) } == "recording")
    #expect(field { () throws(SleepfoldError) in try Prediction(recording: "", epoch: 0, fold: 0, truth: .wake, predicted: .wake, probabilities: p) } == "recording")
    #expect(field { () throws(SleepfoldError) in try Prediction(recording: "a\nb", epoch: 0, fold: 0, truth: .wake, predicted: .wake, probabilities: p) } == "recording")
    #expect(field { () throws(SleepfoldError) in try Prediction(recording: "a", epoch: -1, fold: 0, truth: .wake, predicted: .wake, probabilities: p) } == "epoch")
    #expect(field { () throws(SleepfoldError) in try Prediction(recording: "a", epoch: 0, fold: -2, truth: .wake, predicted: .wake, probabilities: p) } == "fold")
    #expect(field { () throws(SleepfoldError) in try Prediction(recording: "a", epoch: 0, fold: 0, truth: .wake, predicted: .wake, probabilities: [1]) } == "probabilities")
    #expect(field { () throws(SleepfoldError) in try Prediction(recording: "a", epoch: 0, fold: 0, truth: .wake, predicted: .wake, probabilities: [.nan, 0, 0, 0, 0]) } == "probabilities")
    #expect(throws: Never.self) { try Prediction(recording: "a", epoch: 0, fold: 0, truth: .wake, predicted: .wake, probabilities: p) }
}
