import Foundation
import Basics
import Recordings
import EDF
import Preparation

/// Band-limited noise: two identical second-order band-pass sections (RBJ
/// cookbook) in cascade, whose skirts fall off fast enough that a rhythm stays
/// in its band, scaled so that unit-variance white noise in gives unit-variance
/// noise out.
struct BandpassNoise {
    private let gain, a1, a2: Double
    // Section 1 and section 2 states (direct form I).
    private var x1 = 0.0, x2 = 0.0, y1 = 0.0, y2 = 0.0
    private var z1 = 0.0, z2 = 0.0

    /// A band around `center` Hz whose −3 dB width (of the cascade) is
    /// `bandwidth` Hz, at `sampleRate` Hz.
    init(center: Double, bandwidth: Double, sampleRate: Double) {
        let w0 = 2 * Double.pi * center / sampleRate
        // One section is at −1.5 dB where |f/f0 − f0/f| = 0.6436/Q, so the
        // cascade's −3 dB points lie `bandwidth` apart for this Q.
        let q = 0.6436 * center / bandwidth
        let alpha = sin(w0) / (2 * q)
        let a0 = 1 + alpha
        let b0 = alpha / a0
        a1 = -2 * cos(w0) / a0
        a2 = (1 - alpha) / a0
        // Output variance for unit white input = energy of the impulse response.
        var probe = BandpassNoise(b0: b0, a1: a1, a2: a2)
        var energy = 0.0
        for n in 0..<32_768 {
            let y = probe.next(n == 0 ? 1 : 0)
            energy += y * y
        }
        gain = b0 / energy.squareRoot()
    }

    private init(b0: Double, a1: Double, a2: Double) {
        gain = b0
        self.a1 = a1
        self.a2 = a2
    }

    /// Filters one white-noise sample.
    @inline(__always)
    mutating func next(_ x: Double) -> Double {
        // Both sections have numerator (1 − z⁻²); the gain is applied once.
        let y = x - x2 - a1 * y1 - a2 * y2
        let z = y - y2 - a1 * z1 - a2 * z2
        x2 = x1; x1 = x
        y2 = y1; y1 = y
        z2 = z1; z1 = z
        return gain * z
    }
}

/// The EEG background: pink (1/f) noise from Paul Kellet's refined filter,
/// steepened above a few Hz by a low-pass shelf (EEG spectra fall faster than
/// 1/f between 2 and 30 Hz) and freed of drift below 0.16 Hz by a DC blocker.
/// Scaled so that unit-variance white noise in gives a one-sided density of
/// 1 µV²/Hz at 1 Hz.
struct BackgroundNoise {
    // Kellet's pink filter: six one-pole sections (pole, gain) plus a direct path.
    private static let poles: [Double] = [0.99886, 0.99332, 0.96900, 0.86650, 0.55000, -0.7616]
    private static let gains: [Double] = [0.0555179, 0.0750759, 0.1538520, 0.3104856, 0.5329522, -0.0168980]
    private static let direct = 0.5362, delayed = 0.115926
    /// Corner of the steepening low-pass, Hz, and the share of plain pink kept above it.
    private static let shelfCorner = 3.0, shelfFloor = 0.3
    /// DC-blocker pole (corner ≈ 0.16 Hz at 100 Hz).
    private static let dcPole = 0.99

    private var b0 = 0.0, b1 = 0.0, b2 = 0.0, b3 = 0.0, b4 = 0.0, b5 = 0.0, b6 = 0.0
    private var low = 0.0, previous = 0.0, blocked = 0.0
    private let beta: Double
    private let scale: Double

    init(sampleRate: Double) {
        beta = 1 - exp(-2 * Double.pi * Self.shelfCorner / sampleRate)
        // |H(1 Hz)|² of the whole chain, from its transfer function at z = e^{iω}.
        let w = 2 * Double.pi * 1.0 / sampleRate
        let zr = cos(w), zi = -sin(w)  // z⁻¹
        func div(_ a: (Double, Double), _ b: (Double, Double)) -> (Double, Double) {
            let d = b.0 * b.0 + b.1 * b.1
            return ((a.0 * b.0 + a.1 * b.1) / d, (a.1 * b.0 - a.0 * b.1) / d)
        }
        func mul(_ a: (Double, Double), _ b: (Double, Double)) -> (Double, Double) {
            (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
        }
        var pink = (Self.direct + Self.delayed * zr, Self.delayed * zi)
        for (p, g) in zip(Self.poles, Self.gains) {
            let term = div((g, 0), (1 - p * zr, -p * zi))
            pink = (pink.0 + term.0, pink.1 + term.1)
        }
        var shelf = div((beta, 0), (1 - (1 - beta) * zr, -(1 - beta) * zi))
        shelf.0 += Self.shelfFloor
        let dc = div((1 - zr, -zi), (1 - Self.dcPole * zr, -Self.dcPole * zi))
        let h = mul(mul(pink, shelf), dc)
        let density = (h.0 * h.0 + h.1 * h.1) * 2 / sampleRate
        scale = 1 / density.squareRoot()
    }

    /// Filters one unit-variance white-noise sample.
    @inline(__always)
    mutating func next(_ white: Double) -> Double {
        b0 = 0.99886 * b0 + white * 0.0555179
        b1 = 0.99332 * b1 + white * 0.0750759
        b2 = 0.96900 * b2 + white * 0.1538520
        b3 = 0.86650 * b3 + white * 0.3104856
        b4 = 0.55000 * b4 + white * 0.5329522
        b5 = -0.7616 * b5 - white * 0.0168980
        let pink = b0 + b1 + b2 + b3 + b4 + b5 + b6 + white * 0.5362
        b6 = white * 0.115926
        low += beta * (pink - low)
        let shaped = low + Self.shelfFloor * pink
        blocked = shaped - previous + Self.dcPole * blocked
        previous = shaped
        return blocked * scale
    }
}
