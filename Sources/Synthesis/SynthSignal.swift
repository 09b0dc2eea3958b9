import Foundation
import Basics
import Recordings
import Cohorts
import EDF
import Preparation

/// The EEG of one synthetic night for a given stage sequence: Fpz-Cz-like, in
/// µV, at 100 Hz, generated as one continuous signal and only then read as
/// 30-s epochs, so nothing jumps at epoch boundaries.
///
/// The signal is a sum of:
/// - a background of pink (1/f) noise, steeper above a few Hz, like EEG;
/// - band-limited rhythms whose level follows the stage of each epoch and is
///   cross-faded over ±1 s around each boundary: alpha (at the subject's alpha
///   peak, in waxing and waning bursts; strong in wake with eyes closed, weak
///   with eyes open, sometimes in N1), theta (N1, REM), delta 0.5–2 Hz (large in
///   N3, present in N2) and muscle noise 15–45 Hz (wake);
/// - transient events placed at random times, free to run across a boundary:
///   sleep spindles (0.5–2 s, waxing and waning, at the subject's spindle
///   frequency; mostly N2, some in N1 and N3), K-complexes (N2, some in N3,
///   half followed by a spindle), vertex sharp waves (N1), sawtooth-wave trains
///   (REM), rapid eye movements (bursts in phasic REM; saccades in wake with
///   eyes open), blinks (wake) and slow rolling eye movements (N1, drowsy wake).
///
/// Levels vary from epoch to epoch (log-normal jitter), eye state and phasic /
/// tonic REM persist over several epochs, and components bleed into
/// neighbouring stages, so no single feature decides the stage.
public enum SynthSignal {
    /// Sampling rate of the synthetic EEG, Hz.
    public static let sampleRate = 100.0
    /// Samples per 30-s epoch.
    public static let samplesPerEpoch = 3000
    /// Half-width of the level cross-fade around an epoch boundary, samples (1 s).
    static let fadeHalfWidth = 100

    // Stage tables, indexed by Stage.rawValue: W, N1, N2, N3, REM.
    // Background density at 1 Hz, µV²/Hz, for a stage factor of 1.
    static let backgroundDensity = 60.0
    static let backgroundLevel: [Double] = [1.0, 0.9, 1.0, 1.1, 0.85]
    // Rhythm levels, µV rms at gain 1 (wake alpha depends on the eyes, N1 alpha on a draw).
    static let alphaLevel: [Double] = [7, 1.0, 0.6, 0.4, 1.0]
    /// Wake alpha with the eyes open, as a share of eyes-closed alpha.
    static let eyesOpenAlpha = 0.2
    /// N1 alpha level in the epochs (35 %) that keep some of wake's alpha, µV rms.
    static let n1AlphaLevel = 3.0
    static let thetaLevel: [Double] = [2.5, 8, 5, 5, 7]
    static let deltaLevel: [Double] = [4, 7, 11, 42, 6]
    /// Lowest N3 delta level, µV rms (peaks then reach well over 75 µV peak to peak).
    static let minimumN3Delta = 30.0
    static let muscleLevel: [Double] = [5, 2, 1, 0.8, 0.6]
    // Event rates, per 30-s epoch.
    static let spindleRate: [Double] = [0, 0.3, 2.5, 0.7, 0.05]
    static let kComplexRate: [Double] = [0, 0.1, 0.8, 0.3, 0]
    static let vertexRate: [Double] = [0.05, 1.5, 0.3, 0, 0.1]
    static let sawtoothRate: [Double] = [0, 0.1, 0, 0, 1.0]
    static let slowEyeRate: [Double] = [0.3, 1.0, 0.1, 0, 0.1]

    /// The signal of a night with `stages` (one per epoch) for a sleeper with
    /// `profile`: `stages.count × samplesPerEpoch` values in µV, epoch-major.
    public static func generate(stages: [Stage], profile: SynthProfile,
                                using rng: inout SeededGenerator) -> [Float] {
        let n = stages.count * samplesPerEpoch
        guard n > 0 else { return [] }
        var x = [Float](repeating: 0, count: n)
        var levels = Levels(epochs: stages.count)
        x.withUnsafeMutableBufferPointer { out in
            drawEpochs(stages, profile: profile, levels: &levels, into: out, using: &rng)
            addRhythms(levels, profile: profile, into: out, using: &rng)
        }
        return x
    }

