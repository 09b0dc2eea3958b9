import Sgemm

// sleepfold's sgemm on the AVX-512 kernel: the generic blocked loops (module
// Sgemm) specialised here, so that they and the kernel are compiled for
// AVX-512. Only call on a CPU with AVX-512 (F, DQ, BW, VL, CD).

/// Row-major `C = alpha · op(A) · op(B) + beta · C`, single-threaded; see
/// `sgemmBlocked` for the operands and the caller-owned scratch.
@inline(never)
public func sgemmAVX512(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
    packA: UnsafeMutablePointer<Float>, packB: UnsafeMutablePointer<Float>,
    tile: UnsafeMutablePointer<Float>
) {
    sgemmBlocked(AVX512Kernel.self, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                 a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, packA: packA, packB: packB, tile: tile)
}

/// Packs all of op(A) (m, k) into `dst` (`AVX512Kernel.packedASize(m:k:)` floats),
/// once for many calls (a layer's weights, reused by every sample of a batch).
@inline(never)
public func sgemmAVX512PackA(transA: Bool, m: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                             into dst: UnsafeMutablePointer<Float>) {
    sgemmPackWholeA(AVX512Kernel.self, transA: transA, m: m, k: k, a: a, lda: lda, into: dst)
}

/// `sgemmAVX512` with op(A) from `sgemmAVX512PackA` and op(B) packed by
/// `packB(p0, kc, j0, nc, dst)` straight from the caller's layout: it must write
/// depth p0..<p0+kc, columns j0..<j0+nc of op(B) in the layout of `packPanelsB`
/// (for each NR-column panel, (kc, NR), zero beyond nc) into `packBuffer`
/// (`sgemmPackBSize` floats). The same bits as `sgemmAVX512`.
@inline(never)
public func sgemmAVX512(
    m: Int, n: Int, k: Int, alpha: Float, packedA: UnsafePointer<Float>,
    packB: (_ p0: Int, _ kc: Int, _ j0: Int, _ nc: Int, _ dst: UnsafeMutablePointer<Float>) -> Void,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
    packBuffer: UnsafeMutablePointer<Float>, tile: UnsafeMutablePointer<Float>
) {
    sgemmBlockedPacked(AVX512Kernel.self, m: m, n: n, k: k, alpha: alpha, packedA: packedA, blockB: { p0, kc, j0, nc in
        packB(p0, kc, j0, nc, packBuffer)
        return (UnsafePointer(packBuffer), sgemmNR * kc)
    }, beta: beta, c: c, ldc: ldc, tile: tile)
}

/// `sgemmAVX512` with op(A) from `sgemmAVX512PackA` and op(B) packed whole by the
/// caller (a Winograd transform writes its output this way, so no pass packs it
/// again): NR-column panel jp (columns jp·NR ..< jp·NR + NR, zero past n) is
/// (k, NR) row-major at `packedB + jp · k · NR` (`sgemmPackedBSize`). The same bits.
@inline(never)
public func sgemmAVX512(
    m: Int, n: Int, k: Int, alpha: Float, packedA: UnsafePointer<Float>, packedB: UnsafePointer<Float>,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, tile: UnsafeMutablePointer<Float>
) {
    sgemmBlockedPacked(AVX512Kernel.self, m: m, n: n, k: k, alpha: alpha, packedA: packedA,
                       blockB: { p0, _, j0, _ in wholePanels(packedB, k: k, p0: p0, j0: j0) },
                       beta: beta, c: c, ldc: ldc, tile: tile)
}

/// Packs depth p0..<p0+kc, columns j0..<j0+nc of op(B) into `dst` as the packing
/// sgemm does (for a `packB` that reads a plain matrix): op(B)[p, j] is
/// b[p * ldb + j], or b[j * ldb + p] when `transB`.
@inline(never)
public func sgemmAVX512PackB(transB: Bool, b: UnsafePointer<Float>, ldb: Int,
                             p0: Int, kc: Int, j0: Int, nc: Int, into dst: UnsafeMutablePointer<Float>) {
    packPanelsB(b, ldb: ldb, transposed: transB, p0: p0, kc: kc, j0: j0, nc: nc, into: dst)
}
