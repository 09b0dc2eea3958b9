import Foundation
import Basics
import Recordings
import Cohorts
import Preparation

/// The traits of one synthetic subject, or of one of its nights: amplitudes,
/// rhythm frequencies and stage-share factors the EEG and hypnogram are drawn with.
///
/// A subject's profile is drawn from the run seed and the subject index only
/// (its own random stream), so subject k is the same person whatever the cohort
/// size; each night then varies the subject's traits a little. Factors are 1 for
/// an average subject.
public struct SynthProfile: Sendable, Equatable {
    /// Overall amplitude factor of the whole signal (skull, electrode, age).
    public var gain: Double
    /// Peak frequency of the wake alpha rhythm, Hz (8.5–11.5 across subjects).
    public var alphaPeakHz: Double
    /// Alpha amplitude factor (some people have little alpha).
    public var alphaAmount: Double
    /// Centre frequency of sleep spindles, Hz (12–14.5 across subjects).
    public var spindleHz: Double
    /// Spindle amplitude and density factor.
    public var spindleAmount: Double
    /// Centre frequency of N1/REM theta, Hz (5–6.5).
    public var thetaHz: Double
    /// Slow-wave amplitude factor.
    public var deltaAmount: Double
    /// Muscle-artefact factor in wake.
    public var muscleAmount: Double
    /// Factors on the time spent in N1, N3 and REM.
    public var n1Share: Double
    public var n3Share: Double
    public var remShare: Double
    /// Factor on the rate of brief awakenings and lightenings during sleep.
    public var arousal: Double

    /// The profile of subject `index` under run seed `seed`.
    public static func subject(_ index: Int, seed: UInt64) -> SynthProfile {
        var rng = SeededGenerator(seed: seed, stream: SynthStreams.subject(index))
        func lognormal(_ sigma: Double) -> Double { exp(sigma * rng.nextGaussian()) }
        let gain = lognormal(0.2)
        let alphaPeak = min(11.5, max(8.5, 10 + 0.7 * rng.nextGaussian()))
        let alphaAmount = lognormal(0.35)
        let spindleHz = 12 + 2.5 * rng.nextUnitDouble()
        let spindleAmount = lognormal(0.25)
        let thetaHz = 5 + 1.5 * rng.nextUnitDouble()
        // Less slow-wave amplitude goes with less N3 scored (older sleepers).
        let deltaDraw = rng.nextGaussian()
        let deltaAmount = exp(0.2 * deltaDraw)
        let muscle = lognormal(0.4)
        let n1 = lognormal(0.25)
        let n3 = exp(0.2 * deltaDraw + 0.15 * rng.nextGaussian())
        let rem = lognormal(0.12)
        let arousal = lognormal(0.3)
        return SynthProfile(gain: gain, alphaPeakHz: alphaPeak, alphaAmount: alphaAmount,
                            spindleHz: spindleHz, spindleAmount: spindleAmount, thetaHz: thetaHz,
                            deltaAmount: deltaAmount, muscleAmount: muscle, n1Share: n1,
                            n3Share: n3, remShare: rem, arousal: arousal)
    }

    /// This subject's profile on night `night` (1 or 2): the same person with
    /// night-to-night variation, drawn from `rng` (the night's stream).
    func varied(using rng: inout SeededGenerator) -> SynthProfile {
        func factor(_ sigma: Double) -> Double { exp(sigma * rng.nextGaussian()) }
        var p = self
        p.gain *= factor(0.06)
        p.alphaPeakHz = min(11.7, max(8.3, p.alphaPeakHz + 0.15 * rng.nextGaussian()))
        p.alphaAmount *= factor(0.1)
        p.spindleHz += 0.1 * rng.nextGaussian()
        p.spindleAmount *= factor(0.08)
        p.thetaHz += 0.1 * rng.nextGaussian()
        p.deltaAmount *= factor(0.08)
        p.muscleAmount *= factor(0.15)
        p.n1Share *= factor(0.12)
        p.n3Share *= factor(0.12)
        p.remShare *= factor(0.1)
        p.arousal *= factor(0.2)
        return p
    }
}

/// Stream numbers of `SeededGenerator(seed:stream:)` for the synthetic cohort:
/// one for each subject's profile, and per night one for its hypnogram and one
/// for its signal, so no subject or night depends on what else is generated.
enum SynthStreams {
    static func subject(_ index: Int) -> UInt64 { base(index) }
    static func hypnogram(subject: Int, night: Int) -> UInt64 { base(subject) | (night == 2 ? 2 : 1) }
    static func signal(subject: Int, night: Int) -> UInt64 { base(subject) | (night == 2 ? 4 : 3) }
    private static func base(_ subject: Int) -> UInt64 { UInt64(truncatingIfNeeded: subject) << 3 }
}