    /// Per-epoch levels (µV rms) of the continuous components.
    struct Levels {
        var background, alpha, theta, delta, muscle: [Float]
        init(epochs: Int) {
            background = [Float](repeating: 0, count: epochs)
            alpha = background; theta = background; delta = background; muscle = background
        }
    }

    /// Draws each epoch's component levels and adds its transient events.
    private static func drawEpochs(_ stages: [Stage], profile p: SynthProfile, levels: inout Levels,
                                   into out: UnsafeMutableBufferPointer<Float>,
                                   using rng: inout SeededGenerator) {
        let g = p.gain
        let fs = sampleRate
        // Eye state in wake and phasic/tonic REM persist for a few epochs.
        var eyesClosed = rng.nextUnitDouble() < 0.6
        var phasic = rng.nextUnitDouble() < 0.6
        for (e, stage) in stages.enumerated() {
            let s = Int(stage.rawValue)
            if rng.nextUnitDouble() < 0.15 { eyesClosed.toggle() }
            if rng.nextUnitDouble() < 0.3 { phasic.toggle() }
            let n1Alpha = rng.nextUnitDouble() < 0.35

            var alpha = alphaLevel[s]
            if stage == .wake, !eyesClosed { alpha *= eyesOpenAlpha }
            if stage == .n1, n1Alpha { alpha = n1AlphaLevel }
            levels.background[e] = Float(g * backgroundLevel[s] * rng.lognormal(0.1))
            levels.alpha[e] = Float(g * p.alphaAmount * alpha * rng.lognormal(0.25))
            levels.theta[e] = Float(g * thetaLevel[s] * rng.lognormal(0.25))
            let deltaJitter = stage == .n3 ? rng.uniform(0.75, 1.35) : rng.lognormal(0.3)
            var delta = g * p.deltaAmount * deltaLevel[s] * deltaJitter
            // Scored N3 means slow waves over 75 µV peak to peak, whoever sleeps.
            if stage == .n3 { delta = max(delta, minimumN3Delta) }
            levels.delta[e] = Float(delta)
            levels.muscle[e] = Float(g * p.muscleAmount * muscleLevel[s] * rng.lognormal(stage == .wake ? 0.6 : 0.3))

            // Transients: start uniformly within the epoch, may run into the next.
            let epochStart = e * samplesPerEpoch
            func anyTime() -> Int { epochStart + Int(rng.nextUnitDouble() * Double(samplesPerEpoch)) }
            let spindleAmount = p.spindleAmount.squareRoot()
            for _ in 0..<rng.poisson(spindleRate[s] * spindleAmount) {
                let start = anyTime()
                addSpindle(at: start, profile: p, amount: spindleAmount, into: out, using: &rng)
            }
            for _ in 0..<rng.poisson(kComplexRate[s]) {
                let start = anyTime()
                let amplitude = g * rng.uniform(50, 100)
                addWave(at: start, seconds: 1.1, into: out) { t in
                    let a = (t - 0.2) / 0.08, b = (t - 0.55) / 0.18
                    return -amplitude * exp(-a * a) + 0.55 * amplitude * exp(-b * b)
                }
                if rng.nextUnitDouble() < 0.5 {
                    addSpindle(at: start + 70, profile: p, amount: spindleAmount, into: out, using: &rng)
                }
            }
            for _ in 0..<rng.poisson(vertexRate[s]) {
                let amplitude = g * rng.uniform(30, 65)
                addWave(at: anyTime(), seconds: 0.5, into: out) { t in
                    let a = (t - 0.15) / 0.05, b = (t - 0.3) / 0.07
                    return -amplitude * exp(-a * a) + 0.35 * amplitude * exp(-b * b)
                }
            }
            for _ in 0..<rng.poisson(sawtoothRate[s]) {
                let f = rng.uniform(2.5, 4.5)
                let waves = Double(3 + Int(rng.nextUnitDouble() * 6))
                let amplitude = g * rng.uniform(10, 22)
                let duration = waves / f, taper = 1 / f
                addWave(at: anyTime(), seconds: duration, into: out) { t in
                    let theta = 2 * Double.pi * f * t
                    // Three terms of the sawtooth series: a slow rise and a quick fall.
                    let saw = sin(theta) - sin(2 * theta) / 2 + sin(3 * theta) / 3
                    let edge = min(t, duration - t)
                    let w = edge < taper ? pow(sin(Double.pi * edge / (2 * taper)), 2) : 1
                    return amplitude * w * saw
                }
            }
            let slowEyes = stage == .wake ? (eyesClosed ? slowEyeRate[s] : 0) : slowEyeRate[s]
            for _ in 0..<rng.poisson(slowEyes) {
                let amplitude = g * rng.uniform(30, 70) * (rng.nextUnitDouble() < 0.5 ? -1 : 1)
                addBump(at: anyTime(), seconds: rng.uniform(2, 4), amplitude: amplitude, into: out)
            }
            if stage == .wake {
                for _ in 0..<rng.poisson(eyesClosed ? 0.3 : 3) {
                    addBump(at: anyTime(), seconds: rng.uniform(0.3, 0.45), amplitude: g * rng.uniform(60, 150), into: out)
                }
                if !eyesClosed {
                    for _ in 0..<rng.poisson(2) {
                        let start = anyTime()
                        addEyeMovement(at: start, gain: g, into: out, using: &rng)
                    }
                }
            }
            if stage == .rem, phasic {
                for _ in 0..<rng.poisson(1.3) {
                    var start = anyTime()
                    for _ in 0..<(1 + rng.poisson(1.5)) {
                        addEyeMovement(at: start, gain: g, into: out, using: &rng)
                        start += Int(rng.uniform(0.3, 1.0) * fs)
                    }
                }
            }
        }
    }

