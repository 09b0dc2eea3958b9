// The blocked loops of sleepfold's sgemm, generic over the micro-kernel
// (`SgemmMicrokernel`), `@inlinable` so that each kernel's module specialises
// them for its CPU target. Row-major C = alpha · op(A) · op(B) + beta · C,
// single-threaded; op(A) is (m, k), op(B) is (k, n), C is (m, n).
//
//   prepacked A: for each K block pc (KC deep), the MR-row panels of all m rows:
//                block pc at pc · roundUp(m, MR), panel i at i · kc within it
//
// K is cut into blocks of KC; block results are added to C in order, so the
// result is fixed for given inputs (no dependence on threads or timing), and a
// prepacked A or a caller-packed B gives the same bits as packing per call.

/// `C = alpha · op(A) · op(B) + beta · C`, packing both operands per block into
/// caller-owned scratch: `packA` of `sgemmPackASize` floats, `packB` of
/// `sgemmPackBSize`, `tile` of `sgemmTileSize` (64-byte aligned; one set per
/// concurrent caller). `lda`, `ldb`, `ldc` are the row strides as stored.
@inlinable @inline(__always)
public func sgemmBlocked<K: SgemmMicrokernel>(
    _ kernel: K.Type, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
    packA: UnsafeMutablePointer<Float>, packB: UnsafeMutablePointer<Float>,
    tile: UnsafeMutablePointer<Float>
) {
    blockedLoops(K.self, m: m, n: n, k: k, alpha: alpha, blockA: { ic, mc, pc, kc in
        packPanelsA(a, lda: lda, transposed: transA, mr: K.mr, i0: ic, mc: mc, p0: pc, kc: kc, into: packA)
        return UnsafePointer(packA)
    }, blockB: { pc, kc, jc, nc in
        packPanelsB(b, ldb: ldb, transposed: transB, p0: pc, kc: kc, j0: jc, nc: nc, into: packB)
        return (UnsafePointer(packB), sgemmNR * kc)
    }, beta: beta, c: c, ldc: ldc, tile: tile)
}

/// Packs all of op(A) (m, k) for kernel K into `dst` (`K.packedASize(m:k:)`
/// floats). op(A)[i, p] is a[i * lda + p], or a[p * lda + i] when `transA`.
@inlinable @inline(__always)
public func sgemmPackWholeA<K: SgemmMicrokernel>(_ kernel: K.Type, transA: Bool, m: Int, k: Int,
                                                 a: UnsafePointer<Float>, lda: Int,
                                                 into dst: UnsafeMutablePointer<Float>) {
    var pc = 0
    while pc < k {
        let kc = min(sgemmKC, k - pc)
        packPanelsA(a, lda: lda, transposed: transA, mr: K.mr, i0: 0, mc: m, p0: pc, kc: kc,
                    into: dst + pc * K.paddedRows(m))
        pc += kc
    }
}

/// The blocked loops over an op(A) packed whole by `sgemmPackWholeA`:
/// `blockB(p0, kc, j0, nc)` gives block (p0, j0) of op(B) as its first
/// NR-column panel (kc, NR) and the distance between its panels (a caller
/// packing it per block, or `wholePanels` of a B packed whole).
@inlinable @inline(__always)
public func sgemmBlockedPacked<K: SgemmMicrokernel>(
    _ kernel: K.Type, m: Int, n: Int, k: Int, alpha: Float, packedA: UnsafePointer<Float>,
    blockB: (_ p0: Int, _ kc: Int, _ j0: Int, _ nc: Int) -> (UnsafePointer<Float>, Int),
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, tile: UnsafeMutablePointer<Float>
) {
    let mPadded = K.paddedRows(m)
    // ic is a multiple of MC, so of MR: its rows start a panel.
    blockedLoops(K.self, m: m, n: n, k: k, alpha: alpha, blockA: { ic, _, pc, kc in packedA + pc * mPadded + ic * kc },
                 blockB: blockB, beta: beta, c: c, ldc: ldc, tile: tile)
}

