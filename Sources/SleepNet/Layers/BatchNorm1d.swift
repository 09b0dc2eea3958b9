import Basics
import Recordings
import Evaluation
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
    /// When true, `backward` writes the input gradient over the output
    /// gradient it was given and returns that tensor (saves a buffer; only for
    /// an owner that reads the output gradient nowhere else).
    public var backwardInPlace = false
    /// When true, `backward` leaves dy·act'(z) in the returned tensor and the
    /// convolution before it finishes each sample's input gradient in its own
    /// pass (`finishInputGradient`), while the sample is in cache.
    var deferInputGradient = false
    private var passTwo: [Float] = []   // per channel: γ·istd, mean(dz), mean(dz·x̂)
    private var input: Tensor?
    /// GELU'(z) saved by a training forward, so backward need not recompute erf and exp.
    private let activationDerivative = Tensor()
    private var trained = false
    /// Per (sample, channel) row sums from the convolution's epilogue.
    private let sampleStatistics = Tensor()
    private var sampleStatisticsReady = false
    private var sampleLength = 0
    private var mean: [Float]
    private var invStd: [Float]

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
        mean = Array(repeating: 0, count: channels)
        invStd = Array(repeating: 1, count: channels)
    }

    /// inp (B, C, L) -> out (B, C, L)
    @discardableResult
    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let B = x.shape[0], C = channels, L = x.count / (B * C)
        input = x
        trained = training
        output.resize(x.shape)
        let gamma = store.value(weight), beta = store.value(bias)
        let rm = store.buffer(runningMean), rv = store.buffer(runningVar)
        let xp = x.data, yp = output.data
        let n = B * L
        let m = momentum, eps = self.eps, act = activation
        let keepDerivative = training && act == .gelu
        if keepDerivative { activationDerivative.resize(x.shape) }
        let derp = activationDerivative.data
        let usePrecomputed = training && sampleStatisticsReady && sampleStatistics.shape == Shape(B, C)
            && sampleLength == L
        sampleStatisticsReady = false
        let stats = sampleStatistics.data
        mean.withUnsafeMutableBufferPointer { meanP in
            invStd.withUnsafeMutableBufferPointer { istdP in
                let meanP = meanP.baseAddress!, istdP = istdP.baseAddress!
                parallelFor(C) { c in
                    var mu: Float, istd: Float
                    if training {
                        // Two passes: the mean, then the centred sum of squares (rows
                        // summed in Float, rows added in Double). The row sums may
                        // come from the convolution's epilogue: the same numbers.
                        var s = 0.0
                        if usePrecomputed {
                            for b in 0..<B { s += Double(stats[b * C + c]) }
                        } else {
                            for b in 0..<B { s += Double(rowSum(xp + (b * C + c) * L, L)) }
                        }
                        let meanD = s / Double(n)
                        var ss = 0.0
                        for b in 0..<B { ss += Double(rowSquaredDeviation(xp + (b * C + c) * L, L, Float(meanD))) }
                        let meanF = Float(meanD)
                        let varBiased = ss / Double(n)
                        let varUnbiased = n > 1 ? ss / Double(n - 1) : varBiased
                        mu = meanF
                        istd = Float(1 / (varBiased + Double(eps)).squareRoot())
                        rm[c] = (1 - m) * rm[c] + m * mu
                        rv[c] = (1 - m) * rv[c] + m * Float(varUnbiased)
                    } else {
                        mu = rm[c]
                        istd = 1 / (rv[c] + eps).squareRoot()
                    }
                    meanP[c] = mu
                    istdP[c] = istd
                    let g = gamma[c], bt = beta[c]
                    for b in 0..<B {
                        let row = xp + (b * C + c) * L, out = yp + (b * C + c) * L
                        switch act {
                        case .identity:
                            for t in 0..<L { out[t] = (row[t] - mu) * istd * g + bt }
                        case .relu:
                            for t in 0..<L { out[t] = max((row[t] - mu) * istd * g + bt, 0) }
                        case .gelu where keepDerivative:
                            let der = derp + (b * C + c) * L
                            for t in 0..<L {
                                let (v, d) = geluAndDerivative((row[t] - mu) * istd * g + bt)
                                out[t] = v
                                der[t] = d
                            }
                        case .gelu:
                            for t in 0..<L { out[t] = geluValue((row[t] - mu) * istd * g + bt) }
                        }
                    }
                }
            }
        }
        if training { store.counters[batchesTracked] += 1 }
        return output
    }

    /// Sizes the per-sample statistics for a batch before a convolution's
    /// epilogue fills them (`collectSampleStatistics`).
    func prepareSampleStatistics(batch: Int, length: Int) {
        sampleStatistics.resize(Shape(batch, channels))
        sampleLength = length
        sampleStatisticsReady = true
    }

    /// Row sum of each channel of one sample (C, L), exactly as the first
    /// statistics pass forms it; called from the convolution's per-sample lanes.
    @inline(__always)
    func collectSampleStatistics(_ y: UnsafeMutablePointer<Float>, sample b: Int) {
        let L = sampleLength, out = sampleStatistics.data + b * channels
        for c in 0..<channels { out[c] = rowSum(y + c * L, L) }
    }

    /// Evaluation-mode BN + activation in place on one sample (C, L), with the
    /// running statistics: the epilogue of the convolution before it.
    @inline(__always)
    func applyEvaluation(_ y: UnsafeMutablePointer<Float>, length L: Int) {
        let gamma = store.value(weight), beta = store.value(bias)
        let rm = store.buffer(runningMean), rv = store.buffer(runningVar)
        for c in 0..<channels {
            let scale = gamma[c] / (rv[c] + eps).squareRoot()
            let shift = beta[c] - rm[c] * scale
            let row = y + c * L
            switch activation {
            case .identity: for t in 0..<L { row[t] = row[t] * scale + shift }
            case .relu: for t in 0..<L { row[t] = max(row[t] * scale + shift, 0) }
            case .gelu: for t in 0..<L { row[t] = geluValue(row[t] * scale + shift) }
            }
        }
    }

    /// dout (B, C, L) -> dinp (B, C, L); accumulates dweight, dbias (C).
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("BatchNorm1d.backward before forward") }
        let B = x.shape[0], C = channels, L = x.count / (B * C)
        let result = backwardInPlace ? dy : inputGradient
        result.resize(x.shape)
        let gamma = store.value(weight), beta = store.value(bias)
        let dgamma = store.gradient(weight), dbeta = store.gradient(bias)
        // With backwardInPlace dxp == dyp: each element is read before it is written.
        let xp = x.data, yp = output.data, dyp = dy.data, dxp = result.data, derp = activationDerivative.data
        let n = Float(B * L)
        let training = trained, act = activation, deferred = deferInputGradient
        if passTwo.count < 3 * C { passTwo = Array(repeating: 0, count: 3 * C) }
        passTwo.withUnsafeMutableBufferPointer { p2 in
        let p2 = p2.baseAddress!
        mean.withUnsafeBufferPointer { meanP in
            invStd.withUnsafeBufferPointer { istdP in
                let meanP = meanP.baseAddress!, istdP = istdP.baseAddress!
                parallelFor(C) { c in
                    let mu = meanP[c], istd = istdP[c], g = gamma[c], bt = beta[c]
                    // Pass 1: dz = dy·act'(z) (kept in dx), Σdz and Σdz·x̂.
                    var sdz = 0.0, sdzx = 0.0
                    for b in 0..<B {
                        let off = (b * C + c) * L
                        let row = xp + off, gr = dyp + off, dz = dxp + off, yr = yp + off
                        switch act {
                        case .identity:
                            for t in 0..<L { dz[t] = gr[t] }
                        case .relu:
                            for t in 0..<L { dz[t] = yr[t] > 0 ? gr[t] : 0 }
                        case .gelu where training:
                            let der = derp + off
                            for t in 0..<L { dz[t] = gr[t] * der[t] }
                        case .gelu:
                            for t in 0..<L { dz[t] = gr[t] * geluAndDerivative((row[t] - mu) * istd * g + bt).derivative }
                        }
                        let (s1, s2) = rowSumAndDot(dz, row, L, mu, istd)
                        sdz += Double(s1)
                        sdzx += Double(s2)
                    }
                    dgamma[c] += Float(sdzx)
                    dbeta[c] += Float(sdz)
                    // Pass 2: dx = γ·istd·(dz − mean(dz) − x̂·mean(dz·x̂)) in training, γ·istd·dz in evaluation.
                    let k = g * istd
                    let a = training ? Float(sdz) / n : 0, bc = training ? Float(sdzx) / n : 0
                    p2[3 * c] = k; p2[3 * c + 1] = a; p2[3 * c + 2] = bc
                    if deferred { return }
                    for b in 0..<B {
                        let off = (b * C + c) * L
                        let row = xp + off, dz = dxp + off
                        for t in 0..<L { dz[t] = k * (dz[t] - a - (row[t] - mu) * istd * bc) }
                    }
                }
            }
        }
        }
        return result
    }

    /// Second pass of a deferred backward on one sample (C, L) of the tensor
    /// `backward` returned: dx = γ·istd·(dz − mean(dz) − x̂·mean(dz·x̂)).
    @inline(__always)
    func finishInputGradient(_ dz: UnsafeMutablePointer<Float>, sample b: Int) {
        guard let x = input else { return }
        let C = channels, L = x.count / (x.shape[0] * C)
        let xb = x.data + b * C * L
        passTwo.withUnsafeBufferPointer { p2 in
            mean.withUnsafeBufferPointer { meanP in
                invStd.withUnsafeBufferPointer { istdP in
                    for c in 0..<C {
                        let k = p2[3 * c], a = p2[3 * c + 1], bc = p2[3 * c + 2], mu = meanP[c], istd = istdP[c]
                        let row = xb + c * L, d = dz + c * L
                        for t in 0..<L { d[t] = k * (d[t] - a - (row[t] - mu) * istd * bc) }
                    }
                }
            }
        }
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