    /// Adds the continuous components in one pass over the night (their filters
    /// are independent chains the CPU overlaps). Each component's level is its
    /// epoch's, raised-cosine cross-faded with the neighbour's over
    /// ±`fadeHalfWidth` samples around each boundary.
    private static func addRhythms(_ levels: Levels, profile p: SynthProfile,
                                   into out: UnsafeMutableBufferPointer<Float>,
                                   using rng: inout SeededGenerator) {
        let epochs = levels.background.count
        let spe = samplesPerEpoch, h = fadeHalfWidth
        // Weight of the previous / next epoch's level at each sample of an epoch.
        func ramp(_ j: Int) -> Float { Float(0.5 - 0.5 * cos(Double.pi * (Double(j) + 0.5) / Double(2 * h))) }
        var fromPrevious = [Float](repeating: 0, count: spe), toNext = fromPrevious
        for j in 0..<h {
            fromPrevious[j] = 1 - ramp(h + j)
            toNext[spe - h + j] = ramp(j)
        }

        var background = BackgroundNoise(sampleRate: sampleRate)
        let density = backgroundDensity.squareRoot()
        var alpha = BandpassNoise(center: p.alphaPeakHz, bandwidth: 1.5, sampleRate: sampleRate)
        var theta = BandpassNoise(center: p.thetaHz, bandwidth: 2.5, sampleRate: sampleRate)
        var delta = BandpassNoise(center: 1.0, bandwidth: 1.5, sampleRate: sampleRate)
        var muscle = BandpassNoise(center: 30, bandwidth: 30, sampleRate: sampleRate)
        // Alpha comes in bursts: a slow (0.4 Hz) unit-variance modulator, clipped at zero.
        let k = 1 - exp(-2 * Double.pi * 0.4 / sampleRate)
        let modulatorScale = ((1 - (1 - k) * (1 - k)) / (k * k)).squareRoot()
        // E[max(0, 0.5 + 0.8 z)²] ≈ 0.784 for z ~ N(0, 1); rescale to unit mean power.
        let burstScale = 1 / 0.784.squareRoot()
        var modulator = 0.0

        for e in 0..<epochs {
            // (level, previous − level, next − level) of one component.
            func levelsOf(_ l: [Float]) -> (Float, Float, Float) {
                (l[e], e > 0 ? l[e - 1] - l[e] : 0, e + 1 < epochs ? l[e + 1] - l[e] : 0)
            }
            let bg = levelsOf(levels.background), al = levelsOf(levels.alpha)
            let th = levelsOf(levels.theta), de = levelsOf(levels.delta), mu = levelsOf(levels.muscle)
            let base = e * spe
            for j in 0..<spe {
                let wp = fromPrevious[j], wn = toNext[j]
                let (w1, w2) = rng.nextWhitePair()
                let (w3, w4) = rng.nextWhitePair()
                let (w5, w6) = rng.nextWhitePair()
                modulator += k * (w2 - modulator)
                let m = max(0, 0.5 + 0.8 * modulator * modulatorScale) * burstScale
                var v = (bg.0 + wp * bg.1 + wn * bg.2) * Float(density * background.next(w1))
                v += (al.0 + wp * al.1 + wn * al.2) * Float(alpha.next(w3) * m)
                v += (th.0 + wp * th.1 + wn * th.2) * Float(theta.next(w4))
                v += (de.0 + wp * de.1 + wn * de.2) * Float(delta.next(w5))
                v += (mu.0 + wp * mu.1 + wn * mu.2) * Float(muscle.next(w6))
                out[base + j] += v
            }
        }
    }

