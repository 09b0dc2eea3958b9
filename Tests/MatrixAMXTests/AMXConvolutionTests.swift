import Basics
import MatrixAMX
import Testing

/// The bf16 rounding, and the AMX convolution against a plain direct convolution
/// summed in Double. Runs where the CPU has AMX-BF16 (the development machine and
/// CI do); elsewhere the convolution tests are skipped and the rounding tests run.
struct AMXConvolutionTests {
    @Test func bfloat16RoundsToNearestTiesToEven() {
        #expect(bfloat16Bits(1) == 0x3F80)
        #expect(bfloat16Bits(-2) == 0xC000)
        #expect(bfloat16Bits(0) == 0)
        // Halfway cases go to the even neighbour; just above halfway goes up.
        #expect(bfloat16Bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)
        #expect(bfloat16Bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)
        #expect(bfloat16Bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(bfloat16Bits(Float(bitPattern: 0x3F80_7FFF)) == 0x3F80)
        #expect(floatFromBFloat16(bfloat16Bits(0.1)) == Float(bitPattern: 0x3DCD_0000))
        // Relative error at most 2^-8 (half a unit of bf16's 8-bit significand).
        var rng = SeededGenerator(seed: 5)
        for _ in 0..<10_000 {
            let x = Float.random(in: -1000...1000, using: &rng)
            let r = floatFromBFloat16(bfloat16Bits(x))
            #expect(abs(r - x) <= abs(x) * 0x1p-8)
        }
    }

    /// One layer's shape, its inputs and weights, and a reference in Double.
    struct Case: CustomStringConvertible {
        var C, F, K, padLeft, padRight, L: Int
        var stride = 1
        var description: String { "C \(C) F \(F) K \(K) stride \(stride) pad \(padLeft)/\(padRight) L \(L)" }
        var Lo: Int { (padLeft + L + padRight - K) / stride + 1 }

        /// out[f, t] = Σ_c Σ_j w[f, c, j] · x[c, stride·t + j − padLeft], and Σ |terms|.
        func reference(x: [Float], w: [Float]) -> (sums: [Double], magnitudes: [Double]) {
            var sums = [Double](repeating: 0, count: F * Lo), mags = sums
            for f in 0..<F {
                for t in 0..<Lo {
                    var s = 0.0, m = 0.0
                    for c in 0..<C {
                        for j in 0..<K {
                            let i = stride * t + j - padLeft
                            guard i >= 0 && i < L else { continue }
                            let term = Double(w[(f * C + c) * K + j]) * Double(x[c * L + i])
                            s += term
                            m += abs(term)
                        }
                    }
                    sums[f * Lo + t] = s
                    mags[f * Lo + t] = m
                }
            }
            return (sums, mags)
        }
    }

    static let cases = [
        Case(C: 64, F: 128, K: 8, padLeft: 4, padRight: 4, L: 250),   // AttnSleep's fine branch, conv 5
        Case(C: 128, F: 128, K: 7, padLeft: 3, padRight: 3, L: 31),   // the long-kernel branch, conv 8
        Case(C: 30, F: 30, K: 7, padLeft: 6, padRight: 0, L: 80),     // a causal convolution: channels padded
        Case(C: 3, F: 5, K: 1, padLeft: 0, padRight: 0, L: 17),       // odd channels, a pointwise kernel
        Case(C: 33, F: 40, K: 3, padLeft: 1, padRight: 2, L: 64),
        Case(C: 1, F: 64, K: 50, padLeft: 24, padRight: 24, L: 3000, stride: 6),     // the fine branch's conv 0
        Case(C: 1, F: 64, K: 400, padLeft: 200, padRight: 200, L: 3000, stride: 50), // the long-kernel branch's
        Case(C: 3, F: 8, K: 5, padLeft: 2, padRight: 0, L: 41, stride: 2),           // odd taps: a zero tap added
        Case(C: 2, F: 8, K: 9, padLeft: 3, padRight: 3, L: 70, stride: 3),           // odd stride: every phase
        Case(C: 1, F: 4, K: 4, padLeft: 0, padRight: 0, L: 300, stride: 50),         // few taps: one phase of 25
    ]

