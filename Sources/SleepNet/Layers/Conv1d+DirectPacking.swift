import Basics
import Sgemm

// Conv1d on sleepfold's own sgemm with less packing (`Conv1d.packsDirectly`): the
// forward packs the weights once per pass as the sgemm's A operand and the
// columns of the im2col matrix straight from the input into the sgemm's
// packed-B panels; the backward packs Wᵀ once per pass for its dcol GEMM. The
// micro-kernel sees the panels it would have seen through im2col + `sgemm`,
// so every output and gradient is bit for bit the same; what goes is writing
// and re-reading the forward's im2col matrix (C·K·Lo floats per sample) and
// packing the weights for every sample.
extension Conv1d {
    /// inp (B, C, L) -> out (B, F, Lo), then `epilogue(out_b, b)` on each sample's
    /// output. Samples grouped per GEMM as `forwardGrouped` does:
    ///
    ///     // Y (F, G·Lo) = W (F, C·K) · col (C·K, G·Lo), col packed from x_s0 ..< x_s0+G
    /// With a stride s > 1, or several samples per GEMM (short rows, whose panels
    /// straddle samples and padding), the group's input is first split by phase
    /// (`splitByPhase`; for s = 1: rows copied with their padding), so that every
    /// panel row is one or two contiguous copies; long stride-1 rows pack from x.
    func forwardDirect(_ x: Tensor, epilogue: ((UnsafeMutablePointer<Float>, Int) -> Void)?) -> Tensor {
        let B = x.shape[0], C = inChannels, L = x.shape[2]
        precondition(x.shape[1] == C, "Conv1d: input has \(x.shape[1]) channels, expected \(C)")
        let F = outChannels, CK = C * kernel, Lo = outputLength(L)
        let group = Self.sampleGroup(batch: B, outLength: Lo)
        let N = group * Lo, chunks = (B + group - 1) / group
        let lanes = laneCount(chunks)
        input = x
        output.resize(Shape(B, F, Lo))
        packedWeight.resize(Shape(packedWeightSize(m: F, k: CK)))
        packWeight(transA: false, m: F, k: CK, a: store.value(weight), lda: CK, into: packedWeight.data)
        if group > 1 { col.resize(Shape(lanes, F, N)) }   // the GEMM's output for a group
        let s = stride, R = phaseLength(outLength: Lo), splitCount = group * C * s * R
        let splits = s > 1 || group > 1
        if splits { phaseSplit.resize(Shape(lanes, splitCount)) }
        let pw = UnsafePointer(packedWeight.data)
        let bvals = bias.map { UnsafePointer(store.value($0)) }
        let xp = UnsafePointer(x.data), yp = output.data, colBase = col.data, splitBase = phaseSplit.data
        parallelLanes(chunks, lanes: lanes) { lane, chunk in
            let s0 = chunk * group, n = min(B, s0 + group) - s0
            let xs = xp + s0 * C * L
            // One sample: straight into y_b (F, Lo); a group: into the lane's (F, N).
            let target = group > 1 ? colBase + lane * F * N : yp + s0 * F * Lo
            if splits {
                let split = splitBase + lane * splitCount
                for r in 0..<(n * C) { self.splitByPhase(xs + r * L, length: L, into: split + r * s * R, phaseLength: R) }
                sgemmPrepacked(m: F, n: n * Lo, k: CK, alpha: 1, packedA: pw,
                               packB: { p0, kc, j0, nc, dst in
                                   self.packPhaseColumns(split, phaseLength: R, outLength: Lo,
                                                         p0: p0, kc: kc, j0: j0, nc: nc, into: dst)
                               },
                               beta: 0, c: target, ldc: group > 1 ? N : Lo)
            } else {
                sgemmPrepacked(m: F, n: n * Lo, k: CK, alpha: 1, packedA: pw,
                               packB: { p0, kc, j0, nc, dst in
                                   self.packColumns(xs, length: L, outLength: Lo, p0: p0, kc: kc, j0: j0, nc: nc, into: dst)
                               },
                               beta: 0, c: target, ldc: group > 1 ? N : Lo)
            }
            for q in 0..<n {
                let yb = yp + (s0 + q) * F * Lo
                if group > 1 {
                    // As `forwardGrouped`: y = Y + bias (0 without one).
                    for f in 0..<F {
                        let src = target + f * N + q * Lo, dst = yb + f * Lo
                        let v = bvals?[f] ?? 0
                        for t in 0..<Lo { dst[t] = src[t] + v }
                    }
                } else if let bv = bvals {
                    // As `forwardIm2col`: y += bias.
                    for f in 0..<F {
                        let row = yb + f * Lo
                        let v = bv[f]
                        for t in 0..<Lo { row[t] += v }
                    }
                }
                epilogue?(yb, s0 + q)
            }
        }
        return output
    }

