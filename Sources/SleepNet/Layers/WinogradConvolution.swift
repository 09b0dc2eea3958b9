import Basics
import Sgemm
import Elementwise
import ElementwiseAVX512
import Foundation
/// Evaluation-mode 1-D convolution by Winograd's minimal filtering F(m, r)
/// (Toom-Cook): each tile of m outputs costs α = m + r − 1 products per
/// (output, input) channel pair instead of m·r, so the GEMM work of a k = 8
/// convolution with m = 3 drops to 10/24 of im2col + GEMM.
///
/// For stride 1, dilation 1, one group. Per tile j (outputs j·m ..< j·m + m,
/// inputs d = x[j·m − padLeft ..< +α], zero outside):
///
///     // y_tile (m) = Aᵀ (m, α) · [ (G (α, r) · w) ⊙ (Bᵀ (α, α) · d) ]
///     // over channels: M_a (F, tiles) = U_a (F, C) · V_a (C, tiles), one GEMM per point a
///
/// Interpolation points 0, ±1, ±½, ±2, ±3/2, ±¼, ±3, … and ∞ (magnitudes near
/// 1 keep the float32 rounding error small: for k = 8 and 64 input channels,
/// 6.7e-6 of the output scale with m = 3 and 8.7e-6 with m = 4, against about
/// 2e-7 for im2col + GEMM; with ±3 before ±¼, m = 4 gave 3.8e-5). Training keeps
/// im2col + GEMM (see `Conv1d.winogradTile`).
final class WinogradConvolution {
    let m, r, alpha: Int
    /// Aᵀ (m, α), G (α, r), Bᵀ (α, α), row-major.
    let at: [Float], g: [Float], bt: [Float]
    /// Rows of Bᵀ in pairs: for points ±p the two rows are E ± O with E even
    /// and O odd in the column index, so both cost the terms of one row:
    /// V_first = E·d + O·d, V_second = E·d − O·d. Rows without a partner
    /// (0, ∞) have O empty and no second row.
    struct RowPair {
        let first: Int
        let second: Int?
        let even: [(Int, Float)]
        let odd: [(Int, Float)]
    }
    let inputRows: [RowPair]
    /// The output transform's sources, term by term: a pair of points ±p read as
    /// s = M_p + M_−p and d = M_p − M_−p (output row i takes pⁱ·s for even i, pⁱ·d
    /// for odd i), or one point alone (0, ∞, a point without its negative; second −1).
    /// Row coefficients Aᵀ[i, first] at `termRows[term·m + i]`. Flat, so the hot
    /// loop reads them without reference counting.
    let termCount: Int
    private let termFirst: UnsafeMutablePointer<Int>
    private let termSecond: UnsafeMutablePointer<Int>
    private let termRows: UnsafeMutablePointer<Float>

    private let transformedWeight = Tensor()   // U (α, F, C)
    private let packedWeight = Tensor()        // U_a as the own sgemm's packed A, per point a
    private let transformedInput = Tensor()    // V (lanes, α, C, N + 16)
    private let products = Tensor()            // M (lanes, α, F, N + 16)
    private let phases = Tensor()              // (lanes, m, rowLength): one padded input row split by t mod m
    private let tileOutput = Tensor()          // (lanes, m, T + 16)
    /// The weights (F·C·r) that U and its packed panels were made from: an
    /// evaluation's batches after the first reuse them while the weights are
    /// unchanged (compared byte for byte, 0.5 MB for 128 × 128 × 8).
    private var transformedFrom: [Float] = []
    private var transformedPrepacked = false

