// Packing of op(A) and op(B) blocks into the micro-kernel's layout, zero-padded
// to whole micro-panels so the kernel never branches on edges.
//
//   packed A: for each MR-row panel, (KC, MR): a[p * MR + i] = op(A)[i, p]
//             (MR is the kernel's)
//   packed B: for each NR-col panel, (KC, NR): b[p * NR + j] = op(B)[p, j]
//
// op(A)[i, p] is a[i * lda + p] (no transpose) or a[p * lda + i] (transposed);
// op(B)[p, j] is b[p * ldb + j] (no transpose) or b[j * ldb + p] (transposed).
//
// Public and always inlined: each kernel's module (and SleepNet, for its own
// packers) compiles them for its CPU target.

/// Packs rows i0..<i0+mc, depth p0..<p0+kc of op(A) into `dst` as panels of `mr` rows.
@inlinable @inline(__always)
public func packPanelsA(
    _ a: UnsafePointer<Float>, lda: Int, transposed: Bool, mr: Int,
    i0: Int, mc: Int, p0: Int, kc: Int, into dst: UnsafeMutablePointer<Float>
) {
    var panel = dst
    var i = 0
    while i < mc {
        let rows = min(mr, mc - i)
        if transposed {
            // op(A)[i, p] = a[p * lda + i]: MR consecutive floats per p.
            for p in 0..<kc {
                let src = a + (p0 + p) * lda + i0 + i
                let out = panel + p * mr
                for r in 0..<rows { out[r] = src[r] }
                for r in rows..<mr { out[r] = 0 }
            }
        } else {
            // op(A)[i, p] = a[i * lda + p]: walk each row, write with stride MR.
            for r in 0..<rows {
                let src = a + (i0 + i + r) * lda + p0
                for p in 0..<kc { panel[p * mr + r] = src[p] }
            }
            if rows < mr {
                for p in 0..<kc { for r in rows..<mr { panel[p * mr + r] = 0 } }
            }
        }
        panel += mr * kc
        i += mr
    }
}

/// Packs depth p0..<p0+kc, columns j0..<j0+nc of op(B) into `dst`.
@inlinable @inline(__always)
public func packPanelsB(
    _ b: UnsafePointer<Float>, ldb: Int, transposed: Bool,
    p0: Int, kc: Int, j0: Int, nc: Int, into dst: UnsafeMutablePointer<Float>
) {
    let nr = sgemmNR
    var panel = dst
    var j = 0
    while j < nc {
        let cols = min(nr, nc - j)
        if transposed {
            // op(B)[p, j] = b[j * ldb + p]: 16 values along p per column at a
            // time, so the writes of one block stay within 16 rows of the panel.
            var p = 0
            while p + 8 <= kc {
                var c = 0
                while c + 8 <= cols {
                    let r = UnsafeRawPointer(b + (j0 + j + c) * ldb + p0 + p)
                    let v0 = r.loadUnaligned(as: SIMD8<Float>.self)
                    let v1 = (r + 4 * ldb).loadUnaligned(as: SIMD8<Float>.self)
                    let v2 = (r + 8 * ldb).loadUnaligned(as: SIMD8<Float>.self)
                    let v3 = (r + 12 * ldb).loadUnaligned(as: SIMD8<Float>.self)
                    let v4 = (r + 16 * ldb).loadUnaligned(as: SIMD8<Float>.self)
                    let v5 = (r + 20 * ldb).loadUnaligned(as: SIMD8<Float>.self)
                    let v6 = (r + 24 * ldb).loadUnaligned(as: SIMD8<Float>.self)
                    let v7 = (r + 28 * ldb).loadUnaligned(as: SIMD8<Float>.self)
                    let out = UnsafeMutableRawPointer(panel + p * nr + c)
                    for i in 0..<8 {
                        let t = SIMD8<Float>(v0[i], v1[i], v2[i], v3[i], v4[i], v5[i], v6[i], v7[i])
                        (out + 4 * i * nr).storeBytes(of: t, as: SIMD8<Float>.self)
                    }
                    c += 8
                }
                for c in c..<cols {
                    let src = b + (j0 + j + c) * ldb + p0 + p
                    for i in 0..<8 { panel[(p + i) * nr + c] = src[i] }
                }
                p += 8
            }
            for c in 0..<cols {
                let src = b + (j0 + j + c) * ldb + p0
                for q in p..<kc { panel[q * nr + c] = src[q] }
            }
            if cols < nr {
                for p in 0..<kc { for c in cols..<nr { panel[p * nr + c] = 0 } }
            }
        } else if cols == nr {
            // op(B)[p, j] = b[p * ldb + j]: NR consecutive floats per p.
            for p in 0..<kc {
                let src = UnsafeRawPointer(b + (p0 + p) * ldb + j0 + j)
                let out = UnsafeMutableRawPointer(panel + p * nr)
                out.storeBytes(of: src.loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                (out + 64).storeBytes(of: (src + 64).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
            }
        } else {
            for p in 0..<kc {
                let src = b + (p0 + p) * ldb + j0 + j
                let out = panel + p * nr
                for c in 0..<cols { out[c] = src[c] }
                for c in cols..<nr { out[c] = 0 }
            }
        }
        panel += nr * kc
        j += nr
    }
}
