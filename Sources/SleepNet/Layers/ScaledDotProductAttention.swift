/// The attention core that AttnSleep's attention and the Conformer's MHSA share:
/// heads are slices of the features, scaled dot products, softmax, dropout on
/// the weights, weighted sum of the values.
///
///     // q, k, v (B, T, D) -> ctx (B, T, D);  D = heads · dk
///     // per head h: p_h = softmax(q_h k_hᵀ / √dk) (T, T);  ctx_h = dropout(p_h) v_h
///
/// Work is split over samples, so results do not depend on the thread count.
final class ScaledDotProductAttention {
    let heads, dk: Int
    let dropout: Dropout

    let context = Tensor()            // (B, T, D)
    let dQuery = Tensor()             // (B, T, D)
    let dKey = Tensor()
    let dValue = Tensor()
    private let probs = Tensor()      // softmax before dropout (B, h, T, T)
    private let dProbs = Tensor()     // (B, h, T, T), then the score gradient in place
    private var saved: (q: Tensor, k: Tensor, v: Tensor, p: Tensor)?  // p: weights after dropout
    /// Evaluation scratch per lane: kᵀ (dk, Tp), v (T, dkp), the weights (Tr, Tp),
    /// their factors (Tr), one context row (dkp); Tp and dkp are T and dk rounded
    /// up to 16, Tr is T rounded up to 8.
    private let evaluationScratch = Tensor()

    init(heads: Int, dk: Int, dropout p: Float) {
        self.heads = heads
        self.dk = dk
        dropout = Dropout(probability: p)
    }

    /// q, k, v (B, T, D) -> ctx (B, T, D); keeps q, k, v and the weights for `backward`.
    func forward(q: Tensor, k: Tensor, v: Tensor, training: Bool, key: UInt64) -> Tensor {
        guard training else { return forwardEvaluation(q: q, k: k, v: v) }
        let B = q.shape[0], T = q.shape[1], H = heads, dk = self.dk, D = H * dk
        probs.resize(Shape(B, H, T, T))
        context.resize(Shape(B, T, D))
        let scale = 1 / Float(dk).squareRoot()
        let qp = q.data, kp = k.data, pp = probs.data
        parallelLanes(B, lanes: laneCount(B)) { _, b in
            for h in 0..<H {
                // scores (T, T) = q_h (T, dk) · k_hᵀ (dk, T) / √dk
                sgemm(transA: false, transB: true, m: T, n: T, k: dk,
                      alpha: scale, a: qp + b * T * D + h * dk, lda: D,
                      b: kp + b * T * D + h * dk, ldb: D,
                      beta: 0, c: pp + (b * H + h) * T * T, ldc: T)
            }
        }
        softmaxRows(probs.data, rows: B * H * T, width: T)
        let p = dropout.forward(probs, training: training, key: key)
        saved = (q, k, v, p)
        let pd = p.data, vp = v.data, cp = context.data
        parallelLanes(B, lanes: laneCount(B)) { _, b in
            for h in 0..<H {
                // ctx_h (T, dk) = p (T, T) · v_h (T, dk)
                sgemm(transA: false, transB: false, m: T, n: dk, k: T,
                      alpha: 1, a: pd + (b * H + h) * T * T, lda: T,
                      b: vp + b * T * D + h * dk, ldb: D,
                      beta: 0, c: cp + b * T * D + h * dk, ldc: D)
            }
        }
        return context
    }

