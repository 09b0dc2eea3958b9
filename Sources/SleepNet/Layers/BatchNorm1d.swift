import Basics
import Elementwise
import ElementwiseAVX512
/// Activation applied right after a BatchNorm in the same pass.
public enum FusedActivation: Sendable {
    case identity, gelu, relu
}

/// Batch normalisation over (B, L) per channel, PyTorch's `nn.BatchNorm1d`,
/// optionally followed by an activation in the same pass (BN + GELU is one
/// layer in the CNN: one pass over memory, no intermediate tensor).
///
/// Training: normalises with the batch mean and biased variance, updates the
/// running mean and the running variance (with the unbiased batch variance)
/// by `momentum`, and counts `num_batches_tracked`. Evaluation: running stats.
///
/// The per-channel steps (`batchStatistics`, `normalize`, `backwardSums`,
/// `finishInputGradient`) are also what `ConvBatchNorm1d` runs, in another
/// order around its convolution.
///
///     // inp (B, C, L) -> out = act(BN(inp)) (B, C, L);  weight, bias (C); running_mean, running_var (C)
public final class BatchNorm1d {
    public let channels: Int
    public let eps: Float
    public let momentum: Float
    public let activation: FusedActivation

    let store: ParameterStore
    let weight: TensorView
    let bias: TensorView
    let runningMean: TensorView
    let runningVar: TensorView
    let batchesTracked: Int

    public let output = Tensor()
    public let inputGradient = Tensor()
    private var input: Tensor?
    private var trained = false
    /// Per channel, saved by forward for backward: mean and 1/√(var + eps).
    private let mean = Tensor(), invStd = Tensor()
    /// GELU'(z) saved by a training forward, so backward need not recompute erf and exp.
    private let activationDerivative = Tensor()

    /// Registers `name.weight` (N(1, 0.02) in AttnSleep), `name.bias` (0) and the buffers.
    public init(store: ParameterStore, name: String, channels: Int, eps: Float = 1e-5, momentum: Float = 0.1,
                weightInit: Initializer = .constant(1), activation: FusedActivation = .identity) {
        self.store = store
        self.channels = channels
        self.eps = eps
        self.momentum = momentum
        self.activation = activation
        weight = store.registerParameter(name + ".weight", shape: [channels], initializer: weightInit)
        bias = store.registerParameter(name + ".bias", shape: [channels], initializer: .constant(0))
        runningMean = store.registerBuffer(name + ".running_mean", shape: [channels], initialValue: 0)
        runningVar = store.registerBuffer(name + ".running_var", shape: [channels], initialValue: 1)
        batchesTracked = store.registerCounter(name + ".num_batches_tracked")
    }

    /// inp (B, C, L) -> out (B, C, L)
    @discardableResult
    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let B = x.shape[0], C = channels, L = x.count / (B * C)
        input = x
        trained = training
        output.resize(x.shape)
        mean.resize(Shape(C))
        invStd.resize(Shape(C))
        let keepDerivative = training && activation == .gelu
        if keepDerivative { activationDerivative.resize(x.shape) }
        let xp = x.data, yp = output.data, derp = keepDerivative ? activationDerivative.data : nil
        let meanP = mean.data, istdP = invStd.data
        parallelFor(C) { c in
            let mu: Float, istd: Float
            if training {
                // Rows summed in Float, rows added in Double, in sample order.
                var s = 0.0
                for b in 0..<B { s += Double(rowSum(xp + (b * C + c) * L, L)) }
                (mu, istd) = batchStatistics(channel: c, sum: s, x: xp, batch: B, length: L)
            } else {
                (mu, istd) = runningStatistics(channel: c)
            }
            meanP[c] = mu
            istdP[c] = istd
            normalize(channel: c, x: xp, into: yp, derivative: derp, batch: B, length: L, mean: mu, invStd: istd)
        }
        if training { store.counters[batchesTracked] += 1 }
        return output
    }

    /// dout (B, C, L) -> dinp (B, C, L); accumulates dweight, dbias (C).
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("BatchNorm1d.backward before forward") }
        let B = x.shape[0], C = channels, L = x.count / (B * C)
        inputGradient.resize(x.shape)
        let xp = x.data, yp = output.data, dyp = dy.data, dxp = inputGradient.data
        let derp = trained && activation == .gelu ? UnsafePointer(activationDerivative.data) : nil
        let meanP = mean.data, istdP = invStd.data, training = trained
        parallelFor(C) { c in
            let k = backwardSums(channel: c, x: xp, output: yp, outputGradient: dyp, into: dxp, derivative: derp,
                                 batch: B, length: L, mean: meanP[c], invStd: istdP[c], training: training)
            for b in 0..<B {
                let off = (b * C + c) * L
                Self.finishInputGradient(dxp + off, x: xp + off, length: L, k)
            }
        }
        return inputGradient
    }
}

