import Foundation
import Testing
import Basics
import Evaluation
import TestSupport

@Suite struct WilcoxonTests {
    struct Case: Decodable { let x, y: [Double]; let method: String; let statistic, p: Double }
    struct File: Decodable { let cases: [Case] }

    static let cases: [Case] = {
        let url = TestFixtures.root.appendingPathComponent("metrics/wilcoxon.json")
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }()

    @Test func matchesScipy() {
        #expect(Self.cases.count == 6)
        for c in Self.cases {
            let r = WilcoxonResult(c.x, c.y)
            #expect(r.method == (c.method == "exact" ? .exact : .normal), "\(c.x.count) pairs")
            #expect(abs(r.statistic - c.statistic) < 1e-9)
            #expect(abs(r.pValue! - c.p) < 1e-9 * max(1, c.p), "p \(r.pValue!) vs scipy \(c.p)")
        }
    }

    @Test func noDifferenceHasNoPValueAndAShiftIsSignificant() {
        let same = WilcoxonResult([0.8, 0.7, 0.9], [0.8, 0.7, 0.9])
        #expect(same.pairs == 0 && same.pValue == nil)
        let x = (0..<12).map { 0.7 + Double($0) * 0.01 }
        let shifted = WilcoxonResult(x, x.enumerated().map { $1 - 0.02 - Double($0) * 0.001 })
        #expect(shifted.statistic == 0)
        #expect(shifted.pValue! < 0.001)   // 2 / 2^12
    }
}
