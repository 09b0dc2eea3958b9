/// Standard multi-head self-attention (the Conformer's MHSA): q, k, v are
/// linear projections of the same input, heads are slices of the features.
///
///     // inp (B, T, D) -> out (B, T, D);  D = heads · dk
///     // q, k, v = x W_qᵀ + b_q, …;  p_h = softmax(q_h k_hᵀ / √dk);  ctx_h = dropout(p_h) v_h;  out = linear_out(ctx)
///     // linear_q, linear_k, linear_v, linear_out: weight (D, D), bias (D)
public final class SelfAttention {
    public let dModel, heads, dk: Int

    let linearQ: Linear
    let linearK: Linear
    let linearV: Linear
    let linearOut: Linear
    let dropout: Dropout

    public let inputGradient = Tensor()
    private let probs = Tensor()      // softmax before dropout (B, h, T, T)
    private let context = Tensor()    // (B, T, D)
    private let dProbs = Tensor()     // (B, h, T, T), then the score gradient in place
    private let dQuery = Tensor()
    private let dKey = Tensor()
    private let dValue = Tensor()
    private var usedProbs: Tensor?    // weights after dropout (probs itself when inactive)
    private var batch = 0, tokens = 0

    /// Registers `name.linear_q`, `.linear_k`, `.linear_v`, `.linear_out` (PyTorch's default init).
    public init(store: ParameterStore, name: String, dModel: Int, heads: Int, dropout p: Float) {
        precondition(heads > 0 && dModel % heads == 0, "d_model must be a multiple of heads")
        self.dModel = dModel
        self.heads = heads
        dk = dModel / heads
        linearQ = Linear(store: store, name: name + ".linear_q", inFeatures: dModel, outFeatures: dModel)
        linearK = Linear(store: store, name: name + ".linear_k", inFeatures: dModel, outFeatures: dModel)
        linearV = Linear(store: store, name: name + ".linear_v", inFeatures: dModel, outFeatures: dModel)
        linearOut = Linear(store: store, name: name + ".linear_out", inFeatures: dModel, outFeatures: dModel)
        dropout = Dropout(probability: p)
    }

    /// inp (B, T, D) -> out (B, T, D); `key` seeds the attention-weight dropout mask.
    @discardableResult
    public func forward(_ x: Tensor, training: Bool, key: UInt64) -> Tensor {
        let B = x.shape[0], T = x.shape[1], D = dModel, H = heads, dk = self.dk
        batch = B
        tokens = T
        let q = linearQ.forward(x), k = linearK.forward(x), v = linearV.forward(x)
        probs.resize(Shape(B, H, T, T))
        context.resize(Shape(B, T, D))
        let scale = 1 / Float(dk).squareRoot()
        let qp = q.data, kp = k.data, pp = probs.data
        parallelFor(B) { b in
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
        usedProbs = p
        let pd = p.data, vp = v.data, cp = context.data
        parallelFor(B) { b in
            for h in 0..<H {
                // ctx_h (T, dk) = p (T, T) · v_h (T, dk)
                sgemm(transA: false, transB: false, m: T, n: dk, k: T,
                      alpha: 1, a: pd + (b * H + h) * T * T, lda: T,
                      b: vp + b * T * D + h * dk, ldb: D,
                      beta: 0, c: cp + b * T * D + h * dk, ldc: D)
            }
        }
        return linearOut.forward(context)
    }

    /// dout (B, T, D) -> dinp (B, T, D); accumulates the four projections' gradients.
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        guard let p = usedProbs else { preconditionFailure("SelfAttention.backward before forward") }
        let B = batch, T = tokens, D = dModel, H = heads, dk = self.dk
        let q = linearQ.output, k = linearK.output, v = linearV.output
        let dctx = linearOut.backward(dy)
        dProbs.resize(Shape(B, H, T, T))
        dValue.resize(Shape(B, T, D))
        let dcp = dctx.data, vp = v.data, dpp0 = dProbs.data, pd = p.data, dvp = dValue.data
        parallelFor(B) { b in
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
        parallelFor(B) { b in
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
        let dxQ = linearQ.backward(dQuery), dxK = linearK.backward(dKey), dxV = linearV.backward(dValue)
        inputGradient.resize(dxQ.shape)
        let a = dxQ.data, c = dxK.data, e = dxV.data, o = inputGradient.data
        parallelChunks(inputGradient.count, chunk: 16384) { r in for i in r { o[i] = a[i] + c[i] + e[i] } }
        return inputGradient
    }
}
