import Foundation
import Basics
import Recordings
import Cohorts
import EDF

/// Rational resampling by up/down with an anti-aliasing FIR filter, computed as
/// `scipy.signal.resample_poly(x, up, down)` with its defaults
/// (`window=('kaiser', 5.0)`, `padtype='constant'`).
///
/// The filter is a Kaiser-windowed sinc low-pass with cutoff at the lower of the two
/// Nyquist frequencies (1/max(up, down) of the up-sampled Nyquist) and 2·10·max(up, down)+1
/// taps, scaled by `up`. Output sample k is Σₙ x[n]·h[k·down − n·up + offset]: the
/// polyphase form of "insert up−1 zeros, filter, keep every down-th sample", evaluated only
/// where the result is kept. Samples outside the signal count as 0, as scipy's default
/// padding, so the first and last ~10 output samples feel the edges.
public struct PolyphaseResampler: Sendable {
    /// Up-sampling factor (after reduction by the greatest common divisor).
    public let up: Int
    /// Down-sampling factor (after reduction).
    public let down: Int
    /// Filter taps, including scipy's leading zero padding and the gain `up`.
    public let taps: [Double]
    /// Output samples scipy drops from the start of the full convolution.
    private let dropped: Int

    /// Kaiser window shape of scipy's default.
    public static let defaultKaiserBeta = 5.0
    /// Largest up or down factor accepted: the filter has 20·max(up, down)+1 taps.
    public static let maxFactor = 10_000

    /// A resampler by `up`/`down` (reduced by their gcd); both must be in 1…`maxFactor`.
    public init(up: Int, down: Int, kaiserBeta: Double = PolyphaseResampler.defaultKaiserBeta) throws {
        guard (1...Self.maxFactor).contains(up), (1...Self.maxFactor).contains(down) else {
            throw SleepfoldError(.invalidValue, field: "resampling factors", found: "up \(up), down \(down)",
                                 expected: "integers in 1…\(Self.maxFactor)")
        }
        let g = Self.gcd(up, down)
        self.up = up / g
        self.down = down / g
        let maxRate = max(self.up, self.down)
        let halfLength = 10 * maxRate
        var h = Self.kaiserLowPass(taps: 2 * halfLength + 1, cutoff: 1.0 / Double(maxRate), beta: kaiserBeta)
        for i in h.indices { h[i] *= Double(self.up) }
        // scipy pads the filter in front so that output samples land on the filter's centre.
        let prePad = self.down - halfLength % self.down
        taps = Array(repeating: 0, count: prePad) + h
        dropped = (halfLength + prePad) / self.down
    }

    /// A resampler from `inputRate` to `outputRate` Hz. The ratio must be a fraction whose
    /// reduced terms are at most `maxFactor` (rates with up to six decimals, like 12.8 Hz
    /// → 100 Hz = 125/16, are exact).
    public init(from inputRate: Double, to outputRate: Double) throws {
        guard inputRate > 0, outputRate > 0, inputRate.isFinite, outputRate.isFinite else {
            throw SleepfoldError(.invalidValue, field: "sample rates", found: "\(inputRate) Hz → \(outputRate) Hz",
                                 expected: "positive finite rates")
        }
        var scale = 1.0
        for _ in 0...6 {
            let a = (inputRate * scale).rounded(), b = (outputRate * scale).rounded()
            if abs(a - inputRate * scale) < 1e-6 && abs(b - outputRate * scale) < 1e-6 && a < 1e15 && b < 1e15 {
                let g = Self.gcd(Int(a), Int(b))
                try self.init(up: Int(b) / g, down: Int(a) / g)
                return
            }
            scale *= 10
        }
        throw SleepfoldError(.invalidValue, field: "sample rates", found: "\(inputRate) Hz → \(outputRate) Hz",
                             expected: "rates whose ratio is a fraction with terms ≤ \(Self.maxFactor)")
    }

    /// Number of output samples for `inputCount` input samples: ⌈inputCount · up / down⌉.
    public func outputCount(inputCount: Int) -> Int {
        (inputCount * up + down - 1) / down
    }

    /// The resampled signal (a copy when up = down = 1).
    public func resample(_ x: [Double]) -> [Double] {
        let n = x.count
        let outCount = outputCount(inputCount: n)
        guard up != 1 || down != 1 else { return x }
        var y = [Double](repeating: 0, count: outCount)
        let tapCount = taps.count
        x.withUnsafeBufferPointer { xs in
            taps.withUnsafeBufferPointer { h in
                y.withUnsafeMutableBufferPointer { ys in
                    for k in 0..<outCount {
                        // Full-convolution index t; input n contributes h[t − n·up] when 0 ≤ t − n·up < taps.
                        let t = (k + dropped) * down
                        let nHigh = min(t / up, n - 1)
                        let lowNumerator = t - tapCount + 1
                        let nLow = max(0, lowNumerator <= 0 ? 0 : (lowNumerator + up - 1) / up)
                        var sum = 0.0
                        if nLow <= nHigh {
                            var j = t - nLow * up
                            for i in nLow...nHigh {
                                sum += h[j] * xs[i]
                                j -= up
                            }
                        }
                        ys[k] = sum
                    }
                }
            }
        }
        return y
    }

    /// `firwin(taps, cutoff, window=('kaiser', beta))`: a windowed-sinc low-pass with
    /// `cutoff` relative to Nyquist, normalised to unit gain at 0 Hz.
    static func kaiserLowPass(taps: Int, cutoff: Double, beta: Double) -> [Double] {
        let alpha = 0.5 * Double(taps - 1)
        let i0Beta = besselI0(beta)
        var h = (0..<taps).map { i -> Double in
            let m = Double(i) - alpha
            let r = 2 * Double(i) / Double(taps - 1) - 1
            let window = taps == 1 ? 1 : besselI0(beta * (1 - r * r).squareRoot()) / i0Beta
            return cutoff * sinc(cutoff * m) * window
        }
        let sum = h.reduce(0, +)
        for i in h.indices { h[i] /= sum }
        return h
    }

    /// sin(πx)/(πx), 1 at 0.
    static func sinc(_ x: Double) -> Double {
        x == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x)
    }

    /// Modified Bessel function of the first kind, order 0, by its power series
    /// Σ ((x/2)^k / k!)², which converges quickly for the window's arguments (|x| ≤ ~20).
    static func besselI0(_ x: Double) -> Double {
        let q = x * x / 4
        var term = 1.0, sum = 1.0, k = 1.0
        while term > sum * 1e-17 {
            term *= q / (k * k)
            sum += term
            k += 1
        }
        return sum
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (abs(a), abs(b))
        while b != 0 { (a, b) = (b, a % b) }
        return max(a, 1)
    }
}
