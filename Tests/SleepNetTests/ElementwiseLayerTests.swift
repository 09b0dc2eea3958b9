import SleepNet
import Testing
import Basics
import Recordings
import Evaluation

/// One max-pool configuration.
struct PoolCase: Sendable, CustomStringConvertible {
    var kernel, stride, padding, length: Int
    var dropout: Float = 0
    var description: String { "K\(kernel) s\(stride) p\(padding) L\(length) dropout \(dropout)" }
}

@Suite struct ElementwiseLayerTests {
    @Test func geluBackwardMatchesFiniteDifferences() {
        let gelu = GELU()
        let x = randomTensor(Shape(2, 3, 7), seed: 1, scale: 3)
        let checker = GradientChecker(seed: 2) { gelu.forward(x) }
        gelu.forward(x)
        checker.check("dx", values: x.buffer, analytic: gelu.backward(checker.upstream).array)
    }

    /// Exact (erf) GELU, not the tanh approximation: Φ(1) = 0.841344746.
    @Test func geluIsTheErfForm() {
        let y = GELU().forward(Tensor(shape: Shape(3), values: [1, -2, 0.5]))
        #expect(abs(y.data[0] - 0.841344746) < 1e-6)
        #expect(abs(y.data[1] - (-2 * 0.022750132)) < 1e-6)
        #expect(abs(y.data[2] - 0.5 * 0.691462461) < 1e-6)
    }

    @Test func reluBackwardMatchesFiniteDifferences() {
        let relu = ReLU()
        // Values kept away from the kink at 0 so central differences are valid.
        let x = randomTensor(Shape(2, 3, 5), seed: 1)
        for i in 0..<x.count where abs(x.data[i]) < 0.05 { x.data[i] = 0.3 }
        let checker = GradientChecker(seed: 2) { relu.forward(x) }
        relu.forward(x)
        checker.check("dx", values: x.buffer, analytic: relu.backward(checker.upstream).array)
    }

    @Test(arguments: [
        PoolCase(kernel: 8, stride: 2, padding: 4, length: 21),
        PoolCase(kernel: 4, stride: 4, padding: 2, length: 19),
        PoolCase(kernel: 2, stride: 2, padding: 1, length: 9),
        PoolCase(kernel: 3, stride: 1, padding: 0, length: 8),
        PoolCase(kernel: 8, stride: 2, padding: 4, length: 21, dropout: 0.5),
        PoolCase(kernel: 8, stride: 2, padding: 4, length: 75, dropout: 0.5),   // 16 windows at a time
        PoolCase(kernel: 6, stride: 2, padding: 3, length: 70),
        PoolCase(kernel: 4, stride: 3, padding: 1, length: 5),
        PoolCase(kernel: 1, stride: 1, padding: 0, length: 6),
    ])
    func maxPoolBackwardMatchesFiniteDifferences(_ c: PoolCase) {
        let pool = MaxPool1d(kernel: c.kernel, stride: c.stride, padding: c.padding, dropout: c.dropout)
        let x = randomTensor(Shape(2, 3, c.length), seed: 1)
        // Evaluation (no indices kept, separate code path) gives the plain maxima.
        let evaluation = MaxPool1d(kernel: c.kernel, stride: c.stride, padding: c.padding, dropout: c.dropout)
        let e = evaluation.forward(x).array
        let y = pool.forward(x, training: true, key: 42)
        #expect(y.shape == Shape(2, 3, (c.length + 2 * c.padding - c.kernel) / c.stride + 1))
        // Padding is −∞: every output is the max of the real values in its window.
        for bc in 0..<6 {
            for t in 0..<y.shape[2] {
                let lo = max(0, t * c.stride - c.padding), hi = min(c.length, t * c.stride - c.padding + c.kernel)
                let m = (lo..<hi).map { x.data[bc * c.length + $0] }.max()!
                let v = y.data[bc * y.shape[2] + t]
                #expect(v == m || (c.dropout > 0 && (v == 0 || v == m / (1 - c.dropout))))
                #expect(e[bc * y.shape[2] + t] == m)
            }
        }
        // A small step cannot change which element wins (random values, no ties).
        if c.dropout > 0 {
            let dropped = y.array.filter { $0 == 0 }.count
            #expect(dropped > 0 && dropped < y.count)
        }
        let checker = GradientChecker(seed: 2) { pool.forward(x, training: true, key: 42) }
        pool.forward(x, training: true, key: 42)
        checker.check("dx", values: x.buffer, analytic: pool.backward(checker.upstream).array, h: 1e-4,
                      samples: 200)
    }

