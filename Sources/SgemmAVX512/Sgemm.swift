/// Row-major `C = alpha · op(A) · op(B) + beta · C`, single-threaded, with
/// AVX-512 micro-kernels. Only call on a CPU with AVX-512 (F, DQ, BW, VL, CD):
/// this module is compiled for it.
///
/// op(A) is (m, k), op(B) is (k, n), C is (m, n); `lda`, `ldb`, `ldc` are the
/// row strides as stored. `packA` and `packB` are caller-owned scratch of
/// `sgemmPackASize` and `sgemmPackBSize` floats (64-byte aligned), and `tile`
/// of MR · NR floats: one set per concurrent caller.
///
/// K is cut into blocks of KC; block results are added to C in order, so the
/// result is fixed for given inputs (no dependence on threads or timing).
@inline(never)
public func sgemmAVX512(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
    packA: UnsafeMutablePointer<Float>, packB: UnsafeMutablePointer<Float>,
    tile: UnsafeMutablePointer<Float>
) {
    let mr = sgemmMR, nr = sgemmNR
    var jc = 0
    while jc < n {
        let nc = min(sgemmNC, n - jc)
        var pc = 0
        while pc < k {
            let kc = min(sgemmKC, k - pc)
            // Later K blocks add to what the first one wrote.
            let blockBeta: Float = pc == 0 ? beta : 1
            packPanelsB(b, ldb: ldb, transposed: transB, p0: pc, kc: kc, j0: jc, nc: nc, into: packB)
            var ic = 0
            while ic < m {
                let mc = min(sgemmMC, m - ic)
                packPanelsA(a, lda: lda, transposed: transA, i0: ic, mc: mc, p0: pc, kc: kc, into: packA)
                var jr = 0
                while jr < nc {
                    let cols = min(nr, nc - jr)
                    let bPanel = packB + (jr / nr) * nr * kc
                    var ir = 0
                    while ir < mc {
                        let rows = min(mr, mc - ir)
                        let aPanel = packA + (ir / mr) * mr * kc
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
