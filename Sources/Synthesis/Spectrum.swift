import Foundation
import Basics
import Recordings
import Cohorts
import EDF
import Preparation

/// A frequency band [low, high) in Hz with a short name, e.g. alpha 8–12 Hz.
public struct FrequencyBand: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    /// Lower edge in Hz (inclusive).
    public var low: Double
    /// Upper edge in Hz (exclusive).
    public var high: Double

    public init(_ name: String, _ low: Double, _ high: Double) {
        self.name = name
        self.low = low
        self.high = high
    }

    public var description: String { "\(name) \(low)–\(high) Hz" }

    /// Slow waves of N3, 0.5–2 Hz.
    public static let slowDelta = FrequencyBand("delta(0.5-2)", 0.5, 2)
    /// Delta, 0.5–4 Hz.
    public static let delta = FrequencyBand("delta", 0.5, 4)
    /// Theta, 4–8 Hz (N1, REM).
    public static let theta = FrequencyBand("theta", 4, 8)
    /// Alpha, 8–12 Hz (relaxed wake, eyes closed).
    public static let alpha = FrequencyBand("alpha", 8, 12)
    /// Sigma, 11–16 Hz (sleep spindles, N2).
    public static let sigma = FrequencyBand("sigma", 11, 16)
    /// Beta, 16–30 Hz.
    public static let beta = FrequencyBand("beta", 16, 30)
    /// High frequencies, 30–50 Hz (mostly muscle at 100 Hz sampling).
    public static let high = FrequencyBand("high", 30, 50)
    /// The reference band relative powers are taken against, 0.5–30 Hz.
    public static let total = FrequencyBand("total", 0.5, 30)

    /// The bands of the per-stage summary, in table order.
    public static let standard: [FrequencyBand] = [.slowDelta, .delta, .theta, .alpha, .sigma, .beta, .high]
}

/// A one-sided power spectral density in µV²/Hz (for a signal in µV), bins
/// k = 0 … N/2 at frequency k · `resolution`.
public struct PowerSpectrum: Sendable {
    /// Bin spacing in Hz (sampleRate / segmentLength).
    public let resolution: Double
    /// Density of each bin, µV²/Hz.
    public let density: [Double]

    public init(resolution: Double, density: [Double]) {
        self.resolution = resolution
        self.density = density
    }

    /// Power in µV² within `band`: each bin stands for [f − Δf/2, f + Δf/2) and
    /// counts with the part of that interval inside the band, so band edges that
    /// fall between bins are not rounded to a whole bin.
    public func power(in band: FrequencyBand) -> Double {
        var sum = 0.0
        for (k, d) in density.enumerated() {
            let f = Double(k) * resolution
            let lo = max(f - resolution / 2, band.low)
            let hi = min(f + resolution / 2, band.high)
            if hi > lo { sum += d * (hi - lo) }
        }
        return sum
    }

    /// Frequency in Hz of the largest bin inside `band` (nil if no bin is inside).
    public func peakFrequency(in band: FrequencyBand) -> Double? {
        var best: (k: Int, d: Double)?
        for (k, d) in density.enumerated() {
            let f = Double(k) * resolution
            guard f >= band.low, f < band.high else { continue }
            if let b = best, d <= b.d { continue }
            best = (k, d)
        }
        return best.map { Double($0.k) * resolution }
    }

    /// Element-wise mean of spectra of equal length (nil if empty or lengths differ).
    public static func mean(_ spectra: [PowerSpectrum]) -> PowerSpectrum? {
        guard let first = spectra.first,
              spectra.allSatisfy({ $0.density.count == first.density.count }) else { return nil }
        var acc = [Double](repeating: 0, count: first.density.count)
        for s in spectra { for k in acc.indices { acc[k] += s.density[k] } }
        let n = Double(spectra.count)
        return PowerSpectrum(resolution: first.resolution, density: acc.map { $0 / n })
    }
}

/// Welch's power-spectrum estimate: Hann-windowed segments with 50 % overlap,
/// each with its mean removed, periodograms averaged; scaled as a one-sided
/// density (the same conventions as `scipy.signal.welch` with `detrend="constant"`).
public struct WelchEstimator: Sendable {
    /// Samples per segment, a power of two.
    public let segmentLength: Int
    /// Sampling rate in Hz.
    public let sampleRate: Double
    private let fft: FFT
    private let window: [Double]
    private let windowPower: Double

    /// Returns nil unless `segmentLength` is a power of two ≥ 8 and `sampleRate` > 0.
    public init?(segmentLength: Int = 256, sampleRate: Double = 100) {
        guard segmentLength >= 8, sampleRate > 0, sampleRate.isFinite,
              let fft = FFT(size: segmentLength) else { return nil }
        self.segmentLength = segmentLength
        self.sampleRate = sampleRate
        self.fft = fft
        // Periodic Hann window, as spectral estimators use.
        window = (0..<segmentLength).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(segmentLength)) }
        windowPower = window.reduce(0) { $0 + $1 * $1 }
    }

    /// The spectrum of `x` (µV), or nil if `x` is shorter than one segment.
    public func spectrum<C: Collection>(of x: C) -> PowerSpectrum? where C.Element == Float, C.Index == Int {
        let n = x.count
        guard n >= segmentLength else { return nil }
        let hop = segmentLength / 2
        let bins = segmentLength / 2 + 1
        let starts = Array(stride(from: 0, through: n - segmentLength, by: hop))
        var acc = [Double](repeating: 0, count: bins)
        var re = [Double](repeating: 0, count: segmentLength)
        var im = [Double](repeating: 0, count: segmentLength)
        let m = segmentLength
        re.withUnsafeMutableBufferPointer { re in
            im.withUnsafeMutableBufferPointer { im in
                // Two real segments per complex FFT: one as the real part, one as
                // the imaginary part, separated again by conjugate symmetry.
                func load(_ buffer: UnsafeMutableBufferPointer<Double>, _ start: Int?) {
                    guard let start else {
                        for i in 0..<m { buffer[i] = 0 }
                        return
                    }
                    let base = x.startIndex + start
                    var mean = 0.0
                    for i in 0..<m { mean += Double(x[base + i]) }
                    mean /= Double(m)
                    for i in 0..<m { buffer[i] = (Double(x[base + i]) - mean) * window[i] }
                }
                for pair in stride(from: 0, to: starts.count, by: 2) {
                    load(re, starts[pair])
                    load(im, pair + 1 < starts.count ? starts[pair + 1] : nil)
                    fft.forward(re.baseAddress!, im.baseAddress!)
                    for k in 0..<bins {
                        let nk = (m - k) % m
                        let ar = re[k] + re[nk], ai = im[k] - im[nk]
                        let br = im[k] + im[nk], bi = re[k] - re[nk]
                        acc[k] += 0.25 * (ar * ar + ai * ai + br * br + bi * bi)
                    }
                }
            }
        }
        // One-sided density: bins other than DC and Nyquist carry both signs of frequency.
        let scale = 1 / (sampleRate * windowPower * Double(starts.count))
        var density = acc.map { $0 * scale }
        for k in 1..<(bins - 1) { density[k] *= 2 }
        return PowerSpectrum(resolution: sampleRate / Double(segmentLength), density: density)
    }
}