    /// dout (B, F, Lo) -> dinp (B, C, L) as `backward(_:prologue:)`, per sample:
    ///
    ///     // dW (F, C·K) (+)= dy_b (F, Lo) · col_bᵀ (Lo, C·K), col_b by im2col
    ///     // dcol (C·K, Lo) = Wᵀ (C·K, F) · dy_b (F, Lo), Wᵀ packed once, then col2im into dx_b
    /// The per-sample loop only: prologue, the chunk's partial dW
    /// (`formsWeightGradient`) and dx (`formsInputGradient`); the caller adds the
    /// partial weight gradients up (`finishGradients`).
    func backwardDirect(_ dy: Tensor, input x: Tensor, formsWeightGradient weightGrad: Bool,
                        formsInputGradient inputGrad: Bool,
                        prologue: ((UnsafeMutablePointer<Float>, Int) -> Void)?) {
        let B = x.shape[0], C = inChannels, L = x.shape[2]
        let F = outChannels, CK = C * kernel, Lo = outputLength(L)
        let weightCount = F * CK
        let chunk = Self.gradientChunk, chunks = (B + chunk - 1) / chunk
        let lanes = laneCount(chunks)
        if inputGrad {
            inputGradient.resize(Shape(B, C, L))
            colGrad.resize(Shape(lanes, CK, Lo))
            packedWeightTransposed.resize(Shape(packedWeightSize(m: CK, k: F)))
            packWeight(transA: true, m: CK, k: F, a: store.value(weight), lda: CK, into: packedWeightTransposed.data)
        }
        if weightGrad {
            col.resize(Shape(lanes, CK, Lo))
            partialWeightGradient.resize(Shape(chunks, weightCount))
        }
        let xp = UnsafePointer(x.data), dyp = dy.data, dxp = inputGradient.data
        let pwt = UnsafePointer(packedWeightTransposed.data)
        let dcolBase = colGrad.data, colBase = col.data, partial = partialWeightGradient.data
        parallelLanes(chunks, lanes: lanes) { lane, c in
            let dw = partial + c * weightCount
            let colLane = colBase + lane * CK * Lo, dcol = dcolBase + lane * CK * Lo
            for b in (c * chunk)..<min(B, (c + 1) * chunk) {
                let xb = xp + b * C * L
                let dyb = dyp + b * F * Lo
                prologue?(dyb, b)
                if weightGrad {
                    // dW (F, C·K) (+)= dy_b (F, Lo) · colᵀ (Lo, C·K), summed over the chunk's samples in order
                    self.im2col(xb, channels: C, length: L, outLength: Lo, into: colLane)
                    sgemm(transA: false, transB: true, m: F, n: CK, k: Lo,
                          alpha: 1, a: dyb, lda: Lo,
                          b: colLane, ldb: Lo,
                          beta: b == c * chunk ? 0 : 1, c: dw, ldc: CK)
                }
                guard inputGrad else { continue }
                // dcol (C·K, Lo) = Wᵀ (C·K, F) · dy_b (F, Lo)
                let dyRead = UnsafePointer(dyb)
                sgemmPrepacked(m: CK, n: Lo, k: F, alpha: 1, packedA: pwt,
                               packB: { p0, kc, j0, nc, dst in
                                   packGEMMB(transB: false, b: dyRead, ldb: Lo, p0: p0, kc: kc, j0: j0, nc: nc, into: dst)
                               },
                               beta: 0, c: dcol, ldc: Lo)
                let dxb = dxp + b * C * L
                dxb.update(repeating: 0, count: C * L)
                col2im(dcol, channels: C, length: L, outLength: Lo, into: dxb)
            }
        }
    }

