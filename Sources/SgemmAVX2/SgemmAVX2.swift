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

/// `sgemmAVX2` with op(A) from `sgemmAVX2PackA`; `blockB(p0, kc, j0, nc)` gives
/// block (p0, j0) of op(B) in the panels of `packPanelsB` (for each NR-column
/// panel, (kc, NR), zero beyond nc) as its first panel and the distance between
/// its panels: packed by the caller per block (straight from its own layout) or
/// whole (`wholePanels`; a Winograd transform writes its output this way). The
/// same bits as `sgemmAVX2`.
@inline(never)
public func sgemmAVX2(
    m: Int, n: Int, k: Int, alpha: Float, packedA: UnsafePointer<Float>,
    blockB: (_ p0: Int, _ kc: Int, _ j0: Int, _ nc: Int) -> (UnsafePointer<Float>, Int),
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, tile: UnsafeMutablePointer<Float>
) {
    sgemmBlockedPacked(AVX2Kernel.self, m: m, n: n, k: k, alpha: alpha, packedA: packedA, blockB: blockB,
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
