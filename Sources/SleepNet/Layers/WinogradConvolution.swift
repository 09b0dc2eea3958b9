import Basics
import Sgemm
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
    func forward(_ x: Tensor, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outChannels F: Int,
                 padLeft: Int, outLength Lo: Int, into y: Tensor, packsInput: Bool = true,
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
        // (u mod m), plus room for 32-wide reads past the last tile.
        let rowLength = (T * m + alpha - 1 + m - 1) / m + 33
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
            && transformedFrom.withUnsafeBufferPointer { memcmp($0.baseAddress!, weight, 4 * weightCount) == 0 }
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
        let pairCount = inputRows.count
        at.withUnsafeBufferPointer { atp in
        offsets.withUnsafeBufferPointer { termOffset in
        coefficients.withUnsafeBufferPointer { termCoefficient in
        starts.withUnsafeBufferPointer { termStart in
        targets.withUnsafeBufferPointer { target in
            let atp = atp.baseAddress!, termOffset = termOffset.baseAddress!
            let termCoefficient = termCoefficient.baseAddress!, termStart = termStart.baseAddress!
            let target = target.baseAddress!
            parallelLanes(groups, lanes: lanes) { lane, gi in
                let v = vBase + lane * alpha * C * ldn, mm = mBase + lane * alpha * F * ldn
                let ph = phBase + lane * m * rowLength, to = toBase + lane * m * tileStride
                let s0 = gi * group, s1 = min(B, s0 + group), n = (s1 - s0) * Ts
                // V[a, c, q·Ts + j] = Σ_i Bᵀ[a, i] · xpad[j·m + i]. Plain rows are
                // written 16 columns at a time past T (into the next sample's
                // columns, written later, or the row padding); packed panels up to Ts.
                for q in 0..<(s1 - s0) {
                    let xb = xp + (s0 + q) * C * L
                    for c in 0..<C {
                        let row = xb + c * L
                        // ph[p][k] = x[k·m + p − padLeft] (0 outside)
                        Self.splitPhases(row, length: L, padLeft: padLeft, stride: m, into: ph, rowLength: rowLength)
                        for r in 0..<pairCount {
                            let e0 = termStart[2 * r], o0 = termStart[2 * r + 1], o1 = termStart[2 * r + 2]
                            let a = target[2 * r], b = target[2 * r + 1]
                            let out = UnsafeMutableRawPointer(v + (a * C + c) * ldn + q * T)
                            let outB = UnsafeMutableRawPointer(v + (max(b, 0) * C + c) * ldn + q * T)
                            // Where columns j ..< j + 32 of rows a and b go: the rows,
                            // or panel (q·Ts + j) / 32 of the points' packed V (row c).
                            @inline(__always) func columns(_ j: Int) -> (UnsafeMutableRawPointer, UnsafeMutableRawPointer) {
                                guard packsV else { return (out + 4 * j, outB + 4 * j) }
                                let panel = ((q * Ts + j) / 32 * C + c) * 32
                                return (UnsafeMutableRawPointer(v + a * C * ldn + panel),
                                        UnsafeMutableRawPointer(v + max(b, 0) * C * ldn + panel))
                            }
                            var j = 0
                            // 32 columns per pass while more than 16 remain (packed: up
                            // to Ts): each term's offset and coefficient are read once for
                            // both halves, and the four accumulators are independent chains.
                            while packsV ? j < Ts : j + 32 <= T {
                                var even = SIMD16<Float>(), odd = SIMD16<Float>()
                                var even2 = SIMD16<Float>(), odd2 = SIMD16<Float>()
                                for e in e0..<o0 {
                                    let src = UnsafeRawPointer(ph + termOffset[e] + j), c = SIMD16(repeating: termCoefficient[e])
                                    even.addProduct(c, src.loadUnaligned(as: SIMD16<Float>.self))
                                    even2.addProduct(c, (src + 64).loadUnaligned(as: SIMD16<Float>.self))
                                }
                                for e in o0..<o1 {
                                    let src = UnsafeRawPointer(ph + termOffset[e] + j), c = SIMD16(repeating: termCoefficient[e])
                                    odd.addProduct(c, src.loadUnaligned(as: SIMD16<Float>.self))
                                    odd2.addProduct(c, (src + 64).loadUnaligned(as: SIMD16<Float>.self))
                                }
                                let (to, toB) = columns(j)
                                to.storeBytes(of: even + odd, as: SIMD16<Float>.self)
                                to.storeBytes(of: even2 + odd2, toByteOffset: 64, as: SIMD16<Float>.self)
                                if b >= 0 {
                                    toB.storeBytes(of: even - odd, as: SIMD16<Float>.self)
                                    toB.storeBytes(of: even2 - odd2, toByteOffset: 64, as: SIMD16<Float>.self)
                                }
                                j += 32
                            }
                            // The rest of a plain row 16 wide, and its last ≤ 8 columns 8 wide
                            // (rows of 8 or 20 tiles would leave a half or three eighths of
                            // their last vectors idle).
                            if !packsV && j < T {
                                let (wide, narrow) = Self.tailColumns(j..<T)
                                Self.transformPair(ph, offsets: termOffset, coefficients: termCoefficient, even: e0..<o0,
                                                   odd: o0..<o1, columns: wide, into: out, second: b >= 0 ? outB : nil)
                                Self.transformPair(ph, offsets: termOffset, coefficients: termCoefficient, even: e0..<o0,
                                                   odd: o0..<o1, columns: narrow, into: out, second: b >= 0 ? outB : nil,
                                                   width: SIMD8<Float>.self)
                            }
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
                // y[f, j·m + p] = Σ_a Aᵀ[p, a] · M_a[f, q·T + j] (+ bias), then the row's
                // epilogue while the row is in L1, then the sample's.
                let (wide, narrow) = Self.tailColumns(0..<T)
                for q in 0..<(s1 - s0) {
                    let yb = yp + (s0 + q) * F * Lo
                    for f in 0..<F {
                        let src = UnsafePointer(mm + f * ldn + q * Ts)
                        // m = 4 as a literal, so its rows unroll (see transformOutput).
                        if m == 4 {
                            transformOutput(src, pointStride: F * ldn, tiles: wide, m: 4, into: to, tileStride: tileStride,
                                            width: SIMD16<Float>.self)
                            transformOutput(src, pointStride: F * ldn, tiles: narrow, m: 4, into: to, tileStride: tileStride,
                                            width: SIMD8<Float>.self)
                        } else {
                            transformOutput(src, pointStride: F * ldn, tiles: wide, m: m, into: to, tileStride: tileStride,
                                            width: SIMD16<Float>.self)
                            transformOutput(src, pointStride: F * ldn, tiles: narrow, m: m, into: to, tileStride: tileStride,
                                            width: SIMD8<Float>.self)
                        }
                        mergePhases(to, tileStride: tileStride, bias: bias.map { $0[f] } ?? 0,
                                    into: yb + f * Lo, length: Lo)
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

    /// One pair of Bᵀ rows over `columns`, `V.scalarCount` at a time (writing up
    /// to that many − 1 past the end): out[j] = E·d + O·d and second[j] = E·d − O·d,
    /// with E·d and O·d the pair's even and odd terms over the phase rows `ph`
    /// (`inputTerms`). The same bits in any width (each column is its own lane).
    @inline(__always)
    static func transformPair<V: SIMD>(_ ph: UnsafePointer<Float>, offsets: UnsafePointer<Int>,
                                       coefficients: UnsafePointer<Float>, even: Range<Int>, odd: Range<Int>,
                                       columns: Range<Int>, into out: UnsafeMutableRawPointer,
                                       second outB: UnsafeMutableRawPointer?, width: V.Type = SIMD16<Float>.self)
        where V.Scalar == Float {
        var j = columns.lowerBound
        while j < columns.upperBound {
            var e = V(), o = V()
            for t in even {
                let src = UnsafeRawPointer(ph + offsets[t] + j)
                e.addProduct(V(repeating: coefficients[t]), src.loadUnaligned(as: V.self))
            }
            for t in odd {
                let src = UnsafeRawPointer(ph + offsets[t] + j)
                o.addProduct(V(repeating: coefficients[t]), src.loadUnaligned(as: V.self))
            }
            out.storeBytes(of: e + o, toByteOffset: 4 * j, as: V.self)
            outB?.storeBytes(of: e - o, toByteOffset: 4 * j, as: V.self)
            j += V.scalarCount
        }
    }

    /// Columns `range` cut for vectors of 16 then 8: whole 16s (and one more for a
    /// remainder of 9 to 15), then what is left (at most 8) for one vector of 8.
    static func tailColumns(_ range: Range<Int>) -> (wide: Range<Int>, narrow: Range<Int>) {
        var end = range.lowerBound + range.count / 16 * 16
        if range.upperBound - end > 8 { end += 16 }
        let split = min(end, range.upperBound)
        return (range.lowerBound..<split, split..<range.upperBound)
    }

    /// tile[i][j] = Σ_a Aᵀ[i, a] · M_a[j] for the m output rows and the tiles
    /// `tiles`, `V.scalarCount` at a time: each point's products are read once (not once per output
    /// row) and a pair ±p costs one sum and one difference (`outputTerms`). Called
    /// with m a literal for m = 4 so the rows unroll into independent accumulators.
    @inline(__always)
    private func transformOutput<V: SIMD>(_ products: UnsafePointer<Float>, pointStride: Int, tiles: Range<Int>, m: Int,
                                          into tile: UnsafeMutablePointer<Float>, tileStride: Int, width: V.Type)
        where V.Scalar == Float {
        let first = termFirst, second = termSecond, rows = termRows
        withUnsafeTemporaryAllocation(of: V.self, capacity: m) { acc in
            let acc = acc.baseAddress!
            var j = tiles.lowerBound
            while j < tiles.upperBound {
                for i in 0..<m { acc[i] = V() }
                for t in 0..<termCount {
                    let va = UnsafeRawPointer(products + first[t] * pointStride + j).loadUnaligned(as: V.self)
                    let c = rows + t * m
                    if second[t] >= 0 {
                        let vb = UnsafeRawPointer(products + second[t] * pointStride + j).loadUnaligned(as: V.self)
                        let even = va + vb, odd = va - vb
                        for i in 0..<m { acc[i].addProduct(V(repeating: c[i]), i & 1 == 0 ? even : odd) }
                    } else {
                        for i in 0..<m where c[i] != 0 { acc[i].addProduct(V(repeating: c[i]), va) }
                    }
                }
                for i in 0..<m {
                    UnsafeMutableRawPointer(tile + i * tileStride).storeBytes(of: acc[i], toByteOffset: 4 * j, as: V.self)
                }
                j += V.scalarCount
            }
        }
    }

    /// ph[p][k] = x[k·m + p − padLeft] for p < m, k < rowLength (0 outside x):
    /// one input row split by phase (m: the tile's stride). The interior, where
    /// every phase is inside x, runs with m a constant for m = 3 and 4, so it
    /// vectorises as a strided load group.
    @inline(__always)
    static func splitPhases(_ x: UnsafePointer<Float>, length L: Int, padLeft: Int, stride m: Int,
                            into ph: UnsafeMutablePointer<Float>, rowLength: Int) {
        // Interior k: k·m − padLeft ≥ 0 and k·m + m − 1 − padLeft ≤ L − 1.
        let kLo = min(rowLength, (padLeft + m - 1) / m)
        let kHi = max(kLo, min(rowLength, (L + padLeft) / m))
        let src = x - padLeft
        let fast = m == 3 || m == 4
        if m == 4 {
            let p0 = ph, p1 = ph + rowLength, p2 = ph + 2 * rowLength, p3 = ph + 3 * rowLength
            var k = kLo
            // Eight k at a time: 32 inputs deinterleaved into four rows of 8.
            while k + 8 <= kHi {
                let r = UnsafeRawPointer(src + 4 * k)
                let a = r.loadUnaligned(as: SIMD16<Float>.self), b = (r + 64).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(p0 + k).storeBytes(
                    of: SIMD8(a[0], a[4], a[8], a[12], b[0], b[4], b[8], b[12]), as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(p1 + k).storeBytes(
                    of: SIMD8(a[1], a[5], a[9], a[13], b[1], b[5], b[9], b[13]), as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(p2 + k).storeBytes(
                    of: SIMD8(a[2], a[6], a[10], a[14], b[2], b[6], b[10], b[14]), as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(p3 + k).storeBytes(
                    of: SIMD8(a[3], a[7], a[11], a[15], b[3], b[7], b[11], b[15]), as: SIMD8<Float>.self)
                k += 8
            }
            for k in k..<kHi {
                p0[k] = src[4 * k]; p1[k] = src[4 * k + 1]; p2[k] = src[4 * k + 2]; p3[k] = src[4 * k + 3]
            }
        } else if m == 3 {
            let p0 = ph, p1 = ph + rowLength, p2 = ph + 2 * rowLength
            for k in kLo..<kHi { p0[k] = src[3 * k]; p1[k] = src[3 * k + 1]; p2[k] = src[3 * k + 2] }
        }
        // The rest (all of it for other m): the borders, with zeros outside x.
        let (skipLo, skipHi) = fast ? (kLo, kHi) : (rowLength, rowLength)
        for p in 0..<m {
            let dst = ph + p * rowLength
            @inline(__always) func fill(_ ks: Range<Int>) {
                for k in ks {
                    let t = k * m + p - padLeft
                    dst[k] = t >= 0 && t < L ? x[t] : 0
                }
            }
            fill(0..<skipLo)
            // Past the input's end the row is zeros (most of the +17 padding): fill
            // only while k·m + p − padLeft < L, then clear the rest at once.
            let kInside = min(rowLength, max(skipHi, (max(0, L + padLeft - p) + m - 1) / m))
            fill(skipHi..<kInside)
            (dst + kInside).update(repeating: 0, count: rowLength - kInside)
        }
    }

    /// y[j·m + p] = tile[p][j] + bias for j·m + p < Lo: the phases of the output
    /// transform merged into one output row (whole tiles with m a constant for m = 3, 4).
    @inline(__always)
    private func mergePhases(_ tile: UnsafePointer<Float>, tileStride: Int, bias: Float,
                             into y: UnsafeMutablePointer<Float>, length Lo: Int) {
        let m = self.m
        let whole = Lo / m
        var done = 0
        if m == 4 {
            let t0 = tile, t1 = tile + tileStride, t2 = tile + 2 * tileStride, t3 = tile + 3 * tileStride
            var j = 0
            // Eight j at a time: four rows of 8 interleaved into 32 outputs.
            while j + 8 <= whole {
                let a = UnsafeRawPointer(t0 + j).loadUnaligned(as: SIMD8<Float>.self) + bias
                let b = UnsafeRawPointer(t1 + j).loadUnaligned(as: SIMD8<Float>.self) + bias
                let c = UnsafeRawPointer(t2 + j).loadUnaligned(as: SIMD8<Float>.self) + bias
                let d = UnsafeRawPointer(t3 + j).loadUnaligned(as: SIMD8<Float>.self) + bias
                let out = UnsafeMutableRawPointer(y + 4 * j)
                out.storeBytes(of: SIMD8(a[0], b[0], c[0], d[0], a[1], b[1], c[1], d[1]), as: SIMD8<Float>.self)
                (out + 32).storeBytes(of: SIMD8(a[2], b[2], c[2], d[2], a[3], b[3], c[3], d[3]), as: SIMD8<Float>.self)
                (out + 64).storeBytes(of: SIMD8(a[4], b[4], c[4], d[4], a[5], b[5], c[5], d[5]), as: SIMD8<Float>.self)
                (out + 96).storeBytes(of: SIMD8(a[6], b[6], c[6], d[6], a[7], b[7], c[7], d[7]), as: SIMD8<Float>.self)
                j += 8
            }
            for j in j..<whole {
                y[4 * j] = t0[j] + bias; y[4 * j + 1] = t1[j] + bias
                y[4 * j + 2] = t2[j] + bias; y[4 * j + 3] = t3[j] + bias
            }
            done = whole
        } else if m == 3 {
            let t0 = tile, t1 = tile + tileStride, t2 = tile + 2 * tileStride
            for j in 0..<whole {
                y[3 * j] = t0[j] + bias; y[3 * j + 1] = t1[j] + bias; y[3 * j + 2] = t2[j] + bias
            }
            done = whole
        }
        for p in 0..<m {
            let src = tile + p * tileStride
            var j = done, t = done * m + p
            while t < Lo {
                y[t] = src[j] + bias
                t += m
                j += 1
            }
        }
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