/// The second backward pass of one channel: dx = scale·(dz − meanGradient − x̂·meanGradientDotNormalized),
/// x̂ = (x − mean)·invStd; in evaluation both means are 0 (dx = γ·istd·dz).
struct BatchNormInputGradient {
    var scale: Float                     // γ·istd
    var meanGradient: Float              // mean(dz) (training)
    var meanGradientDotNormalized: Float // mean(dz·x̂) (training)
    var mean: Float
    var invStd: Float
}

// The per-channel steps of forward and backward, over flat (B, C, L) buffers.
extension BatchNorm1d {
    /// Training statistics of channel c of x (B, C, L) whose values sum to `sum`
    /// (each row summed by `rowSum`, rows added in Double in sample order): the
    /// mean, and 1/√(biased variance + eps) from the centred sum of squares (a
    /// second pass). Updates the running mean and (unbiased) variance.
    @inline(__always)
    func batchStatistics(channel c: Int, sum s: Double, x: UnsafePointer<Float>, batch B: Int, length L: Int)
        -> (mean: Float, invStd: Float) {
        let C = channels, n = B * L, m = momentum
        let rm = store.buffer(runningMean), rv = store.buffer(runningVar)
        let meanD = s / Double(n)
        var ss = 0.0
        for b in 0..<B { ss += Double(rowSquaredDeviation(x + (b * C + c) * L, L, Float(meanD))) }
        let meanF = Float(meanD)
        let varBiased = ss / Double(n)
        let varUnbiased = n > 1 ? ss / Double(n - 1) : varBiased
        let istd = Float(1 / (varBiased + Double(eps)).squareRoot())
        rm[c] = (1 - m) * rm[c] + m * meanF
        rv[c] = (1 - m) * rv[c] + m * Float(varUnbiased)
        return (meanF, istd)
    }

    /// Evaluation statistics of channel c: the running mean and 1/√(running var + eps).
    @inline(__always)
    func runningStatistics(channel c: Int) -> (mean: Float, invStd: Float) {
        let rm = store.buffer(runningMean), rv = store.buffer(runningVar)
        return (rm[c], 1 / (rv[c] + eps).squareRoot())
    }

    /// y = act((x − mean)·invStd·γ + β) over channel c of every sample of x (B, C, L);
    /// with `derivative` (GELU only), also act'(z) there.
    @inline(__always)
    func normalize(channel c: Int, x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                   derivative: UnsafeMutablePointer<Float>?, batch B: Int, length L: Int, mean mu: Float, invStd istd: Float) {
        let C = channels
        let g = store.value(weight)[c], bt = store.value(bias)[c]
        for b in 0..<B {
            let row = x + (b * C + c) * L, out = y + (b * C + c) * L
            switch activation {
            case .identity:
                for t in 0..<L { out[t] = (row[t] - mu) * istd * g + bt }
            case .relu:
                for t in 0..<L { out[t] = max((row[t] - mu) * istd * g + bt, 0) }
            case .gelu:
                if let derivative {
                    let der = derivative + (b * C + c) * L
                    for t in 0..<L {
                        let (v, d) = geluAndDerivative((row[t] - mu) * istd * g + bt)
                        out[t] = v
                        der[t] = d
                    }
                } else {
                    for t in 0..<L { out[t] = geluValue((row[t] - mu) * istd * g + bt) }
                }
            }
        }
    }

    /// Evaluation BN + activation in place on one sample y (C, L), with the
    /// running statistics folded into a scale and a shift per channel.
    @inline(__always)
    func applyEvaluation(_ y: UnsafeMutablePointer<Float>, length L: Int) {
        for c in 0..<channels {
            let (scale, shift) = evaluationAffine(channel: c)
            Self.applyAffine(y + c * L, length: L, scale: scale, shift: shift, activation: activation)
        }
    }

    /// Channel c's evaluation BN as z = x·scale + shift (running statistics).
    @inline(__always)
    func evaluationAffine(channel c: Int) -> (scale: Float, shift: Float) {
        let gamma = store.value(weight), beta = store.value(bias)
        let rm = store.buffer(runningMean), rv = store.buffer(runningVar)
        let scale = gamma[c] / (rv[c] + eps).squareRoot()
        return (scale, beta[c] - rm[c] * scale)
    }

    /// Every channel's `evaluationAffine`, into scale (C) and shift (C).
    func evaluationAffine(scale: UnsafeMutablePointer<Float>, shift: UnsafeMutablePointer<Float>) {
        for c in 0..<channels { (scale[c], shift[c]) = evaluationAffine(channel: c) }
    }