/// The loops over blocks, in one order for every caller: columns by NC, depth by
/// KC (block pc's results added to what the blocks before it wrote), rows by MC.
/// `blockB(pc, kc, jc, nc)` gives B's block as its first NR-column panel and the
/// distance between its panels; `blockA(ic, mc, pc, kc)` gives A's block as its
/// first MR-row panel (panel i at i · MR · kc), packed or packed already.
@inlinable @inline(__always)
func blockedLoops<K: SgemmMicrokernel>(
    _ kernel: K.Type, m: Int, n: Int, k: Int, alpha: Float,
    blockA: (_ ic: Int, _ mc: Int, _ pc: Int, _ kc: Int) -> UnsafePointer<Float>,
    blockB: (_ pc: Int, _ kc: Int, _ jc: Int, _ nc: Int) -> (UnsafePointer<Float>, Int),
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, tile: UnsafeMutablePointer<Float>
) {
    var jc = 0
    while jc < n {
        let nc = min(sgemmNC, n - jc)
        var pc = 0
        while pc < k {
            let kc = min(sgemmKC, k - pc)
            let blockBeta: Float = pc == 0 ? beta : 1
            let (bBlock, panelStride) = blockB(pc, kc, jc, nc)
            var ic = 0
            while ic < m {
                let mc = min(K.mc, m - ic)
                multiplyBlock(K.self, mc: mc, nc: nc, kc: kc, alpha: alpha, a: blockA(ic, mc, pc, kc), b: bBlock,
                              panelStride: panelStride, beta: blockBeta, c: c + ic * ldc + jc, ldc: ldc, tile: tile)
                ic += mc
            }
            pc += kc
        }
        jc += nc
    }
}

/// One packed block: C (mc, nc) at `c` from the MR-row panels of A at `a` (panel i
/// at i · MR · kc) and the NR-column panels of B at `b` (`panelStride` apart), tile by
/// tile, B's panel outermost so that it stays in L1 for every A panel.
@inlinable @inline(__always)
func multiplyBlock<K: SgemmMicrokernel>(
    _ kernel: K.Type, mc: Int, nc: Int, kc: Int, alpha: Float, a: UnsafePointer<Float>,
    b: UnsafePointer<Float>, panelStride: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
    tile: UnsafeMutablePointer<Float>
) {
    let mr = K.mr, nr = sgemmNR
    var jr = 0
    while jr < nc {
        let cols = min(nr, nc - jr)
        let bPanel = b + (jr / nr) * panelStride
        var ir = 0
        while ir < mc {
            multiplyTile(K.self, kc: kc, a: a + (ir / mr) * mr * kc, b: bPanel, alpha: alpha, beta: beta,
                         c: c + ir * ldc + jr, ldc: ldc, rows: min(mr, mc - ir), cols: cols, tile: tile)
            ir += mr
        }
        jr += nr
    }
}

/// One tile of `rows` × `cols` (at most MR × NR). An edge tile is computed into
/// `tile` (`multiplyEdge`) and only its rows 0..<rows, columns 0..<cols go to C,
/// with the operations of a full tile's store: (alpha · acc), then fused beta · c.
@inlinable @inline(__always)
func multiplyTile<K: SgemmMicrokernel>(
    _ kernel: K.Type, kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
    rows: Int, cols: Int, tile: UnsafeMutablePointer<Float>
) {
    if rows == K.mr && cols == sgemmNR {
        K.multiplyTile(kc: kc, a: a, b: b, alpha: alpha, beta: beta, c: c, ldc: ldc)
        return
    }
    K.multiplyEdge(kc: kc, a: a, b: b, rows: rows, cols: cols, tile: tile)
    for i in 0..<rows {
        let row = c + i * ldc
        let t = tile + i * sgemmNR
        for j in 0..<cols {
            let scaled = alpha != 1 ? t[j] * alpha : t[j]
            row[j] = beta != 0 ? scaled.addingProduct(beta, row[j]) : scaled
        }
    }
}

/// Block (p0, j0) of an op(B) (k, n) packed whole (NR-column panel jp is (k, NR)
/// row-major at `packedB + jp · k · NR`, zero past n): its first panel at depth
/// p0, and the distance between its panels (k · NR), for `sgemmBlockedPacked`.
@inlinable @inline(__always)
public func wholePanels(_ packedB: UnsafePointer<Float>, k: Int, p0: Int, j0: Int) -> (UnsafePointer<Float>, Int) {
    (packedB + (j0 / sgemmNR) * k * sgemmNR + p0 * sgemmNR, k * sgemmNR)
}

/// Floats of an op(B) (k, n) packed whole in NR-column panels (every kernel's layout).
public func sgemmPackedBSize(k: Int, n: Int) -> Int {
    (n + sgemmNR - 1) / sgemmNR * sgemmNR * k
}
