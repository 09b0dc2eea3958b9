import Basics

/// The Conformer's feed-forward module (used as a half step, ½·FFN):
/// LayerNorm → Linear d→e·d → Swish → dropout → Linear e·d→d → dropout.
///
///     // inp (B, T, D) -> out (B, T, D);  norm (D), w_1 (eD, D), w_2 (D, eD)
final class ConformerFeedForward {
    let norm: LayerNorm
    let w1: Linear
    let swish = Swish()
    let dropHidden: Dropout
    let w2: Linear
    let dropOut: Dropout

    init(store: ParameterStore, name: String, dModel: Int, expansion: Int, dropout p: Float) {
        norm = LayerNorm(store: store, name: name + ".norm", features: dModel)
        w1 = Linear(store: store, name: name + ".w_1", inFeatures: dModel, outFeatures: expansion * dModel)
        dropHidden = Dropout(probability: p)
        w2 = Linear(store: store, name: name + ".w_2", inFeatures: expansion * dModel, outFeatures: dModel)
        dropOut = Dropout(probability: p)
    }

    func forward(_ x: Tensor, training: Bool, rng: inout SeededGenerator) -> Tensor {
        var h = swish.forward(w1.forward(norm.forward(x), training: training))
        h = w2.forward(dropHidden.forward(h, training: training, key: training ? rng.next() : 0), training: training)
        return dropOut.forward(h, training: training, key: training ? rng.next() : 0)
    }

    func backward(_ dy: Tensor) -> Tensor {
        norm.backward(w1.backward(swish.backward(dropHidden.backward(w2.backward(dropOut.backward(dy))))))
    }
}

/// The Conformer's convolution module: LayerNorm → pointwise conv → GLU → depthwise
/// conv (odd kernel, same padding) → BatchNorm → Swish → pointwise conv → dropout.
///
/// `.time` (Ex2): the block's (B, T, D) is read as (B, channels T, length D), the D
/// time steps of each of AttnSleep's T recalibrated channels: the depthwise kernel
/// runs along time, as AttnSleep's causal convolutions do, and the pointwise
/// convolutions mix the channels at each step. Convolution weights N(0, 0.02) and
/// BatchNorm weights N(1, 0.02), as the reference initialises AttnSleep.
///
///     // inp (B, T, D) -> out (B, T, D)
///     // pointwise_conv1 (2T, T, 1), depthwise_conv (T, 1, K), batch_norm (T), pointwise_conv2 (T, T, 1)
///
/// `.tokens` (the first Ex2, kept so its configs and checkpoints run as before): the
/// features are the channels and the kernel runs along the T tokens, which are
/// channel indices, not time. PyTorch's default initialisation.
///
///     // inp (B, T, D) -> transpose (B, D, T) -> … -> transpose (B, T, D)
///     // pointwise_conv1 (2D, D, 1), depthwise_conv (D, 1, K), batch_norm (D), pointwise_conv2 (D, D, 1)
final class ConformerConvModule {
    let axis: ConformerConvolutionAxis
    let norm: LayerNorm
    let toChannels = Transpose()
    let pointwise1: Conv1d
    let glu = GLU()
    let depthwise: Conv1d
    let batchNorm: BatchNorm1d
    let swish = Swish()
    let pointwise2: Conv1d
    let toTokens = Transpose()
    let dropout: Dropout

