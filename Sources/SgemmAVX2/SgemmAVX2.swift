import Sgemm

// sleepfold's sgemm on the AVX2 kernel: the generic blocked loops (module
// Sgemm) specialised here, so that they and the kernel are compiled for
// x86-64-v3 (AVX2, FMA), what the model core needs anyway. For the same inputs
// it gives the bits of the AVX-512 sgemm (same K blocks, same order of sums).

/// Row-major `C = alpha · op(A) · op(B) + beta · C`, single-threaded; see
/// `sgemmBlocked` for the operands and the caller-owned scratch.
@inline(never)
public func sgemmAVX2(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
    packA: UnsafeMutablePointer<Float>, packB: UnsafeMutablePointer<Float>,
    tile: UnsafeMutablePointer<Float>
) {
    sgemmBlocked(AVX2Kernel.self, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                 a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, packA: packA, packB: packB, tile: tile)
}

/// Packs all of op(A) (m, k) into `dst` (`AVX2Kernel.packedASize(m:k:)` floats),
/// once for many calls (a layer's weights, reused by every sample of a batch).
@inline(never)
public func sgemmAVX2PackA(transA: Bool, m: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                             into dst: UnsafeMutablePointer<Float>) {
    sgemmPackWholeA(AVX2Kernel.self, transA: transA, m: m, k: k, a: a, lda: lda, into: dst)
}

/// `sgemmAVX2` with op(A) from `sgemmAVX2PackA` and op(B) packed by
/// `packB(p0, kc, j0, nc, dst)` straight from the caller's layout: it must write
/// depth p0..<p0+kc, columns j0..<j0+nc of op(B) in the layout of `packPanelsB`
/// (for each NR-column panel, (kc, NR), zero beyond nc) into `packBuffer`
/// (`sgemmPackBSize` floats). The same bits as `sgemmAVX2`.
@inline(never)
public func sgemmAVX2(
    m: Int, n: Int, k: Int, alpha: Float, packedA: UnsafePointer<Float>,
    packB: (_ p0: Int, _ kc: Int, _ j0: Int, _ nc: Int, _ dst: UnsafeMutablePointer<Float>) -> Void,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
    packBuffer: UnsafeMutablePointer<Float>, tile: UnsafeMutablePointer<Float>
) {
    sgemmBlockedPacked(AVX2Kernel.self, m: m, n: n, k: k, alpha: alpha, packedA: packedA, blockB: { p0, kc, j0, nc in
        packB(p0, kc, j0, nc, packBuffer)
        return (UnsafePointer(packBuffer), sgemmNR * kc)
    }, beta: beta, c: c, ldc: ldc, tile: tile)
}

/// `sgemmAVX2` with op(A) from `sgemmAVX2PackA` and op(B) packed whole by the
/// caller (a Winograd transform writes its output this way, so no pass packs it
/// again): NR-column panel jp (columns jp·NR ..< jp·NR + NR, zero past n) is
/// (k, NR) row-major at `packedB + jp · k · NR` (`sgemmPackedBSize`). The same bits.
@inline(never)
public func sgemmAVX2(
    m: Int, n: Int, k: Int, alpha: Float, packedA: UnsafePointer<Float>, packedB: UnsafePointer<Float>,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, tile: UnsafeMutablePointer<Float>
) {
    sgemmBlockedPacked(AVX2Kernel.self, m: m, n: n, k: k, alpha: alpha, packedA: packedA,
                       blockB: { p0, _, j0, _ in wholePanels(packedB, k: k, p0: p0, j0: j0) },
                       beta: beta, c: c, ldc: ldc, tile: tile)
}

/// Packs depth p0..<p0+kc, columns j0..<j0+nc of op(B) into `dst` as the packing
/// sgemm does (for a `packB` that reads a plain matrix): op(B)[p, j] is
/// b[p * ldb + j], or b[j * ldb + p] when `transB`.
@inline(never)
public func sgemmAVX2PackB(transB: Bool, b: UnsafePointer<Float>, ldb: Int,
                             p0: Int, kc: Int, j0: Int, nc: Int, into dst: UnsafeMutablePointer<Float>) {
    packPanelsB(b, ldb: ldb, transposed: transB, p0: p0, kc: kc, j0: j0, nc: nc, into: dst)
}