    /// row[t] = act(row[t]·scale + shift) over one row of length L. GELU runs
    /// 16 wide on the AVX-512 backend (ElementwiseAVX512, the same bits).
    @inline(__always)
    static func applyAffine(_ row: UnsafeMutablePointer<Float>, length L: Int, scale: Float, shift: Float,
                            activation: FusedActivation) {
        switch activation {
        case .identity: for t in 0..<L { row[t] = row[t] * scale + shift }
        case .relu: for t in 0..<L { row[t] = max(row[t] * scale + shift, 0) }
        case .gelu:
            if GEMMBackend.current == .avx512 {
                affineGELUAVX512(row, length: L, scale: scale, shift: shift)
            } else {
                for t in 0..<L { row[t] = geluValue(row[t] * scale + shift) }
            }
        }
    }

    /// First backward pass over channel c of every sample: dz = dy·act'(z) into
    /// `dz` (which may be `dy` itself: each element is read before it is
    /// written), then Σdz into dβ[c] and Σdz·x̂ into dγ[c] (accumulated).
    /// `output` is the forward's output (ReLU), `derivative` GELU'(z) saved by
    /// a training forward (else it is recomputed). Returns the second pass.
    @inline(__always)
    func backwardSums(channel c: Int, x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
                      outputGradient dy: UnsafePointer<Float>, into dz: UnsafeMutablePointer<Float>,
                      derivative: UnsafePointer<Float>?, batch B: Int, length L: Int,
                      mean mu: Float, invStd istd: Float, training: Bool) -> BatchNormInputGradient {
        let C = channels
        let g = store.value(weight)[c], bt = store.value(bias)[c]
        var sdz = 0.0, sdzx = 0.0
        for b in 0..<B {
            let off = (b * C + c) * L
            let row = x + off, gr = dy + off, d = dz + off, yr = y + off
            switch activation {
            case .identity:
                for t in 0..<L { d[t] = gr[t] }
            case .relu:
                for t in 0..<L { d[t] = yr[t] > 0 ? gr[t] : 0 }
            case .gelu:
                if let derivative {
                    let der = derivative + off
                    for t in 0..<L { d[t] = gr[t] * der[t] }
                } else {
                    for t in 0..<L { d[t] = gr[t] * geluAndDerivative((row[t] - mu) * istd * g + bt).derivative }
                }
            }
            let (s1, s2) = rowSumAndDot(d, row, L, mu, istd)
            sdz += Double(s1)
            sdzx += Double(s2)
        }
        store.gradient(weight)[c] += Float(sdzx)
        store.gradient(bias)[c] += Float(sdz)
        let n = Float(B * L)
        return BatchNormInputGradient(scale: g * istd, meanGradient: training ? Float(sdz) / n : 0,
                                      meanGradientDotNormalized: training ? Float(sdzx) / n : 0,
                                      mean: mu, invStd: istd)
    }

    /// Second backward pass on one row (L) of one channel, in place: dz becomes dx.
    @inline(__always)
    static func finishInputGradient(_ dz: UnsafeMutablePointer<Float>, x row: UnsafePointer<Float>, length L: Int,
                                    _ p: BatchNormInputGradient) {
        let k = p.scale, a = p.meanGradient, bc = p.meanGradientDotNormalized, mu = p.mean, istd = p.invStd
        for t in 0..<L { dz[t] = k * (dz[t] - a - (row[t] - mu) * istd * bc) }
    }
}

/// Σ x[0..<n] in Float with sixteen running sums (a fixed order).
@inline(__always)
func rowSum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD16<Float>()
    var i = 0
    let raw = UnsafeRawPointer(x)
    while i + 16 <= n {
        acc += raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        i += 16
    }
    var s = acc.sum()
    while i < n { s += x[i]; i += 1 }
    return s
}

/// Σ (x − mean)² in Float with sixteen running sums (a fixed order).
@inline(__always)
func rowSquaredDeviation(_ x: UnsafePointer<Float>, _ n: Int, _ mean: Float) -> Float {
    var acc = SIMD16<Float>()
    let m = SIMD16<Float>(repeating: mean)
    var i = 0
    let raw = UnsafeRawPointer(x)
    while i + 16 <= n {
        let d = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self) - m
        acc += d * d
        i += 16
    }
    var s = acc.sum()
    while i < n { let d = x[i] - mean; s += d * d; i += 1 }
    return s
}

/// (Σ g, Σ g·(x − mean)·istd) in Float with sixteen running sums each (a fixed order).
@inline(__always)
func rowSumAndDot(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int, _ mean: Float, _ istd: Float)
    -> (Float, Float) {
    var a = SIMD16<Float>(), b = SIMD16<Float>()
    let m = SIMD16<Float>(repeating: mean), k = SIMD16<Float>(repeating: istd)
    var i = 0
    let rg = UnsafeRawPointer(g), rx = UnsafeRawPointer(x)
    while i + 16 <= n {
        let gv = rg.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        let xv = rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        a += gv
        b += gv * ((xv - m) * k)
        i += 16
    }
    var s1 = a.sum(), s2 = b.sum()
    while i < n { s1 += g[i]; s2 += g[i] * ((x[i] - mean) * istd); i += 1 }
    return (s1, s2)
}