    /// F(m, r): m outputs per tile, kernel r.
    init(outputTile m: Int, kernel r: Int) {
        precondition(m >= 1 && r >= 2, "Winograd F(m, r): m ≥ 1, r ≥ 2")
        self.m = m
        self.r = r
        let alpha = m + r - 1
        self.alpha = alpha
        let points = Self.points(alpha - 1)
        // Aᵀ[j][i] = p_iʲ; the point at infinity picks the leading coefficient.
        var at = [Double](repeating: 0, count: m * alpha)
        for (i, p) in points.enumerated() { for j in 0..<m { at[j * alpha + i] = Self.power(p, j) } }
        at[(m - 1) * alpha + alpha - 1] = 1
        // G[i][j] = p_iʲ / Π_{k≠i}(p_i − p_k); the last row picks w[r − 1].
        var gm = [Double](repeating: 0, count: alpha * r)
        for (i, p) in points.enumerated() {
            var n = 1.0
            for (k, q) in points.enumerated() where k != i { n *= p - q }
            for j in 0..<r { gm[i * r + j] = Self.power(p, j) / n }
        }
        gm[(alpha - 1) * r + r - 1] = 1
        // Bᵀ row i: coefficients (ascending) of Π_{k≠i}(x − p_k); the last row those of Π_k(x − p_k).
        var btm = [Double](repeating: 0, count: alpha * alpha)
        for i in 0..<alpha {
            var poly = [1.0]
            for (k, q) in points.enumerated() where k != i {
                var next = [Double](repeating: 0, count: poly.count + 1)
                for (d, c) in poly.enumerated() {
                    next[d + 1] += c
                    next[d] -= q * c
                }
                poly = next
            }
            for (d, c) in poly.enumerated() { btm[i * alpha + d] = c }
        }
        self.at = at.map { Float($0) }
        self.g = gm.map { Float($0) }
        self.bt = btm.map { Float($0) }
        func terms(_ row: [Double]) -> [(Int, Float)] {
            row.enumerated().compactMap { $0.element == 0 ? nil : ($0.offset, Float($0.element)) }
        }
        var rows: [RowPair] = []
        var paired = Set<Int>()
        for a in 0..<alpha where !paired.contains(a) {
            let rowA = Array(btm[(a * alpha)..<((a + 1) * alpha)])
            // The partner of p > 0 is −p (the last row, ∞, has none).
            if a < alpha - 1, points[a] > 0, let b = points.firstIndex(of: -points[a]) {
                let rowB = Array(btm[(b * alpha)..<((b + 1) * alpha)])
                let even = zip(rowA, rowB).map { ($0 + $1) / 2 }, odd = zip(rowA, rowB).map { ($0 - $1) / 2 }
                rows.append(RowPair(first: a, second: b, even: terms(even), odd: terms(odd)))
                paired.insert(b)
            } else {
                rows.append(RowPair(first: a, second: nil, even: terms(rowA), odd: []))
            }
        }
        inputRows = rows
        termCount = rows.count
        termFirst = .allocate(capacity: rows.count)
        termSecond = .allocate(capacity: rows.count)
        termRows = .allocate(capacity: rows.count * m)
        for (t, pair) in rows.enumerated() {
            termFirst[t] = pair.first
            termSecond[t] = pair.second ?? -1
            for i in 0..<m { termRows[t * m + i] = Float(at[i * alpha + pair.first]) }
        }
    }

    deinit {
        termFirst.deallocate()
        termSecond.deallocate()
        termRows.deallocate()
    }

    /// The first `n` finite points: 0, 1, −1, ½, −½, 2, −2, 3/2, −3/2, ¼, −¼, 3, −3, …
    static func points(_ n: Int) -> [Double] {
        let magnitudes: [Double] = [1, 0.5, 2, 1.5, 0.25, 3, 1.0 / 3, 4, 0.75, 2.0 / 3]
        var p: [Double] = [0]
        for v in magnitudes { p.append(v); p.append(-v) }
        precondition(n <= p.count, "Winograd: at most \(p.count) finite points")
        return Array(p.prefix(n))
    }

    private static func power(_ x: Double, _ n: Int) -> Double {
        var y = 1.0
        for _ in 0..<n { y *= x }
        return y
    }

