import Foundation
import Testing
import Basics
import Evaluation
import TestSupport

/// One case of Fixtures/metrics/cases.json: labels and scikit-learn's scores
/// (written by scripts/make-metrics-fixtures.py).
private struct Case: Decodable {
    let name: String
    let truth: [Int32]
    let predicted: [Int32]
    let epochs: Int
    let accuracy: Double?
    let macro_f1: Double?
    let kappa: Double?
    let precision: [Double]
    let recall: [Double]
    let f1: [Double]
    let support: [Int]
    let confusion: [[Int]]
}

private struct FoldCase: Decodable {
    struct Labels: Decodable { let truth: [Int32]; let predicted: [Int32] }
    struct Statistic: Decodable { let mean: Double?; let sd: Double?; let n: Int }
    struct Expected: Decodable {
        let accuracy: Statistic
        let macro_f1: Statistic
        let kappa: Statistic
        let f1_per_class: [Statistic]
    }
    let name: String
    let folds: [Labels]
    let expected: Expected
}

private struct Fixture: Decodable {
    let cases: [Case]
    let fold_cases: [FoldCase]
}

private let fixture: Fixture = {
    // A missing or unreadable file leaves no cases, which `fixtureHasTheEdgeCases` reports.
    guard let data = try? Data(contentsOf: TestFixtures.root.appendingPathComponent("metrics/cases.json")),
          let fixture = try? JSONDecoder().decode(Fixture.self, from: data) else {
        return Fixture(cases: [], fold_cases: [])
    }
    return fixture
}()

private func pairs(_ truth: [Int32], _ predicted: [Int32]) throws -> [(truth: Stage, predicted: Stage)] {
    try zip(truth, predicted).map { (try #require(Stage(rawValue: $0)), try #require(Stage(rawValue: $1))) }
}

private func close(_ a: Double?, _ b: Double?, _ tolerance: Double = 1e-12) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case let (x?, y?): return abs(x - y) <= tolerance
    default: return false
    }
}

private func expectClose(_ a: MeanSD, _ b: FoldCase.Statistic, _ what: String) {
    #expect(a.n == b.n, "\(what) n")
    #expect(close(a.mean, b.mean), "\(what) mean: \(String(describing: a.mean)) vs \(String(describing: b.mean))")
    #expect(close(a.sd, b.sd), "\(what) sd: \(String(describing: a.sd)) vs \(String(describing: b.sd))")
}

@Test func fixtureHasTheEdgeCases() {
    let names = Set(fixture.cases.map(\.name))
    #expect(fixture.cases.count >= 20)
    for edge in ["empty", "perfect", "all-wrong", "single-class-perfect", "absent-class-n3"] {
        #expect(names.contains(edge), "fixture lacks \(edge)")
    }
    #expect(fixture.fold_cases.count >= 4)
}

@Test func metricsMatchScikitLearn() throws {
    for c in fixture.cases {
        let m = Metrics(pairs: try pairs(c.truth, c.predicted))
        #expect(m.epochs == c.epochs, "\(c.name)")
        #expect(m.confusion.rows == c.confusion, "\(c.name) confusion")
        #expect(close(m.accuracy, c.accuracy), "\(c.name) accuracy \(String(describing: m.accuracy)) vs \(String(describing: c.accuracy))")
        #expect(close(m.macroF1, c.macro_f1), "\(c.name) macro-F1 \(String(describing: m.macroF1)) vs \(String(describing: c.macro_f1))")
        #expect(close(m.kappa, c.kappa), "\(c.name) kappa \(String(describing: m.kappa)) vs \(String(describing: c.kappa))")
        for stage in Stage.allCases {
            let i = Int(stage.rawValue)
            #expect(abs(m[stage].precision - c.precision[i]) <= 1e-12, "\(c.name) precision \(stage.name)")
            #expect(abs(m[stage].recall - c.recall[i]) <= 1e-12, "\(c.name) recall \(stage.name)")
            #expect(abs(m[stage].f1 - c.f1[i]) <= 1e-12, "\(c.name) F1 \(stage.name)")
            #expect(m[stage].support == c.support[i], "\(c.name) support \(stage.name)")
        }
    }
}

