import Foundation
import Basics

/// Draws the synthetic cohort needs beyond the generator's basics.
extension SeededGenerator {
    /// Uniform white noise with zero mean and unit variance (cheaper than
    /// Gaussian; the filters that follow make their outputs near-Gaussian).
    @inline(__always)
    mutating func nextWhite() -> Double {
        (Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) - 0.5) * 3.4641016151377544
    }

    /// Two independent white-noise samples from one 64-bit draw (32 bits each).
    @inline(__always)
    mutating func nextWhitePair() -> (Double, Double) {
        let r = next()
        let scale = 3.4641016151377544 / 4_294_967_296.0
        return ((Double(r >> 32) + 0.5) * scale - 1.7320508075688772,
                (Double(r & 0xFFFF_FFFF) + 0.5) * scale - 1.7320508075688772)
    }

    /// Uniform in [a, b).
    @inline(__always)
    mutating func uniform(_ a: Double, _ b: Double) -> Double {
        a + (b - a) * nextUnitDouble()
    }

    /// exp(σ·N(0,1)): a positive factor with median 1.
    mutating func lognormal(_ sigma: Double) -> Double {
        exp(sigma * nextGaussian())
    }

    /// Poisson count with mean `lambda` (Knuth; fine for the small means used here).
    mutating func poisson(_ lambda: Double) -> Int {
        guard lambda > 0 else { return 0 }
        let limit = exp(-lambda)
        var k = 0
        var p = nextUnitDouble()
        while p > limit, k < 100 {
            k += 1
            p *= nextUnitDouble()
        }
        return k
    }
}
