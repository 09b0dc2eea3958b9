import Foundation
import Basics

/// The Wilcoxon signed-rank test of paired samples (two-sided), as
/// `scipy.stats.wilcoxon(x, y)` computes it with `zero_method="wilcox"`: zero
/// differences are dropped; the exact null distribution is used for up to 50
/// pairs without ties, the normal approximation (tie-corrected, no continuity
/// correction) otherwise.
public struct WilcoxonResult: Codable, Equatable, Sendable {
    public enum Method: String, Codable, Sendable { case exact, normal }
    /// min(W+, W−): the smaller signed-rank sum.
    public var statistic: Double
    /// Two-sided p-value; nil with no non-zero difference.
    public var pValue: Double?
    /// Pairs used (non-zero differences).
    public var pairs: Int
    public var method: Method

    public static let exactLimit = 50

    public init(_ x: [Double], _ y: [Double]) {
        precondition(x.count == y.count, "paired samples")
        let d = zip(x, y).map { $0 - $1 }.filter { $0 != 0 }
        let n = d.count
        pairs = n
        guard n > 0 else {
            statistic = 0; pValue = nil; method = .exact
            return
        }
        // Average ranks of |d| (ties share the mean rank).
        let order = d.indices.sorted { abs(d[$0]) < abs(d[$1]) }
        var ranks = [Double](repeating: 0, count: n)
        var tieTerm = 0.0
        var i = 0
        while i < n {
            var j = i
            while j + 1 < n && abs(d[order[j + 1]]) == abs(d[order[i]]) { j += 1 }
            let rank = Double(i + j + 2) / 2
            for k in i...j { ranks[order[k]] = rank }
            let t = Double(j - i + 1)
            tieTerm += t * t * t - t
            i = j + 1
        }
        let plus = zip(d, ranks).filter { $0.0 > 0 }.map(\.1).reduce(0, +)
        let total = Double(n * (n + 1)) / 2
        let minus = total - plus
        statistic = min(plus, minus)

        if n <= Self.exactLimit && tieTerm == 0 {
            method = .exact
            // Counts of W+ = w over the 2^n sign patterns, by dynamic programming over ranks.
            var counts = [Double](repeating: 0, count: Int(total) + 1)
            counts[0] = 1
            for r in 1...n {
                for w in stride(from: Int(total), through: r, by: -1) { counts[w] += counts[w - r] }
            }
            let all = pow(2.0, Double(n))
            let k = Int(statistic.rounded())
            let tail = counts[0...k].reduce(0, +) / all
            pValue = min(1, 2 * tail)
        } else {
            method = .normal
            let mean = Double(n * (n + 1)) / 4
            let variance = Double(n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48
            let z = (statistic - mean) / variance.squareRoot()
            pValue = min(1, erfc(abs(z) / 2.0.squareRoot()))
        }
    }
}