    /// y (B, F, Lo) = conv(x (B, C, L)) with weight (F, C, r) and padding
    /// `padLeft`, then `rowEpilogue(y_b[f], f)` on each output row and
    /// `epilogue(y_b, b)` on each sample (bias included before both).
    ///
    /// Samples are cut into fixed groups (from B and the tile count only), one
    /// GEMM per point and group, so results do not depend on the thread count.
    /// `packsInput: false` keeps V in plain rows packed by the sgemm (same bits).
    /// `weightsSettled`: the weights are those of this plan's last forward in the
    /// same evaluation forward (`ParameterStore.valuesSettled`): U is kept without
    /// comparing them again.
    func forward(_ x: Tensor, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outChannels F: Int,
                 padLeft: Int, outLength Lo: Int, into y: Tensor, packsInput: Bool = true, weightsSettled: Bool = false,
                 rowEpilogue: ((UnsafeMutablePointer<Float>, Int) -> Void)? = nil,
                 epilogue: ((UnsafeMutablePointer<Float>, Int) -> Void)?) {
        let B = x.shape[0], C = x.shape[1], L = x.shape[2]
        let m = self.m, r = self.r, alpha = self.alpha
        let T = (Lo + m - 1) / m                       // tiles per sample
        let group = Self.groupSize(batch: B, tiles: T)
        let groups = (B + group - 1) / group
        // On sleepfold's own sgemm, U_a is packed once here rather than in every
        // group's GEMM (the same panels: the same bits); for long rows the input
        // transform also writes V_a as the sgemm's packed panels (32 columns × C),
        // each sample's tiles padded to a whole number of panels, so no pass packs it.
        let prepacked = GEMMBackend.current.isOwn
        let packsV = prepacked && packsInput && Self.packsTransformedInput(tiles: T)
        let Ts = packsV ? (T + 31) / 32 * 32 : T        // GEMM columns per sample
        let N = group * Ts                             // GEMM columns per group
        let ldn = N + 16                               // row stride of V and M: room for 16-wide tails
        let tileStride = T + 16
        // Padded row: positions −padLeft ..< T·m + α − 1 − padLeft, split by phase
        // (u mod m), plus room for 32-wide reads past the last tile; a multiple of
        // 16, so each phase row starts on a cache line (Tensor's storage does): the
        // terms reading inputs 0 ..< m of a tile read whole lines.
        let rowLength = ((T * m + alpha - 1 + m - 1) / m + 33 + 15) / 16 * 16
        y.resize(Shape(B, F, Lo))
        let lanes = laneCount(groups)
        transformedInput.resize(Shape(lanes, alpha, C, ldn))
        products.resize(Shape(lanes, alpha, F, ldn))
        phases.resize(Shape(lanes, m, rowLength))
        tileOutput.resize(Shape(lanes, m, tileStride))

        let pointPanels = packedWeightSize(m: F, k: C)
        let weightCount = F * C * r
        let reuse = transformedPrepacked == prepacked && transformedFrom.count == weightCount
            && transformedWeight.shape == Shape(alpha, F, C)
            && (weightsSettled
                || transformedFrom.withUnsafeBufferPointer { memcmp($0.baseAddress!, weight, 4 * weightCount) == 0 })
        if !reuse {
            transformedWeight.resize(Shape(alpha, F, C))
            // U_a (F, C) = Σ_k G[a, k] · w[:, :, k]
            let u = transformedWeight.data
            g.withUnsafeBufferPointer { gp in
                let gp = gp.baseAddress!
                parallelFor(alpha) { a in
                    let ua = u + a * F * C
                    for fc in 0..<(F * C) {
                        let wk = weight + fc * r
                        var s: Float = 0
                        for k in 0..<r { s += gp[a * r + k] * wk[k] }
                        ua[fc] = s
                    }
                }
            }
            if prepacked {
                packedWeight.resize(Shape(alpha, pointPanels))
                let pu = packedWeight.data
                parallelFor(alpha) { a in
                    packWeight(transA: false, m: F, k: C, a: u + a * F * C, lda: C, into: pu + a * pointPanels)
                }
            }
            transformedFrom = Array(UnsafeBufferPointer(start: weight, count: weightCount))
            transformedPrepacked = prepacked
        }
        let u = transformedWeight.data
        let pu = UnsafePointer(packedWeight.data)

        let xp = x.data, yp = y.data
        let vBase = transformedInput.data, mBase = products.data
        let phBase = phases.data, toBase = tileOutput.data
        let (offsets, coefficients, starts, targets) = inputTerms(stride: m, rowLength: rowLength)
        let outputTerms = WinogradOutputTerms(first: termFirst, second: termSecond, rows: termRows, count: termCount)
        let avx512 = GEMMBackend.current == .avx512
        offsets.withUnsafeBufferPointer { termOffset in
        coefficients.withUnsafeBufferPointer { termCoefficient in
        starts.withUnsafeBufferPointer { termStart in
        targets.withUnsafeBufferPointer { target in
            let pairTerms = WinogradInputTerms(offsets: termOffset.baseAddress!, coefficients: termCoefficient.baseAddress!,
                                                starts: termStart.baseAddress!, targets: target.baseAddress!,
                                                pairCount: inputRows.count)
            parallelLanes(groups, lanes: lanes) { lane, gi in
                let v = vBase + lane * alpha * C * ldn, mm = mBase + lane * alpha * F * ldn
                let ph = phBase + lane * m * rowLength, to = toBase + lane * m * tileStride
                let s0 = gi * group, s1 = min(B, s0 + group), n = (s1 - s0) * Ts
                // V[a, c, q·Ts + j] = Σ_i Bᵀ[a, i] · xpad[j·m + i] (`winogradInputRow`), 16
                // columns to a register on the AVX-512 backend.
                for q in 0..<(s1 - s0) {
                    let xb = xp + (s0 + q) * C * L
                    for c in 0..<C {
                        if avx512 {
                            winogradInputRowAVX512(xb + c * L, length: L, padLeft: padLeft, stride: m, phases: ph,
                                                   rowLength: rowLength, terms: pairTerms, into: v, channel: c,
                                                   channels: C, rowStride: ldn, sample: q, tiles: T, sampleColumns: Ts,
                                                   packed: packsV)
                        } else {
                            winogradInputRow(xb + c * L, length: L, padLeft: padLeft, stride: m, phases: ph,
                                             rowLength: rowLength, terms: pairTerms, into: v, channel: c,
                                             channels: C, rowStride: ldn, sample: q, tiles: T, sampleColumns: Ts,
                                             packed: packsV)
                        }
                    }
                }
                // M_a (F, n) = U_a (F, C) · V_a (C, n)
                for a in 0..<alpha {
                    if packsV {
                        sgemmPrepacked(m: F, n: n, k: C, alpha: 1, packedA: pu + a * pointPanels,
                                       packedB: v + a * C * ldn, beta: 0, c: mm + a * F * ldn, ldc: ldn)
                    } else if prepacked {
                        let va = UnsafePointer(v + a * C * ldn)
                        sgemmPrepacked(m: F, n: n, k: C, alpha: 1, packedA: pu + a * pointPanels,
                                       packB: { p0, kc, j0, nc, dst in
                                           packGEMMB(transB: false, b: va, ldb: ldn, p0: p0, kc: kc, j0: j0, nc: nc, into: dst)
                                       },
                                       beta: 0, c: mm + a * F * ldn, ldc: ldn)
                    } else {
                        sgemm(transA: false, transB: false, m: F, n: n, k: C,
                              alpha: 1, a: u + a * F * C, lda: C,
                              b: v + a * C * ldn, ldb: ldn,
                              beta: 0, c: mm + a * F * ldn, ldc: ldn)
                    }
                }
                // y[f, j·m + p] = Σ_a Aᵀ[p, a] · M_a[f, q·T + j] (+ bias) (`winogradOutputRow`),
                // then the row's epilogue while the row is in L1, then the sample's.
                for q in 0..<(s1 - s0) {
                    let yb = yp + (s0 + q) * F * Lo
                    for f in 0..<F {
                        let src = UnsafePointer(mm + f * ldn + q * Ts), b = bias.map { $0[f] } ?? 0
                        if avx512 {
                            winogradOutputRowAVX512(src, pointStride: F * ldn, tiles: T, m: m, terms: outputTerms,
                                                    tile: to, tileStride: tileStride, bias: b, into: yb + f * Lo,
                                                    length: Lo)
                        } else {
                            winogradOutputRow(src, pointStride: F * ldn, tiles: T, m: m, terms: outputTerms,
                                              tile: to, tileStride: tileStride, bias: b, into: yb + f * Lo, length: Lo)
                        }
                        rowEpilogue?(yb + f * Lo, f)
                    }
                    epilogue?(yb, s0 + q)
                }
            }
        }
        }
        }
        }
    }

