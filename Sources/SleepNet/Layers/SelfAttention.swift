import Basics
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
    let core: ScaledDotProductAttention

    public let inputGradient = Tensor()

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
        core = ScaledDotProductAttention(heads: heads, dk: dk, dropout: p)
    }

    /// inp (B, T, D) -> out (B, T, D); `key` seeds the attention-weight dropout mask.
    @discardableResult
    public func forward(_ x: Tensor, training: Bool, key: UInt64) -> Tensor {
        let q = linearQ.forward(x, training: training), k = linearK.forward(x, training: training)
        let v = linearV.forward(x, training: training)
        return linearOut.forward(core.forward(q: q, k: k, v: v, training: training, key: key), training: training)
    }

    /// dout (B, T, D) -> dinp (B, T, D); accumulates the four projections' gradients.
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        let d = core.backward(linearOut.backward(dy))
        let dxQ = linearQ.backward(d.query), dxK = linearK.backward(d.key), dxV = linearV.backward(d.value)
        inputGradient.resize(dxQ.shape)
        let a = dxQ.data, c = dxK.data, e = dxV.data, o = inputGradient.data
        parallelChunks(inputGradient.count, chunk: 16384) { r in for i in r { o[i] = a[i] + c[i] + e[i] } }
        return inputGradient
    }
}
