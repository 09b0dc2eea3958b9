import Sgemm

// The 8 × 32 micro-kernel: C[0..<8, 0..<32] = beta · C + alpha · Σ_p a[p, :] ⊗ b[p, :]
// over one packed block (a: (kc, 8), b: (kc, 32)), in 16 zmm accumulators.
// Sums run p = 0, 1, … in order, one FMA per term: the result does not depend on
// anything but the inputs and KC.

/// The AVX-512 kernel: 8 × 32 tiles, packed A in panels of 8 rows.
public enum AVX512Kernel: SgemmMicrokernel {
    public static var mr: Int { 8 }
    public static var mc: Int { 128 }

    /// Full tile: writes rows 0..<8, columns 0..<32 of C (row stride `ldc`).
    /// `beta == 0` never reads C (it may hold garbage or NaN).
    @inline(__always)
    public static func multiplyTile(
        kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        var c00 = SIMD16<Float>(), c01 = SIMD16<Float>()
        var c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
        var c20 = SIMD16<Float>(), c21 = SIMD16<Float>()
        var c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
        var c40 = SIMD16<Float>(), c41 = SIMD16<Float>()
        var c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
        var c60 = SIMD16<Float>(), c61 = SIMD16<Float>()
        var c70 = SIMD16<Float>(), c71 = SIMD16<Float>()
        var pa = a
        var pb = UnsafeRawPointer(b)
        for _ in 0..<kc {
            let b0 = pb.loadUnaligned(as: SIMD16<Float>.self)
            let b1 = (pb + 64).loadUnaligned(as: SIMD16<Float>.self)
            var s = SIMD16<Float>(repeating: pa[0]); c00.addProduct(s, b0); c01.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[1]); c10.addProduct(s, b0); c11.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[2]); c20.addProduct(s, b0); c21.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[3]); c30.addProduct(s, b0); c31.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[4]); c40.addProduct(s, b0); c41.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[5]); c50.addProduct(s, b0); c51.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[6]); c60.addProduct(s, b0); c61.addProduct(s, b1)
            s = SIMD16<Float>(repeating: pa[7]); c70.addProduct(s, b0); c71.addProduct(s, b1)
            pa += 8
            pb += 128
        }
        store(c00, c01, alpha: alpha, beta: beta, c)
        store(c10, c11, alpha: alpha, beta: beta, c + ldc)
        store(c20, c21, alpha: alpha, beta: beta, c + 2 * ldc)
        store(c30, c31, alpha: alpha, beta: beta, c + 3 * ldc)
        store(c40, c41, alpha: alpha, beta: beta, c + 4 * ldc)
        store(c50, c51, alpha: alpha, beta: beta, c + 5 * ldc)
        store(c60, c61, alpha: alpha, beta: beta, c + 6 * ldc)
        store(c70, c71, alpha: alpha, beta: beta, c + 7 * ldc)
    }

    /// Edge tile: the whole 8 × 32 product into `tile`.
    @inline(__always)
    public static func multiplyEdge(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                    rows: Int, cols: Int, tile: UnsafeMutablePointer<Float>) {
        multiplyTile(kc: kc, a: a, b: b, alpha: 1, beta: 0, c: tile, ldc: sgemmNR)
    }
}

/// One row of a full tile: c[0..<32] = beta · c + alpha · (v0, v1).
@inline(__always)
private func store(_ v0: SIMD16<Float>, _ v1: SIMD16<Float>, alpha: Float, beta: Float, _ c: UnsafeMutablePointer<Float>) {
    let p = UnsafeMutableRawPointer(c)
    var r0 = v0, r1 = v1
    if alpha != 1 { r0 *= alpha; r1 *= alpha }
    if beta != 0 {
        r0.addProduct(SIMD16<Float>(repeating: beta), p.loadUnaligned(as: SIMD16<Float>.self))
        r1.addProduct(SIMD16<Float>(repeating: beta), (p + 64).loadUnaligned(as: SIMD16<Float>.self))
    }
    p.storeBytes(of: r0, as: SIMD16<Float>.self)
    (p + 64).storeBytes(of: r1, as: SIMD16<Float>.self)
}