    /// Bᵀ's non-zero terms for phase rows of `rowLength` split by `stride`, pair of
    /// rows by pair, even then odd terms: the offset of xpad[j·stride + i] in the
    /// phase rows and the coefficient; pair p's even terms are starts[2p] ..<
    /// starts[2p + 1], its odd ones up to starts[2p + 2], its rows targets[2p] and
    /// targets[2p + 1] (−1: none).
    func inputTerms(stride: Int, rowLength: Int)
        -> (offsets: [Int], coefficients: [Float], starts: [Int], targets: [Int]) {
        var offsets: [Int] = [], coefficients: [Float] = [], starts = [0], targets: [Int] = []
        for pair in inputRows {
            for (i, ci) in pair.even + pair.odd {
                offsets.append((i % stride) * rowLength + i / stride)
                coefficients.append(ci)
            }
            starts.append(offsets.count - pair.odd.count)
            starts.append(offsets.count)
            targets.append(pair.first)
            targets.append(pair.second ?? -1)
        }
        return (offsets, coefficients, starts, targets)
    }

    /// True when the input transform writes V as the sgemm's packed panels:
    /// rows of at least 48 tiles, padded to whole 32-column panels by at most
    /// 1/16 more GEMM columns (the fine branch's 63–64-tile rows, not the
    /// long-kernel branch's 8).
    static func packsTransformedInput(tiles T: Int) -> Bool {
        T >= 48 && (T + 31) / 32 * 32 - T <= T / 16
    }

    /// Samples per group: enough tiles for an efficient GEMM (up to 512
    /// columns), a power of two, and at least 8 groups for a batch of 64 or more.
    static func groupSize(batch B: Int, tiles T: Int) -> Int {
        var g = 1
        while 2 * g * T <= 256 { g *= 2 }
        var cap = 1
        while 2 * cap <= max(1, B / 8) { cap *= 2 }
        return max(1, min(g, cap))
    }
}