    /// Packs depth p0..<p0+kc, columns j0..<j0+nc of the im2col matrix of one
    /// sample x with stride and dilation 1 (row c·K + k, column t: x[c, t + k −
    /// padLeft], 0 outside) as the sgemm's packed B: for each NR-column panel,
    /// (kc, NR), zero past nc. (Strided layers and several samples per GEMM pack
    /// from a split copy: `packPhaseColumns`.)
    @inline(__always)
    func packColumns(_ x: UnsafePointer<Float>, length L: Int, outLength Lo: Int,
                     p0: Int, kc: Int, j0: Int, nc: Int, into dst: UnsafeMutablePointer<Float>) {
        let nr = sgemmNR, K = kernel
        var panel = dst
        var jp = 0
        while jp < nc {
            let cols = min(nr, nc - jp), t0 = j0 + jp
            var c = p0 / K, k = p0 - c * K
            // A whole panel whose every tap is inside x (most panels of a long row):
            // row p is x[c, t0 + k − padLeft ..< +32].
            if cols == nr && nr == 32 && t0 >= padLeft && t0 + nr + K - 2 - padLeft < L {
                var src = x + c * L + t0 + k - padLeft
                var out = UnsafeMutableRawPointer(panel)
                for _ in 0..<kc {
                    let r = UnsafeRawPointer(src)
                    out.storeBytes(of: r.loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                    (out + 64).storeBytes(of: (r + 64).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                    out += 128
                    k += 1
                    if k == K {
                        k = 0
                        src += L - K + 1    // the next channel's row, tap 0
                    } else {
                        src += 1
                    }
                }
            } else {
                // Edge panels: taps in the padding are 0.
                for p in 0..<kc {
                    let out = panel + p * nr, row = x + c * L, first = t0 + k - padLeft
                    if first >= 0 && first + cols <= L {
                        out.update(from: row + first, count: cols)
                    } else {
                        for v in 0..<cols {
                            let i = first + v
                            out[v] = i >= 0 && i < L ? row[i] : 0
                        }
                    }
                    if cols < nr { (out + cols).update(repeating: 0, count: nr - cols) }
                    k += 1
                    if k == K { k = 0; c += 1 }
                }
            }
            panel += nr * kc
            jp += nr
        }
    }

    /// Length R of each phase row of a forward's split input: the
    /// positions t + ⌊k / s⌋ that output t < Lo and tap k < K read.
    func phaseLength(outLength Lo: Int) -> Int { Lo + (kernel - 1) / stride }

    /// ph[r·R + i] = x[i·s + r − padLeft] (0 outside x) for r < s, i < R: one input
    /// row split by phase, padding included, so that im2col row k (tap k) of
    /// outputs t ..< t + n is ph[(k mod s)·R + ⌊k / s⌋ + t ..< + n], contiguous.
    func splitByPhase(_ x: UnsafePointer<Float>, length L: Int, into ph: UnsafeMutablePointer<Float>,
                      phaseLength R: Int) {
        let s = stride
        for r in 0..<s {
            let row = ph + r * R
            // Inside x: i·s + r − padLeft ∈ [0, L).
            let lo = min(R, max(0, (padLeft - r + s - 1) / s))
            let hi = max(lo, min(R, (L + padLeft - r + s - 1) / s))
            row.update(repeating: 0, count: lo)
            var src = x + lo * s + r - padLeft
            if s == 1 {
                (row + lo).update(from: src, count: hi - lo)
            } else {
                for i in lo..<hi {
                    row[i] = src.pointee
                    src += s
                }
            }
            (row + hi).update(repeating: 0, count: R - hi)
        }
    }

    /// `packColumns` from the group's input split by
    /// phase (`splitByPhase`: sample q, channel c at split + (q·C + c)·s·R): the
    /// same panels as im2col + `sgemm` would pack.
    @inline(__always)
    func packPhaseColumns(_ split: UnsafePointer<Float>, phaseLength R: Int, outLength Lo: Int,
                          p0: Int, kc: Int, j0: Int, nc: Int, into dst: UnsafeMutablePointer<Float>) {
        let nr = sgemmNR, C = inChannels, K = kernel, s = stride
        var panel = dst
        var jp = 0
        while jp < nc {
            let cols = min(nr, nc - jp)
            let q0 = (j0 + jp) / Lo, t0 = (j0 + jp) - q0 * Lo
            var c = p0 / K, k = p0 - c * K
            let whole = cols == nr && nr == 32 && t0 + nr <= Lo
            for p in 0..<kc {
                let out = panel + p * nr
                // Tap k of channel c: phase k mod s, shifted by ⌊k / s⌋.
                let tap = (k % s) * R + k / s
                if whole {
                    let r = UnsafeRawPointer(split + (q0 * C + c) * s * R + tap + t0), o = UnsafeMutableRawPointer(out)
                    o.storeBytes(of: r.loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                    (o + 64).storeBytes(of: (r + 64).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                } else {
                    var u = 0, q = q0, t = t0
                    while u < cols {
                        // Columns u ..< u + len: sample q, outputs t ..< t + len.
                        let len = min(cols - u, Lo - t)
                        (out + u).update(from: split + (q * C + c) * s * R + tap + t, count: len)
                        u += len
                        q += 1
                        t = 0
                    }
                    if cols < nr { (out + cols).update(repeating: 0, count: nr - cols) }
                }
                k += 1
                if k == K { k = 0; c += 1 }
            }
            panel += nr * kc
            jp += nr
        }
    }
}