    /// `tokens` T and `dModel` D of the block's input; the convolutions' channels are T
    /// (`.time`) or D (`.tokens`).
    init(store: ParameterStore, name: String, tokens T: Int, dModel D: Int, axis: ConformerConvolutionAxis,
         kernel: Int, dropout p: Float) {
        self.axis = axis
        let C = axis == .time ? T : D
        let convInit: Initializer? = axis == .time ? attnSleepConvInit : nil
        let batchNormInit: Initializer = axis == .time ? attnSleepBatchNormInit : .constant(1)
        norm = LayerNorm(store: store, name: name + ".norm", features: D)
        pointwise1 = Conv1d(store: store, name: name + ".pointwise_conv1", inChannels: C, outChannels: 2 * C, kernel: 1,
                            weightInit: convInit)
        depthwise = Conv1d(store: store, name: name + ".depthwise_conv", inChannels: C, outChannels: C,
                           kernel: kernel, padding: (kernel - 1) / 2, groups: C, weightInit: convInit)
        batchNorm = BatchNorm1d(store: store, name: name + ".batch_norm", channels: C, weightInit: batchNormInit)
        pointwise2 = Conv1d(store: store, name: name + ".pointwise_conv2", inChannels: C, outChannels: C, kernel: 1,
                            weightInit: convInit)
        dropout = Dropout(probability: p)
    }

    func forward(_ x: Tensor, training: Bool, rng: inout SeededGenerator) -> Tensor {
        var h = norm.forward(x)                                      // (B, T, D)
        if axis == .tokens { h = toChannels.forward(h) }             // (B, D, T)
        h = depthwise.forward(glu.forward(pointwise1.forward(h, training: training)))
        h = pointwise2.forward(swish.forward(batchNorm.forward(h, training: training)), training: training)
        if axis == .tokens { h = toTokens.forward(h) }
        return dropout.forward(h, training: training, key: training ? rng.next() : 0)
    }

    func backward(_ dy: Tensor) -> Tensor {
        var g = dropout.backward(dy)
        if axis == .tokens { g = toTokens.backward(g) }
        g = swish.backward(pointwise2.backward(g))
        g = pointwise1.backward(glu.backward(depthwise.backward(batchNorm.backward(g))))
        if axis == .tokens { g = toChannels.backward(g) }
        return norm.backward(g)
    }
}

/// One Conformer block, usable in place of an AttnSleep encoder layer.
///
///     // inp (B, T, D) -> out (B, T, D);  T tokens, D = dModel
///     // h1 = x + ½·ffn1(x);  h2 = h1 + dropout(mhsa(norm_mha(h1)));  h3 = h2 + conv(h2)
///     // h4 = h3 + ½·ffn2(h3);  out = norm_final(h4)
/// Parameters under `name`: ffn1.*, norm_mha, self_attn.linear_{q,k,v,out}, conv.*, ffn2.*, norm_final.
public final class ConformerBlock {
    public let dModel: Int

    let ffn1: ConformerFeedForward
    let normAttention: LayerNorm
    let attention: SelfAttention
    let dropAttention: Dropout
    let conv: ConformerConvModule
    let ffn2: ConformerFeedForward
    let normFinal: LayerNorm

    private let h1 = Tensor(), h2 = Tensor(), h3 = Tensor(), h4 = Tensor()
    private let dh = Tensor(), dScaled = Tensor()

    /// Registers the block's parameters under `name` for inputs of `tokens` × `dModel`
    /// (PyTorch's default initialisation, LayerNorm weights 1 and biases 0; the
    /// convolution module as `ConformerConvModule` says for its `convolutionAxis`).
    public init(store: ParameterStore, name: String, tokens: Int, dModel: Int, heads: Int,
                convolutionAxis: ConformerConvolutionAxis, kernel: Int, expansion: Int, dropout p: Float) {
        self.dModel = dModel
        ffn1 = ConformerFeedForward(store: store, name: name + ".ffn1", dModel: dModel, expansion: expansion, dropout: p)
        normAttention = LayerNorm(store: store, name: name + ".norm_mha", features: dModel)
        attention = SelfAttention(store: store, name: name + ".self_attn", dModel: dModel, heads: heads, dropout: p)
        dropAttention = Dropout(probability: p)
        conv = ConformerConvModule(store: store, name: name + ".conv", tokens: tokens, dModel: dModel,
                                   axis: convolutionAxis, kernel: kernel, dropout: p)
        ffn2 = ConformerFeedForward(store: store, name: name + ".ffn2", dModel: dModel, expansion: expansion, dropout: p)
        normFinal = LayerNorm(store: store, name: name + ".norm_final", features: dModel)
    }

