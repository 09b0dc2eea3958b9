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

    @Test(arguments: cases)
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
                let lo = max(t * c.stride - c.padding, 0), hi = min(t * c.stride - c.padding + c.kernel, L)
                var winner = lo
                for j in lo..<hi where values[r * L + j] > values[r * L + winner] { winner = j }
                #expect(y[r * Lo + t] == values[r * L + winner])
                expected[r * L + winner] += dy.data[r * Lo + t]
            }
        }
        #expect(dx == expected)
    }
}