    static func data(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in Float.random(in: -1...1, using: &rng) }
    }

    func run(_ c: Case, x: [Float], w: [Float], lane: Int = 0) -> [Float] {
        let conv = AMXConvolution(inChannels: c.C, outChannels: c.F, kernel: c.K, stride: c.stride,
                                  padLeft: c.padLeft, padRight: c.padRight)
        #expect(conv.outputLength(c.L) == c.Lo)
        w.withUnsafeBufferPointer { conv.setWeights($0.baseAddress!) }
        conv.reserveLanes(lane + 1, inputLength: c.L)
        var out = [Float](repeating: .nan, count: c.F * c.Lo)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { conv.forward(sample: xp.baseAddress!, length: c.L, into: $0.baseAddress!, lane: lane) }
        }
        return out
    }

    /// Inputs and weights that are bf16 already: the products are exact, so the
    /// only difference from the Double reference is fp32 summation.
    @Test(.enabled(if: AMX.isUsable), arguments: cases)
    func exactOnBFloat16Values(_ c: Case) {
        let x = Self.data(c.C * c.L, seed: 1).map { floatFromBFloat16(bfloat16Bits($0)) }
        let w = Self.data(c.F * c.C * c.K, seed: 2).map { floatFromBFloat16(bfloat16Bits($0)) }
        let out = run(c, x: x, w: w)
        let (sums, mags) = c.reference(x: x, w: w)
        var worst = 0.0
        for i in 0..<out.count { worst = max(worst, abs(Double(out[i]) - sums[i]) / max(mags[i], 1e-30)) }
        #expect(worst <= 2e-6, "\(c): worst |out − ref| / Σ|terms| = \(worst)")
    }

    /// fp32 inputs: within bf16's rounding of both factors ((2 · 2^-8 + 2^-16) of Σ|terms|).
    @Test(.enabled(if: AMX.isUsable), arguments: cases)
    func withinBFloat16RoundingOnFloatValues(_ c: Case) {
        let x = Self.data(c.C * c.L, seed: 3), w = Self.data(c.F * c.C * c.K, seed: 4)
        let out = run(c, x: x, w: w)
        let (sums, mags) = c.reference(x: x, w: w)
        var worst = 0.0
        for i in 0..<out.count { worst = max(worst, abs(Double(out[i]) - sums[i]) / max(mags[i], 1e-30)) }
        #expect(worst <= 2 * 0x1p-8 + 0x1p-16 + 2e-6, "\(c): worst |out − ref| / Σ|terms| = \(worst)")
        #expect(worst > 0, "bf16 rounds fp32 inputs: some output must differ")
    }

    /// The same bits on any lane and whatever ran before on it.
    @Test(.enabled(if: AMX.isUsable))
    func sameBitsOnEveryLane() {
        let c = Self.cases[0]
        let x = Self.data(c.C * c.L, seed: 6), w = Self.data(c.F * c.C * c.K, seed: 7)
        let first = run(c, x: x, w: w, lane: 0)
        let other = run(c, x: x, w: w, lane: 3)
        #expect(first.map(\.bitPattern) == other.map(\.bitPattern))
        // A longer sample before on the same lane leaves nothing behind.
        let conv = AMXConvolution(inChannels: c.C, outChannels: c.F, kernel: c.K, padLeft: c.padLeft, padRight: c.padRight)
        w.withUnsafeBufferPointer { conv.setWeights($0.baseAddress!) }
        conv.reserveLanes(1, inputLength: 400)
        let long = Self.data(c.C * 400, seed: 8)
        var scratch = [Float](repeating: 0, count: c.F * conv.outputLength(400))
        long.withUnsafeBufferPointer { xp in
            scratch.withUnsafeMutableBufferPointer { conv.forward(sample: xp.baseAddress!, length: 400, into: $0.baseAddress!, lane: 0) }
        }
        var again = [Float](repeating: 0, count: c.F * c.Lo)
        x.withUnsafeBufferPointer { xp in
            again.withUnsafeMutableBufferPointer { conv.forward(sample: xp.baseAddress!, length: c.L, into: $0.baseAddress!, lane: 0) }
        }
        #expect(again.map(\.bitPattern) == first.map(\.bitPattern))
    }
}
