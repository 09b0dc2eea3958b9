import Basics

/// One AttnSleep encoder layer (`tce.layers.i`).
///
///     // inp (B, T, D) -> out (B, T, D);  T = afrChannels tokens, D = dModel
///     // q = conv(x);  h = q + dropout(attn(q, x, x));  out = h + dropout(ffn(norm(h)))
/// `sublayer_output.0.norm` is registered but unused (the reference's closure
/// ignores it), so it receives no gradient.
final class EncoderLayer {
    let conv: Conv1d
    let attention: MultiHeadAttention
    let drop0: Dropout
    let norm1: AttnLayerNorm
    let w1: Linear, relu = ReLU(), dropFF: Dropout, w2: Linear
    let drop1: Dropout
    let output = Tensor()
    private let hidden = Tensor()       // h
    private let dHidden = Tensor()
    let inputGradient = Tensor()

    init(store: ParameterStore, name: String, config c: ModelConfig) {
        let T = c.afrChannels, D = c.dModel, p = c.encoderDropout
        attention = MultiHeadAttention(store: store, name: name + ".self_attn", tokens: T, dModel: D,
                                       heads: c.heads, kernel: c.causalKernel, dropout: p)
        w1 = Linear(store: store, name: name + ".feed_forward.w_1", inFeatures: D, outFeatures: c.dFF)
        w2 = Linear(store: store, name: name + ".feed_forward.w_2", inFeatures: c.dFF, outFeatures: D)
        dropFF = Dropout(probability: p)
        _ = AttnLayerNorm(store: store, name: name + ".sublayer_output.0.norm", features: D, receivesGradient: false)
        drop0 = Dropout(probability: p)
        norm1 = AttnLayerNorm(store: store, name: name + ".sublayer_output.1.norm", features: D)
        drop1 = Dropout(probability: p)
        conv = Conv1d(store: store, name: name + ".conv", inChannels: T, outChannels: T, kernel: c.causalKernel,
                      causal: true)
    }

    func forward(_ x: Tensor, training: Bool, rng: inout SeededGenerator) -> Tensor {
        let q = conv.forward(x)
        let a = attention.forward(query: q, input: x, training: training, key: training ? rng.next() : 0)
        addTensors(q, drop0.forward(a, training: training, key: training ? rng.next() : 0), into: hidden)
        var f = relu.forward(w1.forward(norm1.forward(hidden)))
        f = w2.forward(dropFF.forward(f, training: training, key: training ? rng.next() : 0))
        addTensors(hidden, drop1.forward(f, training: training, key: training ? rng.next() : 0), into: output)
        return output
    }

    func backward(_ dy: Tensor) -> Tensor {
        let dn = norm1.backward(w1.backward(relu.backward(dropFF.backward(w2.backward(drop1.backward(dy))))))
        addTensors(dy, dn, into: dHidden)
        let (dq, dxAttn) = attention.backward(drop0.backward(dHidden))
        // dq gets the residual path too: q feeds both the attention and h.
        let dqp = dq.data, dhp = dHidden.data
        for i in 0..<dq.count { dqp[i] += dhp[i] }
        let dxConv = conv.backward(dq)
        addTensors(dxConv, dxAttn, into: inputGradient)
        return inputGradient
    }
}

/// AttnSleep's temporal context encoder (`tce`): encoder layers and a final norm.
///
///     // inp (B, T, D) -> out (B, T, D)
final class TransformerEncoder {
    let layers: [EncoderLayer]
    let norm: AttnLayerNorm

    init(store: ParameterStore, config c: ModelConfig) {
        layers = (0..<c.encoderLayers).map { EncoderLayer(store: store, name: "tce.layers.\($0)", config: c) }
        norm = AttnLayerNorm(store: store, name: "tce.norm", features: c.dModel)
    }

    func forward(_ x: Tensor, training: Bool, rng: inout SeededGenerator) -> Tensor {
        var h = x
        for layer in layers { h = layer.forward(h, training: training, rng: &rng) }
        return norm.forward(h)
    }

    func backward(_ dy: Tensor) -> Tensor {
        var g = norm.backward(dy)
        for layer in layers.reversed() { g = layer.backward(g) }
        return g
    }
}
