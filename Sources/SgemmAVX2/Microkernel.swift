import Sgemm

// The 6 × 32 micro-kernel for AVX2 + FMA: C[0..<6, 0..<32] = beta · C +
// alpha · Σ_p a[p, :] ⊗ b[p, :] over one packed block (a: (kc, 6), b: (kc, 32)).
// AVX2 has 16 ymm registers, so the tile is done as two halves of 6 × 16 in 12
// accumulators each (2 for B, 1 for the broadcast of A): per step of p, 12 FMAs
// for 8 loads. The halves read every other 16 floats of the 32-column B panel,
// the layout every sleepfold kernel shares.
// Sums run p = 0, 1, … in order, one FMA per term, as on AVX-512: for the same
// K blocking both kernels give the same bits.

/// The AVX2 kernel: 6 × 32 tiles, packed A in panels of 6 rows.
public enum AVX2Kernel: SgemmMicrokernel {
    public static var mr: Int { 6 }
    public static var mc: Int { 120 }

    /// Full tile: writes rows 0..<6, columns 0..<32 of C (row stride `ldc`).
    /// `beta == 0` never reads C (it may hold garbage or NaN).
    @inline(__always)
    public static func multiplyTile(
        kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        multiplyHalf(kc: kc, a: a, b: b, alpha: alpha, beta: beta, c: c, ldc: ldc, rows: 6)
        multiplyHalf(kc: kc, a: a, b: b + 16, alpha: alpha, beta: beta, c: c + 16, ldc: ldc, rows: 6)
    }

    /// Edge tile: only the rows asked for, and only the first half when at most 16
    /// columns are (a 16-column edge, as of n = 80, costs half a tile, not a whole).
    /// Each row count is its own copy of the loop (`rows` is a literal there).
    public static func multiplyEdge(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                    rows: Int, cols: Int, tile: UnsafeMutablePointer<Float>) {
        for half in 0..<(cols > 16 ? 2 : 1) {
            let b = b + 16 * half, c = tile + 16 * half
            switch rows {
            case 1: multiplyHalf(kc: kc, a: a, b: b, alpha: 1, beta: 0, c: c, ldc: sgemmNR, rows: 1)
            case 2: multiplyHalf(kc: kc, a: a, b: b, alpha: 1, beta: 0, c: c, ldc: sgemmNR, rows: 2)
            case 3: multiplyHalf(kc: kc, a: a, b: b, alpha: 1, beta: 0, c: c, ldc: sgemmNR, rows: 3)
            case 4: multiplyHalf(kc: kc, a: a, b: b, alpha: 1, beta: 0, c: c, ldc: sgemmNR, rows: 4)
            case 5: multiplyHalf(kc: kc, a: a, b: b, alpha: 1, beta: 0, c: c, ldc: sgemmNR, rows: 5)
            default: multiplyHalf(kc: kc, a: a, b: b, alpha: 1, beta: 0, c: c, ldc: sgemmNR, rows: 6)
            }
        }
    }

    /// Rows 0..<rows (≤ 6) and columns 0..<16 of C from columns 0..<16 of a
    /// 32-wide B panel (row stride 32). Always inlined with a literal `rows`, so
    /// the row tests fold away.
    @inline(__always)
    static func multiplyHalf(
        kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int
    ) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
        var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
        var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>()
        var c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        var pa = a
        var pb = UnsafeRawPointer(b)
        for _ in 0..<kc {
            let b0 = pb.loadUnaligned(as: SIMD8<Float>.self)
            let b1 = (pb + 32).loadUnaligned(as: SIMD8<Float>.self)
            var s = SIMD8<Float>(repeating: pa[0]); c00.addProduct(s, b0); c01.addProduct(s, b1)
            if rows > 1 { s = SIMD8<Float>(repeating: pa[1]); c10.addProduct(s, b0); c11.addProduct(s, b1) }
            if rows > 2 { s = SIMD8<Float>(repeating: pa[2]); c20.addProduct(s, b0); c21.addProduct(s, b1) }
            if rows > 3 { s = SIMD8<Float>(repeating: pa[3]); c30.addProduct(s, b0); c31.addProduct(s, b1) }
            if rows > 4 { s = SIMD8<Float>(repeating: pa[4]); c40.addProduct(s, b0); c41.addProduct(s, b1) }
            if rows > 5 { s = SIMD8<Float>(repeating: pa[5]); c50.addProduct(s, b0); c51.addProduct(s, b1) }
            pa += 6
            pb += 4 * sgemmNR
        }
        store(c00, c01, alpha: alpha, beta: beta, c)
        if rows > 1 { store(c10, c11, alpha: alpha, beta: beta, c + ldc) }
        if rows > 2 { store(c20, c21, alpha: alpha, beta: beta, c + 2 * ldc) }
        if rows > 3 { store(c30, c31, alpha: alpha, beta: beta, c + 3 * ldc) }
        if rows > 4 { store(c40, c41, alpha: alpha, beta: beta, c + 4 * ldc) }
        if rows > 5 { store(c50, c51, alpha: alpha, beta: beta, c + 5 * ldc) }
    }
}

/// One row of a half tile: c[0..<16] = beta · c + alpha · (v0, v1), the
/// operations of the AVX-512 kernel's store.
@inline(__always)
private func store(_ v0: SIMD8<Float>, _ v1: SIMD8<Float>, alpha: Float, beta: Float, _ c: UnsafeMutablePointer<Float>) {
    let p = UnsafeMutableRawPointer(c)
    var r0 = v0, r1 = v1
    if alpha != 1 { r0 *= alpha; r1 *= alpha }
    if beta != 0 {
        r0.addProduct(SIMD8<Float>(repeating: beta), p.loadUnaligned(as: SIMD8<Float>.self))
        r1.addProduct(SIMD8<Float>(repeating: beta), (p + 32).loadUnaligned(as: SIMD8<Float>.self))
    }
    p.storeBytes(of: r0, as: SIMD8<Float>.self)
    (p + 32).storeBytes(of: r1, as: SIMD8<Float>.self)
}
