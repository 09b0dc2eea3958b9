import SleepNet
import Testing
import Basics

/// The winners a training forward keeps (8 stride-2 windows at a time inside
/// the row, one by one at its edges) against the definition: the first
/// maximum of each window takes its gradient. Inputs from a few integers, so
/// most windows hold ties.
@Suite struct MaxPool1dWinnerTests {
    struct Case: Sendable, CustomStringConvertible {
        var kernel, stride, padding, length: Int
        var description: String { "K\(kernel) s\(stride) p\(padding) L\(length)" }
    }

    static let cases: [Case] = [
        Case(kernel: 8, stride: 2, padding: 4, length: 500),   // AttnSleep's features1.3
        Case(kernel: 4, stride: 2, padding: 2, length: 56),    // features2.3
        Case(kernel: 8, stride: 2, padding: 4, length: 37),
        Case(kernel: 5, stride: 2, padding: 0, length: 64),
        Case(kernel: 2, stride: 2, padding: 1, length: 33),
        Case(kernel: 4, stride: 4, padding: 2, length: 251),
    ]

    /// Shapes for the other paths: stride 2 with odd padding (the phases
    /// swapped), a kernel that is not a power of two (the doubling forward),
    /// strides 1 and 3, fewer than 16 inner windows (one by one).
    static let extraCases: [Case] = [
        Case(kernel: 8, stride: 2, padding: 3, length: 100),
        Case(kernel: 6, stride: 2, padding: 3, length: 70),
        Case(kernel: 4, stride: 2, padding: 1, length: 67),
        Case(kernel: 16, stride: 2, padding: 8, length: 90),
        Case(kernel: 8, stride: 1, padding: 4, length: 40),
        Case(kernel: 4, stride: 3, padding: 2, length: 50),
        Case(kernel: 2, stride: 2, padding: 1, length: 31),
    ]

    @Test(arguments: cases + extraCases)
    func firstMaximumTakesTheGradient(_ c: Case) {
        let B = 2, C = 3, L = c.length
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        let values: [Float] = (0..<(B * C * L)).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(state % 4)
        }
        let pool = MaxPool1d(kernel: c.kernel, stride: c.stride, padding: c.padding)
        let x = Tensor(shape: Shape(B, C, L), values: values)
        let Lo = pool.outputLength(L)
        let y = pool.forward(x, training: true).array
        let dy = Tensor(shape: Shape(B, C, Lo), values: (0..<(B * C * Lo)).map { Float($0 % 97 + 1) })
        let dx = pool.backward(dy).array
        var expected = [Float](repeating: 0, count: B * C * L)
        for r in 0..<(B * C) {
            for t in 0..<Lo {
                let winner = Self.firstMaximum(values, row: r, window: t, c, length: L)
                #expect(y[r * Lo + t] == values[r * L + winner])
                expected[r * L + winner] += dy.data[r * Lo + t]
            }
        }
        #expect(dx == expected)
    }

    /// The phase-split forward keeps the bits of the definition with signed
    /// zeros: the first maximum's value (−0 or +0, as it comes first) is the
    /// output, and each input's gradient is the sum of its windows' in window
    /// order from +0 (so −0 gradients give +0).
    @Test(arguments: cases + extraCases)
    func signedZerosKeepTheirBits(_ c: Case) {
        let B = 2, C = 2, L = c.length
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return state
        }
        let values: [Float] = (0..<(B * C * L)).map { _ in [0, -0.0, 1, -1][Int(next() % 4)] }
        let pool = MaxPool1d(kernel: c.kernel, stride: c.stride, padding: c.padding)
        let x = Tensor(shape: Shape(B, C, L), values: values)
        let Lo = pool.outputLength(L)
        let y = pool.forward(x, training: true).array
        let e = MaxPool1d(kernel: c.kernel, stride: c.stride, padding: c.padding).forward(x).array
        let dyValues: [Float] = (0..<(B * C * Lo)).map { _ in [-0.0, 0, 0.5, -0.25, 3][Int(next() % 5)] }
        let dx = pool.backward(Tensor(shape: Shape(B, C, Lo), values: dyValues)).array
        var expected = [Float](repeating: 0, count: B * C * L)
        for r in 0..<(B * C) {
            for t in 0..<Lo {
                let winner = Self.firstMaximum(values, row: r, window: t, c, length: L)
                // (A kernel that is not a power of two keeps the larger of two
                // overlapping windows' maxima, the later one when they are equal.)
                if c.kernel & (c.kernel - 1) == 0 {
                    #expect(y[r * Lo + t].bitPattern == values[r * L + winner].bitPattern, "\(c) row \(r) window \(t)")
                    #expect(e[r * Lo + t].bitPattern == values[r * L + winner].bitPattern, "\(c) row \(r) window \(t)")
                }
                #expect(y[r * Lo + t] == values[r * L + winner] && e[r * Lo + t] == y[r * Lo + t])
                expected[r * L + winner] += dyValues[r * Lo + t]
            }
        }
        #expect(dx.map(\.bitPattern) == expected.map(\.bitPattern), "\(c)")
    }

    /// A pool writing into rows of a wider tensor (its stretch of a concatenation)
    /// writes what the plain forward gives, touches nothing else, and its backward
    /// reads the gradient from the same place.
    @Test func stridedRowsMatchThePlainPool() {
        let (B, C, L, width, offset) = (3, 4, 253, 80, 7)
        let x = randomTensor(Shape(B, C, L), seed: 11)
        let plain = MaxPool1d(kernel: 4, stride: 4, padding: 2)
        let y = plain.forward(x, training: true).array
        let Lo = plain.outputLength(L)
        let dyRows = randomTensor(Shape(B, C, Lo), seed: 12)
        let dx = plain.backward(dyRows).array
        let wide = Tensor(shape: Shape(B, C, width), values: Array(repeating: 7.5, count: B * C * width))
        let placed = MaxPool1d(kernel: 4, stride: 4, padding: 2)
        placed.forward(x, training: true, into: wide.data + offset, rowStride: width)
        for r in 0..<(B * C) {
            for t in 0..<width {
                let inside = t >= offset && t < offset + Lo
                #expect(wide.data[r * width + t] == (inside ? y[r * Lo + t - offset] : 7.5))
            }
        }
        let dyWide = Tensor(shape: Shape(B, C, width))
        for r in 0..<(B * C) {
            for t in 0..<Lo { dyWide.data[r * width + offset + t] = dyRows.data[r * Lo + t] }
        }
        #expect(placed.backward(UnsafePointer(dyWide.data + offset), rowStride: width).array == dx)
    }

    /// The definition: the first index of the largest value in window t of row r (padding excluded).
    static func firstMaximum(_ values: [Float], row r: Int, window t: Int, _ c: Case, length L: Int) -> Int {
        let lo = max(t * c.stride - c.padding, 0), hi = min(t * c.stride - c.padding + c.kernel, L)
        var winner = lo
        for j in lo..<hi where values[r * L + j] > values[r * L + winner] { winner = j }
        return winner
    }
}
