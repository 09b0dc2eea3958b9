import Foundation
import Testing
import Coordinator
import Basics

/// The coordinator's log numbers print as `String(format:)` printed them.
@Suite struct LogNumberTests {
    @Test(arguments: [0, 1, 3, 4])
    func fixedDecimalsAreWhatPrintfPrints(places: Int) {
        var generator = SeededGenerator(seed: UInt64(places))
        var values: [Double] = [0, -0.0, 1, -1, -0.0001, 0.1234, 999.9999, 1e9 + 0.123, 0.2399999]
        for _ in 0..<2000 {
            let magnitude = Double.random(in: -6...6, using: &generator)
            values.append((Bool.random(using: &generator) ? 1 : -1) * Foundation.pow(10, magnitude))
        }
        // Values within a hair of halfway between two outputs may round either way (printf
        // rounds the exact binary value, `fixed` the scaled one): left out.
        for v in values where abs((abs(v) * Foundation.pow(10, Double(places))).truncatingRemainder(dividingBy: 1) - 0.5) > 1e-6 {
            #expect(LogNumber.fixed(v, places: places) == String(format: "%.\(places)f", v), "\(v)")
        }
        #expect(LogNumber.fixed(.nan, places: places) == String(format: "%.\(places)f", Double.nan))
        #expect(LogNumber.fixed(.infinity, places: places) == String(format: "%.\(places)f", Double.infinity))
        #expect(LogNumber.fixed(-.infinity, places: places) == String(format: "%.\(places)f", -Double.infinity))
    }

    @Test func twoDigitsIsPercentZeroTwoD() {
        for n in [0, 1, 9, 10, 42, 99, 100, 1234] {
            #expect(LogNumber.twoDigits(n) == String(format: "%02d", n))
        }
    }
}
