import Basics
/// A convolution and the BatchNorm (with its activation) after it, as one
/// block: each sample's convolution output gets the BatchNorm's per-sample
/// work while it is still in cache, instead of in a later pass over memory.
///
///     // inp (B, C, L) -> y = conv(inp) (B, F, Lo) -> out = act(BN(y)) (B, F, Lo)
///     // conv: weight (F, C/groups, K) [, bias (F)];  BN: weight, bias, running_mean, running_var (F)
///
/// Training forward: the convolution's per-sample pass also sums each row
/// y[b, f, :] (the BatchNorm's first statistics pass, by the same `rowSum`);
/// the BatchNorm's statistics then add those sums and normalise into `output`.
/// Evaluation forward: BN + activation with the running statistics (folded into
/// a scale and shift) in place on the convolution's output, row by row as the
/// convolution forms them (Winograd when the convolution has a `winogradTile`);
/// that result has no backward.
/// Backward: the BatchNorm's first pass (dz = dy·act'(z), Σdz, Σdz·x̂) over
/// channels, written over dy; its second pass (dz → dy) sample by sample inside
/// the convolution's backward, before that sample's GEMMs.
///
/// Same numbers as `conv` then `batchNorm` run apart in training (the same
/// per-channel steps in the same order); evaluation rounds a little differently
/// (the folded scale and shift).
public final class ConvBatchNorm1d {
    public let conv: Conv1d
    public let batchNorm: BatchNorm1d

    /// act(BN(y)) of the last training forward (B, F, Lo).
    public let output = Tensor()
    private let rowSums = Tensor()                // (B, F): Σ_t y[b, f, t]
    private let mean = Tensor(), invStd = Tensor() // (F): the statistics of the last forward
    private let activationDerivative = Tensor()   // (B, F, Lo): GELU'(z), training only
    private var inputGradients: [BatchNormInputGradient] = []  // (F): the BN's second backward pass
    private let evaluationScale = Tensor()        // (2, F): the running statistics folded into scale, shift
    private var trained = false

    /// Joins `conv` and the `batchNorm` over its output channels (both already
    /// registered under their own names, which stay the parameters' names).
    public init(conv: Conv1d, batchNorm: BatchNorm1d) {
        precondition(conv.outChannels == batchNorm.channels,
                     "ConvBatchNorm1d: the conv has \(conv.outChannels) output channels, the BatchNorm \(batchNorm.channels)")
        self.conv = conv
        self.batchNorm = batchNorm
    }

    /// inp (B, C, L) -> out (B, F, Lo). Training returns `output`; evaluation
    /// returns the convolution's output tensor, normalised in place.
    @discardableResult
    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let bn = batchNorm
        trained = training
        guard training else {
            let Lo = conv.outputLength(x.shape[2]), F = conv.outChannels
            evaluationScale.resize(Shape(2, F))
            let scale = evaluationScale.data, shift = evaluationScale.data + F
            bn.evaluationAffine(scale: scale, shift: shift)
            let activation = bn.activation
            return conv.forward(x, training: false, rowEpilogue: { row, f in
                BatchNorm1d.applyAffine(row, length: Lo, scale: scale[f], shift: shift[f], activation: activation)
            }, epilogue: nil)
        }
        let B = x.shape[0], F = conv.outChannels, Lo = conv.outputLength(x.shape[2])
        rowSums.resize(Shape(B, F))
        let sums = rowSums.data
        let y = conv.forward(x, training: true, epilogue: { yb, b in
            let out = sums + b * F
            for f in 0..<F { out[f] = rowSum(yb + f * Lo, Lo) }
        })
        output.resize(y.shape)
        mean.resize(Shape(F))
        invStd.resize(Shape(F))
        let keepDerivative = bn.activation == .gelu
        if keepDerivative { activationDerivative.resize(y.shape) }
        let yp = UnsafePointer(y.data), outp = output.data, derp = keepDerivative ? activationDerivative.data : nil
        let meanP = mean.data, istdP = invStd.data
        parallelFor(F) { f in
            var s = 0.0
            for b in 0..<B { s += Double(sums[b * F + f]) }
            let (mu, istd) = bn.batchStatistics(channel: f, sum: s, x: yp, batch: B, length: Lo)
            meanP[f] = mu
            istdP[f] = istd
            bn.normalize(channel: f, x: yp, into: outp, derivative: derp, batch: B, length: Lo, mean: mu, invStd: istd)
        }
        bn.store.counters[bn.batchesTracked] += 1
        return output
    }

    /// dout (B, F, Lo) -> dinp (B, C, L), the convolution's `inputGradient`
    /// (not formed when `conv.needsInputGradient` is false); accumulates the
    /// gradients of both layers' parameters. Overwrites dout (with the BN's input gradient).
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        precondition(trained, "ConvBatchNorm1d.backward needs a training forward before it")
        let bn = batchNorm
        let y = conv.output
        let B = y.shape[0], F = conv.outChannels, Lo = y.shape[2]
        let yp = UnsafePointer(y.data), outp = UnsafePointer(output.data), dyp = dy.data
        let derp = bn.activation == .gelu ? UnsafePointer(activationDerivative.data) : nil
        let meanP = mean.data, istdP = invStd.data
        if inputGradients.count < F {
            inputGradients = Array(repeating: BatchNormInputGradient(scale: 0, meanGradient: 0,
                                   meanGradientDotNormalized: 0, mean: 0, invStd: 1), count: F)
        }
        return inputGradients.withUnsafeMutableBufferPointer { buffer in
            let passTwo = buffer.baseAddress!
            parallelFor(F) { f in
                passTwo[f] = bn.backwardSums(channel: f, x: yp, output: outp, outputGradient: UnsafePointer(dyp), into: dyp,
                                             derivative: derp, batch: B, length: Lo, mean: meanP[f], invStd: istdP[f],
                                             training: true)
            }
            return conv.backward(dy, prologue: { dzb, b in
                let yb = yp + b * F * Lo
                for f in 0..<F {
                    BatchNorm1d.finishInputGradient(dzb + f * Lo, x: yb + f * Lo, length: Lo, passTwo[f])
                }
            })
        }
    }

    /// How far float rounding in the convolution can move output (b, f, t) of
    /// the last training forward, per ε and per term: |∂out/∂y| · Σ|w·x| there
    /// (`Conv1d.absoluteTermSum`), with ∂out/∂y = act'(z)·γ·istd.
    public func roundingScale(sample b: Int, channel f: Int, position t: Int) -> Float {
        precondition(trained, "ConvBatchNorm1d.roundingScale needs a training forward")
        let F = conv.outChannels, Lo = output.shape[2], i = (b * F + f) * Lo + t
        let activationSlope: Float
        switch batchNorm.activation {
        case .identity: activationSlope = 1
        case .relu: activationSlope = output.data[i] > 0 ? 1 : 0
        case .gelu: activationSlope = activationDerivative.data[i]
        }
        let slope = activationSlope * batchNorm.store.value(batchNorm.weight)[f] * invStd.data[f]
        return abs(slope) * conv.absoluteTermSum(sample: b, channel: f, position: t)
    }
}