    /// Ties: the first maximum of a window takes the gradient, as in PyTorch;
    /// padding never wins.
    @Test func maxPoolTiesGoToTheFirstMaximum() {
        let pool = MaxPool1d(kernel: 4, stride: 2, padding: 2)
        let x = Tensor(shape: Shape(1, 1, 6), values: [-5, 3, 3, 1, 3, -1])
        let y = pool.forward(x, training: true)
        #expect(y.array == [3, 3, 3, 3])   // windows {-5,3} {-5,3,3,1} {3,1,3,-1} {3,-1}
        let dx = pool.backward(Tensor(shape: Shape(1, 1, 4), values: [1, 10, 100, 1000])).array
        #expect(dx == [0, 11, 100, 0, 1000, 0])
    }

    /// Near-ties: windows whose winner and runner-up differ by at most the bound,
    /// found with the winner the forward picks and the input the gradient would
    /// go to otherwise; padding never counts, nor a window of one real input.
    @Test func maxPoolReportsNearTies() {
        let pool = MaxPool1d(kernel: 3, stride: 3, padding: 1)
        let row0: [Float] = [-5, 1, 4, 5, 2, 5, -1, 7]
        let row1: [Float] = [4, 4, 0, -3, -2, -2.5, 9, 3]
        let x = Tensor(shape: Shape(1, 2, 8), values: row0 + row1)
        // Windows (padding 1): row 0 {-5, 1} {4, 5, 2} {5, -1, 7}, gaps 6, 1, 2 (bound 2);
        // row 1 {4, 4} {0, -3, -2} {-2.5, 9, 3}, gaps 0, 2, 6 (bound 1e-3).
        var asked = 0
        let ties = pool.nearTies(in: x) { row, _, _ in
            asked += 1
            return row == 0 ? 2 : 1e-3
        }
        #expect(asked == 6)
        #expect(ties == [
            MaxPool1d.NearTie(row: 0, window: 1, winner: 3, runnerUp: 2, gap: 1, bound: 2),
            MaxPool1d.NearTie(row: 0, window: 2, winner: 7, runnerUp: 5, gap: 2, bound: 2),
            MaxPool1d.NearTie(row: 1, window: 0, winner: 0, runnerUp: 1, gap: 0, bound: 1e-3),
        ])
        // A gap of a few ulp is found at a bound of ε-size; a bound below it finds nothing.
        let near = Tensor(shape: Shape(1, 1, 3), values: [1, 1 + 2 * Float.ulpOfOne, 0.5])
        let single = MaxPool1d(kernel: 3, stride: 3, padding: 0)
        #expect(single.nearTies(in: near) { _, _, _ in 4 * Float.ulpOfOne }
            == [MaxPool1d.NearTie(row: 0, window: 0, winner: 1, runnerUp: 0, gap: 2 * Float.ulpOfOne, bound: 4 * Float.ulpOfOne)])
        #expect(single.nearTies(in: near) { _, _, _ in Float.ulpOfOne }.isEmpty)
        // The winner is the one forward routes the gradient to.
        single.forward(near, training: true)
        #expect(single.backward(Tensor(shape: Shape(1, 1, 1), values: [1])).array == [0, 1, 0])
        // A window with one real input (padding 1, kernel 2, stride 2 over a row of 1) has no runner-up.
        #expect(MaxPool1d(kernel: 2, stride: 2, padding: 1).nearTies(in: Tensor(shape: Shape(1, 1, 1), values: [3])) { _, _, _ in 1 }.isEmpty)
    }

    @Test func dropoutBackwardMatchesFiniteDifferences() {
        let drop = Dropout(probability: 0.3)
        let x = randomTensor(Shape(2, 4, 6), seed: 1)
        let checker = GradientChecker(seed: 2) { drop.forward(x, training: true, key: 77) }
        drop.forward(x, training: true, key: 77)
        checker.check("dx", values: x.buffer, analytic: drop.backward(checker.upstream).array)
    }

    @Test func dropoutDropsAboutPAndScalesTheRest() {
        let drop = Dropout(probability: 0.5)
        let x = Tensor(shape: Shape(100_000), values: Array(repeating: 1, count: 100_000))
        let y = drop.forward(x, training: true, key: 12345)
        let zeros = y.array.filter { $0 == 0 }.count
        #expect(abs(Double(zeros) / 100_000 - 0.5) < 0.01)
        #expect(y.array.allSatisfy { $0 == 0 || $0 == 2 })
        // Same key, same mask; another key, another mask.
        let again = Dropout(probability: 0.5).forward(x, training: true, key: 12345).array
        #expect(again == y.array)
        let other = Dropout(probability: 0.5).forward(x, training: true, key: 54321).array
        #expect(other != y.array)
    }

    /// The mask as documented, element by element: SplitMix64 stream per chunk of
    /// 4096 elements (key ^ chunk · 0xD1B54A32D192ED03), four 16-bit draws per hash.
    static func referenceDropout(_ x: [Float], p: Float, key: UInt64, streamStart: (Int) -> (UInt64, Int)) -> [Float] {
        let threshold = UInt32(min(Double(p) * 65536, 65535)), scale = 1 / (1 - p)
        return x.indices.map { i in
            let (stream, offset) = streamStart(i)
            var z = stream
            z &+= UInt64(offset / 4 + 1) &* 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let bits = UInt32(truncatingIfNeeded: z >> (16 * UInt64(offset % 4))) & 0xFFFF
            return bits < threshold ? 0 : x[i] * scale
        }
    }

    @Test func dropoutMaskFollowsItsStreamExactly() {
        // Lengths around the 16-wide, 4-wide and chunk boundaries.
        for n in [3, 16, 37, 4096 + 29] {
            let values = randomTensor(Shape(n), seed: UInt64(n)).array
            let x = Tensor(shape: Shape(n), values: values)
            let key: UInt64 = 0xABCD_1234
            let got = Dropout(probability: 0.5).forward(x, training: true, key: key).array
            let expected = Self.referenceDropout(values, p: 0.5, key: key) { i in
                (key ^ (UInt64(i / 4096) &* 0xD1B5_4A32_D192_ED03), i % 4096)
            }
            #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "n = \(n)")
        }
    }

    @Test func poolDropoutMaskFollowsItsStreamExactly() {
        // Pool 1 (identity) then dropout: each (sample, channel) row has its own stream.
        let (B, C, L) = (2, 3, 37)
        let values = randomTensor(Shape(B, C, L), seed: 5).array
        let x = Tensor(shape: Shape(B, C, L), values: values)
        let key: UInt64 = 99
        let got = MaxPool1d(kernel: 1, stride: 1, padding: 0, dropout: 0.25).forward(x, training: true, key: key).array
        let expected = Self.referenceDropout(values, p: 0.25, key: key) { i in
            (key ^ (UInt64(i / L) &* 0xD1B5_4A32_D192_ED03), i % L)
        }
        #expect(got.map(\.bitPattern) == expected.map(\.bitPattern))
    }

    @Test func dropoutIsIdentityAtZeroOrInEvaluation() {
        let x = randomTensor(Shape(3, 4), seed: 1)
        #expect(Dropout(probability: 0).forward(x, training: true, key: 1) === x)
        #expect(Dropout(probability: 0.5).forward(x, training: false, key: 1) === x)
    }
}
