import Testing
import Basics
import Elementwise
import ElementwiseAVX512

/// The evaluation's elementwise loops compiled for AVX-512 (module
/// ElementwiseAVX512, 16 floats to a register) against the scalar form SleepNet
/// runs on the AVX2 and OpenBLAS backends: the same bits, row by row.
@Suite(.enabled(if: CPUFeatures.current.hasAVX512, "needs a CPU with AVX-512"))
struct ElementwiseAVX512Tests {
    static func uniform(_ count: Int, seed: UInt64, scale: Float) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in (rng.nextUnitFloat() * 2 - 1) * scale }
    }

    /// Rows shorter than a vector, a vector and a few floats more, and the fine
    /// branch's 252 and 253; values across the clamp at |x/√2| = 4 and beyond.
    @Test(arguments: [1, 7, 15, 16, 17, 31, 33, 252, 253, 500])
    func affineGELUMatchesTheScalarForm(length L: Int) {
        var row = Self.uniform(L, seed: UInt64(L), scale: 9)
        let specials: [Float] = [0, -0, 4 * Float(2).squareRoot(), -4 * Float(2).squareRoot(), 5.656854, -5.656855,
                                 .infinity, -.infinity, 1e-30, -1e-30, .greatestFiniteMagnitude]
        for (i, s) in specials.enumerated() where i < L { row[(i * 7) % L] = s }
        let scale: Float = 1.0625, shift: Float = -0.03125
        let expected = row.map { geluValue($0 * scale + shift) }
        row.withUnsafeMutableBufferPointer { affineGELUAVX512($0.baseAddress!, length: L, scale: scale, shift: shift) }
        for t in 0..<L {
            #expect(row[t].bitPattern == expected[t].bitPattern, "t \(t): \(row[t]) against \(expected[t])")
        }
    }
}
