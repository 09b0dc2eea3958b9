// The Winograd evaluation's transforms of one row (module SleepNet,
// `WinogradConvolution`, has the algebra): explicit SIMD16 and SIMD8 over
// columns, each column its own lane, so any build and any width give the same
// bits. `@inlinable` so that SleepNet compiles them for x86-64-v3 (a SIMD16 is
// two 8-wide registers) and ElementwiseAVX512 for AVX-512 (one register).

/// Bᵀ's non-zero terms pair of rows by pair (`WinogradConvolution.inputTerms`):
/// pair p's even terms are starts[2p] ..< starts[2p + 1], its odd ones up to
/// starts[2p + 2], each the offset of its input in the phase rows and its
/// coefficient; the pair's rows of V are targets[2p] and targets[2p + 1] (−1: none).
public struct WinogradInputTerms {
    public let offsets: UnsafePointer<Int>
    public let coefficients: UnsafePointer<Float>
    public let starts: UnsafePointer<Int>
    public let targets: UnsafePointer<Int>
    public let pairCount: Int

    public init(offsets: UnsafePointer<Int>, coefficients: UnsafePointer<Float>, starts: UnsafePointer<Int>,
                targets: UnsafePointer<Int>, pairCount: Int) {
        self.offsets = offsets
        self.coefficients = coefficients
        self.starts = starts
        self.targets = targets
        self.pairCount = pairCount
    }
}

/// Aᵀ's terms (`WinogradConvolution.termFirst` …): a pair of points ±p read as
/// s = M_p + M_−p and d = M_p − M_−p (output row i takes pⁱ·s for even i, pⁱ·d
/// for odd i), or one point alone (second −1); row coefficients at rows[term·m + i].
public struct WinogradOutputTerms {
    public let first: UnsafePointer<Int>
    public let second: UnsafePointer<Int>
    public let rows: UnsafePointer<Float>
    public let count: Int

    public init(first: UnsafePointer<Int>, second: UnsafePointer<Int>, rows: UnsafePointer<Float>, count: Int) {
        self.first = first
        self.second = second
        self.rows = rows
        self.count = count
    }
}

/// One input row c of sample q into V: V[a, c, q·Ts + j] = Σ_i Bᵀ[a, i] · xpad[j·m + i]
/// for the T tiles of the row x (L, padding `padLeft`), through the phase rows `ph`
/// (m rows of `rowLength`). V's rows are `ldn` apart, C to a point a. Plain rows are
/// written 16 columns at a time past T (into the next sample's columns, written
/// later, or the row padding); `packed`: as the own sgemm's 32-column panels of V_a
/// (C rows each), q·Ts + j in panel (q·Ts + j) / 32, up to Ts.
@inlinable @inline(__always)
public func winogradInputRow(_ x: UnsafePointer<Float>, length L: Int, padLeft: Int, stride m: Int,
                             phases ph: UnsafeMutablePointer<Float>, rowLength: Int, terms: WinogradInputTerms,
                             into v: UnsafeMutablePointer<Float>, channel c: Int, channels C: Int, rowStride ldn: Int,
                             sample q: Int, tiles T: Int, sampleColumns Ts: Int, packed packsV: Bool) {
    // ph[p][k] = x[k·m + p − padLeft] (0 outside)
    splitPhases(x, length: L, padLeft: padLeft, stride: m, into: ph, rowLength: rowLength)
    let termOffset = terms.offsets, termCoefficient = terms.coefficients
    for r in 0..<terms.pairCount {
        let e0 = terms.starts[2 * r], o0 = terms.starts[2 * r + 1], o1 = terms.starts[2 * r + 2]
        let a = terms.targets[2 * r], b = terms.targets[2 * r + 1]
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
            let (wide, narrow) = tailColumns(j..<T)
            transformPair(ph, offsets: termOffset, coefficients: termCoefficient, even: e0..<o0,
                          odd: o0..<o1, columns: wide, into: out, second: b >= 0 ? outB : nil)
            transformPair(ph, offsets: termOffset, coefficients: termCoefficient, even: e0..<o0,
                          odd: o0..<o1, columns: narrow, into: out, second: b >= 0 ? outB : nil,
                          width: SIMD8<Float>.self)
        }
    }
}

