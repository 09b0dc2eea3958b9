import Foundation

/// Durations counted in fixed, logarithmically spaced buckets, for percentiles at the end of
/// a run: the coordinator's dispatch latency (a result read → the worker's next task handed
/// to the socket). Fixed buckets rather than a list of samples: memory must not grow with
/// the folds done (issue 17), and a study may have tens of thousands of them.
///
/// Bucket i holds durations in [smallest·ratio^(i-1), smallest·ratio^i); bucket 0 everything
/// below `smallest`, the last everything from `largest` up. A percentile is reported as its
/// bucket's upper bound: at most `ratio` − 1 (2 %) above the exact value, never below it.
public struct LatencyHistogram: Sendable, Equatable {
    public static let smallest = 1e-6   // s: below it, all in bucket 0
    public static let largest = 100.0   // s: from it, all in the last bucket
    public static let ratio = 1.02      // between two buckets' bounds
    static let buckets = Int((log(largest / smallest) / log(ratio)).rounded(.up)) + 2

    private var counts = [Int](repeating: 0, count: buckets)
    public private(set) var count = 0
    /// The longest duration recorded (s), exactly.
    public private(set) var max = 0.0

    public init() {}

    /// Counts one duration (s); a negative one (clocks cannot go back, but) counts as 0.
    public mutating func record(_ seconds: Double) {
        counts[Self.bucket(of: seconds)] += 1
        count += 1
        max = Swift.max(max, seconds)
    }

    /// The `p`-th percentile (0 < p ≤ 100, nearest rank) in seconds, as its bucket's upper
    /// bound (the largest recorded for the last bucket); nil when nothing was recorded.
    public func percentile(_ p: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = Swift.max(1, Int((p / 100 * Double(count)).rounded(.up)))
        var seen = 0
        for (i, n) in counts.enumerated() {
            seen += n
            if seen >= rank { return Swift.min(Self.upperBound(of: i), max) }
        }
        return max
    }

    /// "p50 X ms, p99 Y ms, max Z ms" (3 decimals, as the logs print them); nil when
    /// nothing was recorded.
    public var summary: String? {
        guard let p50 = percentile(50), let p99 = percentile(99) else { return nil }
        func ms(_ seconds: Double) -> String { LogNumber.fixed(1000 * seconds, places: 3) }
        return "p50 \(ms(p50)) ms, p99 \(ms(p99)) ms, max \(ms(max)) ms"
    }

    static func bucket(of seconds: Double) -> Int {
        guard seconds >= smallest else { return 0 }
        guard seconds < largest else { return buckets - 1 }
        return Swift.min(buckets - 2, Int(log(seconds / smallest) / log(ratio)) + 1)
    }

    /// The bound below which every duration of bucket `i` lies.
    static func upperBound(of i: Int) -> Double {
        i >= buckets - 1 ? .infinity : smallest * pow(ratio, Double(i))
    }
}