    /// Evaluation: q, k, v (B, T, D) -> ctx (B, T, D), no dropout, nothing kept for
    /// backward. The matrices per head are small (AttnSleep: 30 × 16), where an
    /// sgemm call spends more on packing than on products, so each head runs here
    /// 16 lanes wide on copies laid out for it:
    ///
    ///     // kᵀ (dk, Tp), v (T, dkp) per head; per query row i:
    ///     // s (Tp) = Σ_d q[i, d]·kᵀ[d, :] / √dk;  p = softmax(s[..<T]);  ctx[i, :] = Σ_j p[j]·v[j, :]
    ///
    /// Each sample on one lane in a fixed order, so results do not depend on the
    /// thread count; they round differently from the training path (sums in another order).
    private func forwardEvaluation(q: Tensor, k: Tensor, v: Tensor) -> Tensor {
        let B = q.shape[0], T = q.shape[1], H = heads, dk = self.dk, D = H * dk
        let Tp = (T + 15) / 16 * 16, dkp = (dk + 15) / 16 * 16
        let Tr = (T + 7) / 8 * 8   // weight rows: whole groups of 8 for the softmax
        let perLane = dk * Tp + T * dkp + Tr * Tp + Tr + dkp
        let lanes = laneCount(B)
        context.resize(Shape(B, T, D))
        evaluationScratch.resize(Shape(lanes, perLane))
        saved = nil
        let scale = 1 / Float(dk).squareRoot()
        let qp = UnsafePointer(q.data), kp = UnsafePointer(k.data), vp = UnsafePointer(v.data)
        let cp = context.data, scratch = evaluationScratch.data
        parallelLanes(B, lanes: lanes) { lane, b in
            let kt = scratch + lane * perLane, vh = kt + dk * Tp, weights = vh + T * dkp
            let factors = weights + Tr * Tp, row = factors + Tr
            kt.update(repeating: 0, count: dk * Tp + T * dkp)   // pads stay 0
            // Rows T ..< Tr of the weights: finite values for the softmax's last group
            // of 8 (its results there are not used).
            (weights + T * Tp).update(repeating: 0, count: (Tr - T) * Tp)
            for h in 0..<H {
                let off = b * T * D + h * dk
                for j in 0..<T {
                    for d in 0..<dk { kt[d * Tp + j] = kp[off + j * D + d] }
                    (vh + j * dkp).update(from: vp + off + j * D, count: dk)
                }
                for i in 0..<T {
                    let qi = qp + off + i * D, w = weights + i * Tp
                    // scores, 16 keys at a time
                    var j = 0
                    while j < Tp {
                        var acc = SIMD16<Float>()
                        for d in 0..<dk {
                            acc.addProduct(SIMD16(repeating: qi[d]),
                                           UnsafeRawPointer(kt + d * Tp + j).loadUnaligned(as: SIMD16<Float>.self))
                        }
                        UnsafeMutableRawPointer(w + j).storeBytes(of: acc * scale, as: SIMD16<Float>.self)
                        j += 16
                    }
                }
                // softmax over the T real keys, as `softmaxRows` (8 rows side by side,
                // the same bits), its 1/Σ applied to ctx. The last group of 8 takes
                // the padding rows, and the exponentials run over all Tp columns (the
                // padding keys' scores are 0): no scalar tails.
                var r = 0
                while r < T {
                    let inv = exponentiateRows8(weights + r * Tp, width: T, rowStride: Tp, paddedWidth: Tp)
                    for k in 0..<min(8, T - r) { factors[r + k] = inv[k] }
                    r += 8
                }
                for i in 0..<T {
                    let w = weights + i * Tp, inv = factors[i]
                    // ctx row, 16 features at a time (two chains: even and odd keys),
                    // then its dk real ones
                    var d = 0
                    while d < dkp {
                        var even = SIMD16<Float>(), odd = SIMD16<Float>()
                        var j = 0
                        while j + 1 < T {
                            even.addProduct(SIMD16(repeating: w[j]),
                                            UnsafeRawPointer(vh + j * dkp + d).loadUnaligned(as: SIMD16<Float>.self))
                            odd.addProduct(SIMD16(repeating: w[j + 1]),
                                           UnsafeRawPointer(vh + (j + 1) * dkp + d).loadUnaligned(as: SIMD16<Float>.self))
                            j += 2
                        }
                        if j < T {
                            even.addProduct(SIMD16(repeating: w[j]),
                                            UnsafeRawPointer(vh + j * dkp + d).loadUnaligned(as: SIMD16<Float>.self))
                        }
                        UnsafeMutableRawPointer(row + d).storeBytes(of: (even + odd) * inv, as: SIMD16<Float>.self)
                        d += 16
                    }
                    let ci = cp + off + i * D
                    for d in 0..<dk { ci[d] = row[d] }
                }
            }
        }
        return context
    }

    /// dctx (B, T, D) -> (dq, dk, dv), each (B, T, D), valid until the next call.
    func backward(_ dctx: Tensor) -> (query: Tensor, key: Tensor, value: Tensor) {
        guard let (q, k, v, p) = saved else { preconditionFailure("attention backward before forward") }
        let B = q.shape[0], T = q.shape[1], H = heads, dk = self.dk, D = H * dk
        dProbs.resize(Shape(B, H, T, T))
        dValue.resize(Shape(B, T, D))
        let dcp = dctx.data, vp = v.data, dpp0 = dProbs.data, pd = p.data, dvp = dValue.data
        parallelLanes(B, lanes: laneCount(B)) { _, b in
            for h in 0..<H {
                let off = b * T * D + h * dk, poff = (b * H + h) * T * T
                // dp (T, T) = dctx_h (T, dk) · v_hᵀ (dk, T)
                sgemm(transA: false, transB: true, m: T, n: T, k: dk,
                      alpha: 1, a: dcp + off, lda: D,
                      b: vp + off, ldb: D,
                      beta: 0, c: dpp0 + poff, ldc: T)
                // dv_h (T, dk) = pᵀ (T, T) · dctx_h (T, dk)
                sgemm(transA: true, transB: false, m: T, n: dk, k: T,
                      alpha: 1, a: pd + poff, lda: T,
                      b: dcp + off, ldb: D,
                      beta: 0, c: dvp + off, ldc: D)
            }
        }
        let dp = dropout.backward(dProbs)
        // Softmax backward into dProbs: ds = p ⊙ (dp − Σ p·dp), times the score scale.
        let scale = 1 / Float(dk).squareRoot()
        let pp = probs.data, dpp = dp.data, dsp = dProbs.data
        parallelChunks(B * H * T, chunk: 64) { range in
            for r in range {
                let pr = pp + r * T, gr = dpp + r * T, out = dsp + r * T
                var dot: Float = 0
                for j in 0..<T { dot += pr[j] * gr[j] }
                for j in 0..<T { out[j] = pr[j] * (gr[j] - dot) * scale }
            }
        }
        dQuery.resize(Shape(B, T, D))
        dKey.resize(Shape(B, T, D))
        let kp = k.data, qp = q.data, dqp = dQuery.data, dkp = dKey.data
        parallelLanes(B, lanes: laneCount(B)) { _, b in
            for h in 0..<H {
                let off = b * T * D + h * dk, poff = (b * H + h) * T * T
                // dq_h (T, dk) = ds (T, T) · k_h (T, dk)
                sgemm(transA: false, transB: false, m: T, n: dk, k: T,
                      alpha: 1, a: dsp + poff, lda: T,
                      b: kp + off, ldb: D,
                      beta: 0, c: dqp + off, ldc: D)
                // dk_h (T, dk) = dsᵀ (T, T) · q_h (T, dk)
                sgemm(transA: true, transB: false, m: T, n: dk, k: T,
                      alpha: 1, a: dsp + poff, lda: T,
                      b: qp + off, ldb: D,
                      beta: 0, c: dkp + off, ldc: D)
            }
        }
        return (dQuery, dKey, dValue)
    }
}
