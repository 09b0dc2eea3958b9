import Basics
import MatrixAMX
import Testing

/// AMXLinear against y = x Wᵀ summed in Double. Runs where the CPU has AMX-BF16.
struct AMXLinearTests {
    struct Case: CustomStringConvertible {
        var rows, I, O: Int
        var description: String { "\(rows) rows, \(I) → \(O)" }
    }

    static let cases = [
        Case(rows: 960, I: 80, O: 120),   // AttnSleep's feed-forward w_1 on a slice of 32 samples
        Case(rows: 33, I: 2400, O: 5),    // the classifier: few outputs, a long reduction
        Case(rows: 40, I: 7, O: 33),      // odd features, a partial block of outputs
    ]

    static func data(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in Float.random(in: -1...1, using: &rng) }
    }

    /// max over outputs of |y − ref| / Σ|terms|.
    func worst(_ c: Case, x: [Float], w: [Float]) -> Double {
        let linear = AMXLinear(inFeatures: c.I, outFeatures: c.O)
        w.withUnsafeBufferPointer { linear.setWeights($0.baseAddress!) }
        linear.reserveLanes(1)
        var y = [Float](repeating: .nan, count: c.rows * c.O)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { linear.forward(rows: xp.baseAddress!, count: c.rows, into: $0.baseAddress!, lane: 0) }
        }
        var worst = 0.0
        for r in 0..<c.rows {
            for o in 0..<c.O {
                var s = 0.0, m = 0.0
                for i in 0..<c.I {
                    let term = Double(x[r * c.I + i]) * Double(w[o * c.I + i])
                    s += term
                    m += abs(term)
                }
                worst = max(worst, abs(Double(y[r * c.O + o]) - s) / max(m, 1e-30))
            }
        }
        return worst
    }

    @Test(.enabled(if: AMX.isUsable), arguments: cases)
    func exactOnBFloat16Values(_ c: Case) {
        let x = Self.data(c.rows * c.I, seed: 1).map { floatFromBFloat16(bfloat16Bits($0)) }
        let w = Self.data(c.O * c.I, seed: 2).map { floatFromBFloat16(bfloat16Bits($0)) }
        let e = worst(c, x: x, w: w)
        #expect(e <= 2e-6, "\(c): worst |y − ref| / Σ|terms| = \(e)")
    }

    @Test(.enabled(if: AMX.isUsable), arguments: cases)
    func withinBFloat16RoundingOnFloatValues(_ c: Case) {
        let e = worst(c, x: Self.data(c.rows * c.I, seed: 3), w: Self.data(c.O * c.I, seed: 4))
        #expect(e > 0 && e <= 2 * 0x1p-8 + 0x1p-16 + 2e-6, "\(c): worst |y − ref| / Σ|terms| = \(e)")
    }
}
