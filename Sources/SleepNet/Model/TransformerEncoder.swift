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
    /// Profiler scope names: the layer (its residual sums and dropouts are its
    /// self time), then its modules (PyTorch's names).
    let names: (layer: String, conv: String, attention: String, norm1: String, w1: String, w2: String)

    init(store: ParameterStore, name: String, config c: ModelConfig) {
        names = (name, name + ".conv", name + ".self_attn", name + ".sublayer_output.1.norm",
                 name + ".feed_forward.w_1", name + ".feed_forward.w_2")
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
        conv.winogradTile = MultiHeadAttention.causalConvolutionTile
    }

    func forward(_ x: Tensor, training: Bool, rng: inout SeededGenerator) -> Tensor {
        Profiler.measure(names.layer) {
            let q = Profiler.measure(names.conv) { conv.forward(x, training: training) }
            let a = Profiler.measure(names.attention) {
                attention.forward(query: q, input: x, training: training, key: training ? rng.next() : 0)
            }
            addTensors(q, drop0.forward(a, training: training, key: training ? rng.next() : 0), into: hidden)
            var f = Profiler.measure(names.norm1) { norm1.forward(hidden) }
            f = Profiler.measure(names.w1) { relu.forward(w1.forward(f, training: training)) }   // w_1 with its ReLU
            f = dropFF.forward(f, training: training, key: training ? rng.next() : 0)
            f = Profiler.measure(names.w2) { w2.forward(f, training: training) }
            addTensors(hidden, drop1.forward(f, training: training, key: training ? rng.next() : 0), into: output)
            return output
        }
    }

    func backward(_ dy: Tensor) -> Tensor {
        Profiler.measure(names.layer) {
            var g = drop1.backward(dy)
            g = Profiler.measure(names.w2) { w2.backward(g) }
            g = dropFF.backward(g)
            g = Profiler.measure(names.w1) { w1.backward(relu.backward(g)) }
            let dn = Profiler.measure(names.norm1) { norm1.backward(g) }
            addTensors(dy, dn, into: dHidden)
            let dAttn = drop0.backward(dHidden)
            let (dq, dxAttn) = Profiler.measure(names.attention) { attention.backward(dAttn) }
            // dq gets the residual path too: q feeds both the attention and h.
            let dqp = dq.data, dhp = dHidden.data
            for i in 0..<dq.count { dqp[i] += dhp[i] }
            let dxConv = Profiler.measure(names.conv) { conv.backward(dq) }
            addTensors(dxConv, dxAttn, into: inputGradient)
            return inputGradient
        }
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
        return Profiler.measure("tce.norm") { norm.forward(h) }
    }

    func backward(_ dy: Tensor) -> Tensor {
        var g = Profiler.measure("tce.norm") { norm.backward(dy) }
        for layer in layers.reversed() { g = layer.backward(g) }
        return g
    }
}