@Test func statisticsOverFoldsMatchNumpy() throws {
    for c in fixture.fold_cases {
        let folds = try c.folds.map { Metrics(pairs: try pairs($0.truth, $0.predicted)) }
        let s = FoldStatistics(folds: folds)
        expectClose(s.accuracy, c.expected.accuracy, "\(c.name) accuracy")
        expectClose(s.macroF1, c.expected.macro_f1, "\(c.name) macro-F1")
        expectClose(s.kappa, c.expected.kappa, "\(c.name) kappa")
        for stage in Stage.allCases {
            expectClose(s.f1PerClass[Int(stage.rawValue)], c.expected.f1_per_class[Int(stage.rawValue)], "\(c.name) F1 \(stage.name)")
        }
    }
}

@Test func meanSDUsesTheSampleStandardDeviation() {
    let s = MeanSD([2, 4, 4, 4, 5, 5, 7, 9])
    #expect(s.mean == 5)
    #expect(abs((s.sd ?? 0) - (32.0 / 7).squareRoot()) < 1e-15)  // ddof = 1, not 2.0 (ddof = 0)
    #expect(MeanSD([3]).sd == nil && MeanSD([3]).mean == 3)
    #expect(MeanSD([]).mean == nil && MeanSD([]).n == 0)
}

@Test func emptyInputDoesNotCrashAndIsUndefined() {
    let m = Metrics(pairs: [(truth: Stage, predicted: Stage)]())
    #expect(m.epochs == 0 && m.accuracy == nil && m.macroF1 == nil && m.kappa == nil)
    #expect(m.perClass.allSatisfy { $0 == ClassScores(precision: 0, recall: 0, f1: 0, support: 0) })
}

@Test func confusionMatrixCountsRowsTrueColumnsPredicted() {
    var matrix = ConfusionMatrix()
    matrix.add(truth: .n2, predicted: .n1)
    matrix.add(truth: .n2, predicted: .n1)
    matrix.add(truth: .rem, predicted: .rem)
    #expect(matrix[.n2, .n1] == 2 && matrix[.n1, .n2] == 0)
    #expect(matrix.rows[2] == [0, 2, 0, 0, 0])
    #expect(matrix.total == 3 && matrix.correct == 1)
    #expect(matrix.support(.n2) == 2 && matrix.predictedCount(.n1) == 2)
    var pooled = matrix
    pooled.add(matrix)
    #expect(pooled.total == 6 && pooled[.n2, .n1] == 4)
    #expect(ConfusionMatrix(rows: matrix.rows) == matrix)
    #expect(ConfusionMatrix(rows: [[1, 2]]) == nil)
    #expect(ConfusionMatrix(rows: Array(repeating: [0, 0, 0, 0, -1], count: 5)) == nil)
}

@Test func metricsEncodeEveryKeyWithNullsAndDecodeBack() throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let single = Metrics(pairs: [(truth: Stage.n2, predicted: Stage.n2)])
    let data = try encoder.encode(single)
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    #expect(Set(json.keys) == ["epochs", "accuracy", "macro_f1", "kappa", "per_class", "confusion_matrix"])
    #expect(json["kappa"] is NSNull)
    let perClass = try #require(json["per_class"] as? [String: [String: Any]])
    #expect(Set(perClass.keys) == ["W", "N1", "N2", "N3", "REM"])
    #expect(Set(perClass["N2"]?.keys ?? [:].keys) == ["precision", "recall", "f1", "support"])
    #expect(try JSONDecoder().decode(Metrics.self, from: data) == single)

    let c = try #require(fixture.cases.first { $0.name.hasPrefix("random-7") })
    let random = Metrics(pairs: try pairs(c.truth, c.predicted))
    #expect(try JSONDecoder().decode(Metrics.self, from: encoder.encode(random)) == random)
    #expect(throws: DecodingError.self) {
        try JSONDecoder().decode(ConfusionMatrix.self, from: Data("[[1,2,3]]".utf8))
    }
}
