import Foundation

/// AttnSleep's multi-headed attention: the query is used as given, keys and
/// values come from causal convolutions of the layer input (`convs.1`,
/// `convs.2`; `convs.0` is registered but, as in the reference, never used).
///
///     // q (B, T, D), x (B, T, D) -> out (B, T, D);  T tokens (channels), D = heads · dk
///     // scores (B, h, T, T) = q_h k_hᵀ / √dk;  p = softmax;  ctx_h = dropout(p) v_h;  out = linear(ctx)
public final class MultiHeadAttention {
    public let tokens, dModel, heads, dk: Int

    let keyConv: Conv1d
    let valueConv: Conv1d
    let linear: Linear
    let dropout: Dropout

    public let queryGradient = Tensor()
    public let inputGradient = Tensor()
    private let probs = Tensor()      // softmax, before dropout (B, h, T, T)
    private let context = Tensor()    // (B, T, D)
    private let dContext = Tensor()
    private let dProbs = Tensor()
    private let dKey = Tensor()
    private let dValue = Tensor()
    private var query: Tensor?
    private var usedProbs: Tensor?  // the weights after dropout (probs itself when inactive)

    public init(store: ParameterStore, name: String, tokens: Int, dModel: Int, heads: Int, kernel: Int, dropout p: Float) {
        precondition(dModel % heads == 0, "d_model must be a multiple of heads")
        self.tokens = tokens
        self.dModel = dModel
        self.heads = heads
        dk = dModel / heads
        _ = Conv1d(store: store, name: name + ".convs.0", inChannels: tokens, outChannels: tokens,
                   kernel: kernel, causal: true, receivesGradient: false)
        keyConv = Conv1d(store: store, name: name + ".convs.1", inChannels: tokens, outChannels: tokens,
                         kernel: kernel, causal: true)
        valueConv = Conv1d(store: store, name: name + ".convs.2", inChannels: tokens, outChannels: tokens,
                           kernel: kernel, causal: true)
        linear = Linear(store: store, name: name + ".linear", inFeatures: dModel, outFeatures: dModel)
        dropout = Dropout(probability: p)
    }

    /// q (B, T, D), x (B, T, D) -> out (B, T, D)
    @discardableResult
    public func forward(query q: Tensor, input x: Tensor, training: Bool, key: UInt64) -> Tensor {
        let B = q.shape[0], T = tokens, D = dModel, H = heads, dk = self.dk
        query = q
        let k = keyConv.forward(x), v = valueConv.forward(x)
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
        usedProbs = p
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
        return linear.forward(context)
    }

    /// dout (B, T, D) -> (dq (B, T, D), dx (B, T, D))
    public func backward(_ dy: Tensor) -> (query: Tensor, input: Tensor) {
        guard let q = query else { preconditionFailure("MultiHeadAttention.backward before forward") }
        let B = q.shape[0], T = tokens, D = dModel, H = heads, dk = self.dk
        let k = keyConv.output, v = valueConv.output
        let dctx = linear.backward(dy)
        guard let p = usedProbs else { preconditionFailure("MultiHeadAttention.backward before forward") }
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
        // Softmax backward in place into dProbs: ds = p ⊙ (dp − Σ p·dp), times the score scale.
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
        queryGradient.resize(Shape(B, T, D))
        dKey.resize(Shape(B, T, D))
        let kp = k.data, qp = q.data, dqp = queryGradient.data, dkp = dKey.data
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
        let dxK = keyConv.backward(dKey)
        let dxV = valueConv.backward(dValue)
        inputGradient.resize(dxK.shape)
        let a = dxK.data, c = dxV.data, o = inputGradient.data
        parallelChunks(inputGradient.count, chunk: 16384) { r in for i in r { o[i] = a[i] + c[i] } }
        return (queryGradient, inputGradient)
    }
}

/// Softmax of each row of a (rows, width) matrix, in place (max-subtracted).
func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
    parallelChunks(rows, chunk: 64) { range in
        for r in range {
            let row = x + r * width
            var m = -Float.infinity
            for j in 0..<width { m = max(m, row[j]) }
            var s: Float = 0
            for j in 0..<width { let e = fastExp(row[j] - m); row[j] = e; s += e }
            let inv = 1 / s
            for j in 0..<width { row[j] *= inv }
        }
    }
}