    /// inp (B, T, D) -> out (B, T, D). Training draws the dropout keys from `rng`
    /// and normalises the convolution module's BatchNorm with batch statistics.
    @discardableResult
    public func forward(_ x: Tensor, training: Bool, rng: inout SeededGenerator) -> Tensor {
        addScaled(x, ffn1.forward(x, training: training, rng: &rng), 0.5, into: h1)
        let a = attention.forward(normAttention.forward(h1), training: training, key: training ? rng.next() : 0)
        addScaled(h1, dropAttention.forward(a, training: training, key: training ? rng.next() : 0), 1, into: h2)
        addScaled(h2, conv.forward(h2, training: training, rng: &rng), 1, into: h3)
        addScaled(h3, ffn2.forward(h3, training: training, rng: &rng), 0.5, into: h4)
        return normFinal.forward(h4)
    }

    /// dout (B, T, D) -> dinp (B, T, D); accumulates every parameter gradient.
    /// Each residual step h' = h + s·f(h) gives dh = dh' + f'(h)ᵀ(s·dh').
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        let d4 = normFinal.backward(dy)
        scaleTensor(d4, 0.5, into: dScaled)
        addScaled(d4, ffn2.backward(dScaled), 1, into: dh)          // dh3
        let dConv = conv.backward(dh)
        addScaled(dh, dConv, 1, into: dScaled)                       // dh2
        let dAttn = normAttention.backward(attention.backward(dropAttention.backward(dScaled)))
        addScaled(dScaled, dAttn, 1, into: dh)                        // dh1
        scaleTensor(dh, 0.5, into: dScaled)
        let dFFN1 = ffn1.backward(dScaled)
        addScaled(dh, dFFN1, 1, into: dScaled)                        // dx
        return dScaled
    }
}

/// A stack of Conformer blocks (`tce.layers.i`), the temporal context encoder of Ex2.
///
///     // inp (B, T, D) -> out (B, T, D)
final class ConformerEncoder {
    let layers: [ConformerBlock]
    /// Profiler scope names: one per block (not broken down further).
    let names: [String]

    init(store: ParameterStore, config c: ModelConfig) {
        names = (0..<c.encoderLayers).map { "tce.layers.\($0)" }
        layers = (0..<c.encoderLayers).map {
            ConformerBlock(store: store, name: "tce.layers.\($0)", tokens: c.afrChannels, dModel: c.dModel,
                           heads: c.heads, convolutionAxis: c.conformerConvolution, kernel: c.conformerKernel,
                           expansion: c.conformerExpansion, dropout: c.encoderDropout)
        }
    }

    func forward(_ x: Tensor, training: Bool, rng: inout SeededGenerator) -> Tensor {
        var h = x
        for (layer, name) in zip(layers, names) {
            h = Profiler.measure(name) { layer.forward(h, training: training, rng: &rng) }
        }
        return h
    }

    func backward(_ dy: Tensor) -> Tensor {
        var g = dy
        for (layer, name) in zip(layers, names).reversed() { g = Profiler.measure(name) { layer.backward(g) } }
        return g
    }
}

/// out = a + s·b, elementwise (a residual step; `out` may be `a` but not `b`).
func addScaled(_ a: Tensor, _ b: Tensor, _ s: Float, into out: Tensor) {
    out.resize(a.shape)
    let ap = a.data, bp = b.data, op = out.data
    parallelChunks(a.count, chunk: 16384) { r in for i in r { op[i] = ap[i] + s * bp[i] } }
}

/// out = s·a, elementwise.
func scaleTensor(_ a: Tensor, _ s: Float, into out: Tensor) {
    out.resize(a.shape)
    let ap = a.data, op = out.data
    parallelChunks(a.count, chunk: 16384) { r in for i in r { op[i] = s * ap[i] } }
}
