// The same sgemm with op(A) packed once for many calls (a layer's weights,
// reused by every sample of a batch) and op(B) packed by the caller straight
// from its own layout (a convolution's input, without an im2col matrix).
//
//   prepacked A: for each K block pc (KC deep), the MR-row panels of all m rows:
//                block pc at pc · roundUp(m, MR), panel i at i · kc within it
//
// The micro-kernel sees the same panels, K blocks in the same order, as
// `sgemmAVX512` would build itself: results are bit for bit the same.

/// Floats that `sgemmPackA` writes for an op(A) of (m, k).
public func sgemmPackedASize(m: Int, k: Int) -> Int {
    (m + sgemmMR - 1) / sgemmMR * sgemmMR * k
}

/// Packs all of op(A) (m, k) into `dst` (`sgemmPackedASize(m:k:)` floats).
/// op(A)[i, p] is a[i * lda + p], or a[p * lda + i] when `transA`.
public func sgemmPackA(transA: Bool, m: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                       into dst: UnsafeMutablePointer<Float>) {
    let mPadded = (m + sgemmMR - 1) / sgemmMR * sgemmMR
    var pc = 0
    while pc < k {
        let kc = min(sgemmKC, k - pc)
        packPanelsA(a, lda: lda, transposed: transA, i0: 0, mc: m, p0: pc, kc: kc, into: dst + pc * mPadded)
        pc += kc
    }
}

/// Row-major `C = alpha · op(A) · op(B) + beta · C` as `sgemmAVX512`, with op(A)
/// from `sgemmPackA` and op(B) packed by `packB(p0, kc, j0, nc, dst)`: it must
/// write depth p0..<p0+kc, columns j0..<j0+nc of op(B) in the layout of
/// `packPanelsB` (for each NR-column panel, (kc, NR), zero beyond nc).
/// `packB` scratch holds `sgemmPackBSize` floats, `tile` MR · NR.
@inline(never)
public func sgemmAVX512(
    m: Int, n: Int, k: Int, alpha: Float, packedA: UnsafePointer<Float>,
    packB: (_ p0: Int, _ kc: Int, _ j0: Int, _ nc: Int, _ dst: UnsafeMutablePointer<Float>) -> Void,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
    packBuffer: UnsafeMutablePointer<Float>, tile: UnsafeMutablePointer<Float>
) {
    multiplyPacked(m: m, n: n, k: k, alpha: alpha, packedA: packedA, blockB: { p0, kc, j0, nc in
        packB(p0, kc, j0, nc, packBuffer)
        return (UnsafePointer(packBuffer), sgemmNR * kc)
    }, beta: beta, c: c, ldc: ldc, tile: tile)
}

/// Floats of an op(B) (k, n) packed whole for `sgemmAVX512(…packedB:…)`.
public func sgemmPackedBSize(k: Int, n: Int) -> Int {
    (n + sgemmNR - 1) / sgemmNR * sgemmNR * k
}

/// `sgemmAVX512` with op(B) packed whole by the caller (a Winograd transform
/// writes its output this way, so no pass packs it again): NR-column panel jp
/// (columns jp·NR ..< jp·NR + NR, zero past n) is (k, NR) row-major at
/// `packedB + jp · k · NR`. The micro-kernel reads the same panels in the same
/// order as when a block is packed per call: the same bits.
@inline(never)
public func sgemmAVX512(
    m: Int, n: Int, k: Int, alpha: Float, packedA: UnsafePointer<Float>, packedB: UnsafePointer<Float>,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, tile: UnsafeMutablePointer<Float>
) {
    multiplyPacked(m: m, n: n, k: k, alpha: alpha, packedA: packedA, blockB: { p0, _, j0, _ in
        // Block (p0, j0): depth p0 of panel j0 / NR; its panels are k · NR apart.
        (packedB + (j0 / sgemmNR) * k * sgemmNR + p0 * sgemmNR, k * sgemmNR)
    }, beta: beta, c: c, ldc: ldc, tile: tile)
}

/// The blocked loops over packed operands: `blockB(p0, kc, j0, nc)` gives block
/// (p0, j0) of op(B) as its first NR-column panel (kc, NR) and the distance
/// between its panels.
@inline(__always)
private func multiplyPacked(
    m: Int, n: Int, k: Int, alpha: Float, packedA: UnsafePointer<Float>,
    blockB: (_ p0: Int, _ kc: Int, _ j0: Int, _ nc: Int) -> (UnsafePointer<Float>, Int),
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, tile: UnsafeMutablePointer<Float>
) {
    let mr = sgemmMR, nr = sgemmNR
    let mPadded = (m + mr - 1) / mr * mr
    var jc = 0
    while jc < n {
        let nc = min(sgemmNC, n - jc)
        var pc = 0
        while pc < k {
            let kc = min(sgemmKC, k - pc)
            let blockBeta: Float = pc == 0 ? beta : 1
            let (bBlock, panelStride) = blockB(pc, kc, jc, nc)
            let aBlock = packedA + pc * mPadded
            var ic = 0
            while ic < m {
                let mc = min(sgemmMC, m - ic)
                var jr = 0
                while jr < nc {
                    let cols = min(nr, nc - jr)
                    let bPanel = bBlock + (jr / nr) * panelStride
                    var ir = 0
                    while ir < mc {
                        let rows = min(mr, mc - ir)
                        let aPanel = aBlock + ((ic + ir) / mr) * mr * kc
                        let cTile = c + (ic + ir) * ldc + jc + jr
                        if rows == mr && cols == nr {
                            microkernel8x32(kc: kc, a: aPanel, b: bPanel, alpha: alpha, beta: blockBeta, c: cTile, ldc: ldc)
                        } else {
                            microkernelEdge(kc: kc, a: aPanel, b: bPanel, alpha: alpha, beta: blockBeta,
                                            c: cTile, ldc: ldc, mr: rows, nr: cols, tile: tile)
                        }
                        ir += mr
                    }
                    jr += nr
                }
                ic += mc
            }
            pc += kc
        }
        jc += nc
    }
}

/// Packs depth p0..<p0+kc, columns j0..<j0+nc of op(B) into `dst` as `sgemmAVX512`
/// does (for a `packB` that reads a plain matrix): op(B)[p, j] is b[p * ldb + j],
/// or b[j * ldb + p] when `transB`.
@inline(__always)
public func sgemmPackB(transB: Bool, b: UnsafePointer<Float>, ldb: Int,
                       p0: Int, kc: Int, j0: Int, nc: Int, into dst: UnsafeMutablePointer<Float>) {
    packPanelsB(b, ldb: ldb, transposed: transB, p0: p0, kc: kc, j0: j0, nc: nc, into: dst)
}
