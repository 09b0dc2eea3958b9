import Foundation
import Testing
import Coordinator
import Basics

/// The coordinator's dispatch latencies are counted in fixed buckets: each percentile is the
/// exact one (nearest rank) or at most 2 % above it, never below.
@Suite struct LatencyHistogramTests {
    /// The nearest-rank percentile of `values`, as Benchmarks/load/run.sh computes it.
    static func exact(_ p: Double, of values: [Double]) -> Double {
        let sorted = values.sorted()
        let rank = max(1, Int((p / 100 * Double(sorted.count)).rounded(.up)))
        return sorted[rank - 1]
    }

    @Test(arguments: [1, 2, 7, 100, 10_000])
    func percentilesAreTheExactOnesOrAtMostTwoPercentAbove(count: Int) {
        var generator = SeededGenerator(seed: UInt64(count))
        // From microseconds to seconds, as dispatch latencies are.
        let values = (0..<count).map { _ in Foundation.pow(10, Double.random(in: -6...1, using: &generator)) }
        var histogram = LatencyHistogram()
        for v in values { histogram.record(v) }
        #expect(histogram.count == count)
        #expect(histogram.max == values.max())
        for p in [1.0, 50, 90, 99, 99.9, 100] {
            let exact = Self.exact(p, of: values), found = histogram.percentile(p)!
            #expect(found >= exact * (1 - 1e-12) && found <= exact * LatencyHistogram.ratio * (1 + 1e-12),
                    "p\(p): \(found) for \(exact)")
        }
    }

    @Test func nothingRecordedHasNoPercentileAndTheEdgesAreKept() {
        var histogram = LatencyHistogram()
        #expect(histogram.percentile(50) == nil)
        histogram.record(0)          // below the smallest bucket
        histogram.record(-1e-9)      // a clock hair backwards: counts as the first bucket
        histogram.record(500)        // beyond the largest: its own value is the bound
        #expect(histogram.percentile(50)! <= LatencyHistogram.smallest)
        #expect(histogram.percentile(100) == 500)
        #expect(histogram.max == 500)
    }
}