/// One output row f of sample q: the tiles' m phases from the products
/// (M_a[f, j] at products + a·pointStride + j, j < T) into `tile` (m rows,
/// `tileStride` apart), then y[j·m + p] = tile[p][j] + bias for j·m + p < Lo.
@inlinable @inline(__always)
public func winogradOutputRow(_ products: UnsafePointer<Float>, pointStride: Int, tiles T: Int, m: Int,
                              terms: WinogradOutputTerms, tile: UnsafeMutablePointer<Float>, tileStride: Int,
                              bias: Float, into y: UnsafeMutablePointer<Float>, length Lo: Int) {
    let (wide, narrow) = tailColumns(0..<T)
    // m = 4 as a literal, so its rows unroll (see transformOutput).
    if m == 4 {
        transformOutput(products, pointStride: pointStride, tiles: wide, m: 4, terms: terms, into: tile,
                        tileStride: tileStride, width: SIMD16<Float>.self)
        transformOutput(products, pointStride: pointStride, tiles: narrow, m: 4, terms: terms, into: tile,
                        tileStride: tileStride, width: SIMD8<Float>.self)
    } else {
        transformOutput(products, pointStride: pointStride, tiles: wide, m: m, terms: terms, into: tile,
                        tileStride: tileStride, width: SIMD16<Float>.self)
        transformOutput(products, pointStride: pointStride, tiles: narrow, m: m, terms: terms, into: tile,
                        tileStride: tileStride, width: SIMD8<Float>.self)
    }
    mergePhases(tile, tileStride: tileStride, m: m, bias: bias, into: y, length: Lo)
}

/// One pair of Bᵀ rows over `columns`, `V.scalarCount` at a time (writing up
/// to that many − 1 past the end): out[j] = E·d + O·d and second[j] = E·d − O·d,
/// with E·d and O·d the pair's even and odd terms over the phase rows `ph`
/// (`WinogradInputTerms`). The same bits in any width (each column is its own lane).
@inlinable @inline(__always)
public func transformPair<V: SIMD>(_ ph: UnsafePointer<Float>, offsets: UnsafePointer<Int>,
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
@inlinable @inline(__always)
public func tailColumns(_ range: Range<Int>) -> (wide: Range<Int>, narrow: Range<Int>) {
    var end = range.lowerBound + range.count / 16 * 16
    if range.upperBound - end > 8 { end += 16 }
    let split = min(end, range.upperBound)
    return (range.lowerBound..<split, split..<range.upperBound)
}

/// tile[i][j] = Σ_a Aᵀ[i, a] · M_a[j] for the m output rows and the tiles
/// `tiles`, `V.scalarCount` at a time: each point's products are read once (not once per output
/// row) and a pair ±p costs one sum and one difference. Called with m a literal
/// for m = 4 so the rows unroll into independent accumulators.
@inlinable @inline(__always)
func transformOutput<V: SIMD>(_ products: UnsafePointer<Float>, pointStride: Int, tiles: Range<Int>, m: Int,
                              terms: WinogradOutputTerms, into tile: UnsafeMutablePointer<Float>, tileStride: Int,
                              width: V.Type) where V.Scalar == Float {
    let first = terms.first, second = terms.second, rows = terms.rows
    withUnsafeTemporaryAllocation(of: V.self, capacity: m) { acc in
        let acc = acc.baseAddress!
        var j = tiles.lowerBound
        while j < tiles.upperBound {
            for i in 0..<m { acc[i] = V() }
            for t in 0..<terms.count {
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
@inlinable @inline(__always)
public func splitPhases(_ x: UnsafePointer<Float>, length L: Int, padLeft: Int, stride m: Int,
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
@inlinable @inline(__always)
func mergePhases(_ tile: UnsafePointer<Float>, tileStride: Int, m: Int, bias: Float,
                 into y: UnsafeMutablePointer<Float>, length Lo: Int) {
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
