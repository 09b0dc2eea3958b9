import Testing
import Basics
import Elementwise
import ElementwiseAVX512

/// The evaluation's elementwise loops compiled for AVX-512 (module
/// ElementwiseAVX512, 16 floats to a register) against the same generic code
/// compiled here (as SleepNet's x86-64-v3 build runs it on the AVX2 and OpenBLAS
/// backends): the same bits, row by row, for any input and table.
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

    /// Bᵀ-like tables with random coefficients: α points in pairs (the last alone),
    /// each input xpad[j·m + i] at its phase row's offset, as WinogradConvolution lays them out.
    struct InputTable {
        var offsets: [Int] = [], coefficients: [Float] = [], starts = [0], targets: [Int] = []
        var pairCount = 0

        init(alpha: Int, stride m: Int, rowLength: Int, seed: UInt64) {
            var rng = SeededGenerator(seed: seed)
            var a = 0
            while a < alpha {
                let paired = a + 1 < alpha
                for half in 0..<2 {
                    for i in 0..<alpha where (i + half) % 2 == 0 || !paired {
                        offsets.append((i % m) * rowLength + i / m)
                        coefficients.append(rng.nextUnitFloat() * 4 - 2)
                    }
                    starts.append(offsets.count)
                    if !paired { starts.append(offsets.count); break }
                }
                targets += [a, paired ? a + 1 : -1]
                a += paired ? 2 : 1
                pairCount += 1
            }
        }
    }

    /// A fine-branch row (m = 4, α = 11, 63 tiles: packed panels) and a
    /// long-kernel one (m = 4, α = 10, 8 tiles, plain rows), both ways.
    @Test(arguments: [(251, 4, 11, 4, true), (251, 4, 11, 4, false), (31, 3, 10, 4, false), (80, 0, 10, 4, false)])
    func winogradInputRowMatchesTheGenericBuild(_ shape: (Int, Int, Int, Int, Bool)) {
        let (L, padLeft, alpha, m, packed) = shape
        let r = alpha - m + 1, Lo = L + 2 * padLeft - r + 1, T = (Lo + m - 1) / m
        let Ts = packed ? (T + 31) / 32 * 32 : T
        let C = 3, samples = 2, ldn = samples * Ts + 16
        let rowLength = (T * m + alpha - 1 + m - 1) / m + 33
        let table = InputTable(alpha: alpha, stride: m, rowLength: rowLength, seed: UInt64(L))
        let x = Self.uniform(samples * C * L, seed: 5, scale: 3)
        func run(_ avx512: Bool) -> [Float] {
            var v = [Float](repeating: 0, count: alpha * C * ldn)
            var ph = [Float](repeating: 0, count: m * rowLength)
            table.offsets.withUnsafeBufferPointer { o in table.coefficients.withUnsafeBufferPointer { co in
            table.starts.withUnsafeBufferPointer { s in table.targets.withUnsafeBufferPointer { t in
            x.withUnsafeBufferPointer { xs in
                let terms = WinogradInputTerms(offsets: o.baseAddress!, coefficients: co.baseAddress!, starts: s.baseAddress!,
                                               targets: t.baseAddress!, pairCount: table.pairCount)
                for q in 0..<samples {
                    for c in 0..<C {
                        let row = xs.baseAddress! + (q * C + c) * L
                        if avx512 {
                            winogradInputRowAVX512(row, length: L, padLeft: padLeft, stride: m, phases: &ph,
                                                   rowLength: rowLength, terms: terms, into: &v, channel: c, channels: C,
                                                   rowStride: ldn, sample: q, tiles: T, sampleColumns: Ts, packed: packed)
                        } else {
                            winogradInputRow(row, length: L, padLeft: padLeft, stride: m, phases: &ph,
                                             rowLength: rowLength, terms: terms, into: &v, channel: c, channels: C,
                                             rowStride: ldn, sample: q, tiles: T, sampleColumns: Ts, packed: packed)
                        }
                    }
                }
            } } } } }
            return v
        }
        let wide = run(true), generic = run(false)
        #expect(wide.map(\.bitPattern) == generic.map(\.bitPattern))
        #expect(generic.contains { $0 != 0 })
    }

    /// Output rows for m = 4 (unrolled) and m = 3, with 64 tiles (16 wide) and 8
    /// and 20 (8-wide tails); random Aᵀ-like terms, pairs and lone points.
    @Test(arguments: [(4, 64, 253), (4, 8, 31), (4, 20, 80), (3, 21, 61)])
    func winogradOutputRowMatchesTheGenericBuild(_ shape: (Int, Int, Int)) {
        let (m, T, Lo) = shape
        let points = 11, ldn = T + 16, tileStride = T + 16
        var rng = SeededGenerator(seed: UInt64(T))
        let first = [0, 1, 3, 5, 7, 9, 10], second = [-1, 2, 4, 6, 8, -1, -1]
        let rows = (0..<(first.count * m)).map { _ in rng.nextUnitFloat() * 4 - 2 }
        let products = Self.uniform(points * ldn, seed: 9, scale: 2)
        func run(_ avx512: Bool) -> [Float] {
            var y = [Float](repeating: 0, count: Lo)
            var tile = [Float](repeating: 0, count: m * tileStride)
            first.withUnsafeBufferPointer { f in second.withUnsafeBufferPointer { s in rows.withUnsafeBufferPointer { r in
            products.withUnsafeBufferPointer { p in
                let terms = WinogradOutputTerms(first: f.baseAddress!, second: s.baseAddress!, rows: r.baseAddress!,
                                                count: first.count)
                if avx512 {
                    winogradOutputRowAVX512(p.baseAddress!, pointStride: ldn, tiles: T, m: m, terms: terms, tile: &tile,
                                            tileStride: tileStride, bias: 0.25, into: &y, length: Lo)
                } else {
                    winogradOutputRow(p.baseAddress!, pointStride: ldn, tiles: T, m: m, terms: terms, tile: &tile,
                                      tileStride: tileStride, bias: 0.25, into: &y, length: Lo)
                }
            } } } }
            return y
        }
        let wide = run(true), generic = run(false)
        #expect(wide.map(\.bitPattern) == generic.map(\.bitPattern))
        #expect(generic.allSatisfy { $0 != 0 })
    }
}