    /// Adds a spindle: 0.5–2 s, sin²-shaped waxing and waning, near the
    /// subject's spindle frequency.
    private static func addSpindle(at start: Int, profile p: SynthProfile, amount: Double,
                                   into out: UnsafeMutableBufferPointer<Float>,
                                   using rng: inout SeededGenerator) {
        let duration = rng.uniform(0.5, 2)
        let f = min(16, max(11, p.spindleHz + 0.4 * rng.nextGaussian()))
        let amplitude = p.gain * amount * 25 * rng.lognormal(0.3)
        let phase = 2 * Double.pi * rng.nextUnitDouble()
        addWave(at: start, seconds: duration, into: out) { t in
            let s = sin(Double.pi * t / duration)
            return amplitude * s * s * sin(2 * Double.pi * f * t + phase)
        }
    }

    /// Adds a rapid eye movement as seen through Fpz-Cz: a fast (~0.1 s) swing of
    /// 40–110 µV either way, decaying back over 0.3–0.7 s (AC coupling).
    private static func addEyeMovement(at start: Int, gain: Double,
                                       into out: UnsafeMutableBufferPointer<Float>,
                                       using rng: inout SeededGenerator) {
        let amplitude = gain * rng.uniform(40, 110) * (rng.nextUnitDouble() < 0.5 ? -1 : 1)
        let tau = rng.uniform(0.3, 0.7)
        addWave(at: start, seconds: 0.2 + 7 * tau, into: out) { t in
            amplitude / (1 + exp(-(t - 0.2) / 0.03)) * exp(-max(0, t - 0.2) / tau)
        }
    }

    /// Adds a smooth monophasic bump A·sin²(πt/d) (blinks, slow eye movements).
    private static func addBump(at start: Int, seconds: Double, amplitude: Double,
                                into out: UnsafeMutableBufferPointer<Float>) {
        addWave(at: start, seconds: seconds, into: out) { t in
            let s = sin(Double.pi * t / seconds)
            return amplitude * s * s
        }
    }

    /// Adds `wave(t)` (t in s from `start`) for `seconds`, clipped to the night.
    @inline(__always)
    private static func addWave(at start: Int, seconds: Double, into out: UnsafeMutableBufferPointer<Float>,
                                _ wave: (Double) -> Double) {
        let count = Int(seconds * sampleRate)
        let lo = max(0, start), hi = min(out.count, start + count)
        guard lo < hi else { return }
        for i in lo..<hi { out[i] += Float(wave(Double(i - start) / sampleRate)) }
    }
}
