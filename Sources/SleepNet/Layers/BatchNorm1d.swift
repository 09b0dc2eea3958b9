/// Batch normalisation over (B, L) per channel, PyTorch's `nn.BatchNorm1d`.
///
/// Training: normalises with the batch mean and biased variance, updates the
/// running mean and the running variance (with the unbiased batch variance)
/// by `momentum`, and counts `num_batches_tracked`. Evaluation: running stats.
///
///     // inp (B, C, L) -> out (B, C, L);  weight, bias (C); running_mean, running_var (C)
public final class BatchNorm1d {
    public let channels: Int
    public let eps: Float
    public let momentum: Float

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
    private var mean: [Float]
    private var invStd: [Float]

    /// Registers `name.weight` (N(1, 0.02) in AttnSleep), `name.bias` (0) and the buffers.
    public init(store: ParameterStore, name: String, channels: Int, eps: Float = 1e-5, momentum: Float = 0.1,
         weightInit: Initializer = .constant(1)) {
        self.store = store
        self.channels = channels
        self.eps = eps
        self.momentum = momentum
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
        let m = momentum
        mean.withUnsafeMutableBufferPointer { meanP in
            invStd.withUnsafeMutableBufferPointer { istdP in
                let meanP = meanP.baseAddress!, istdP = istdP.baseAddress!
                parallelFor(C) { c in
                    var mu: Float, istd: Float
                    if training {
                        // Two passes in Double: the mean, then the centred sum of squares.
                        var s = 0.0
                        for b in 0..<B {
                            let row = xp + (b * C + c) * L
                            for t in 0..<L { s += Double(row[t]) }
                        }
                        let meanD = s / Double(n)
                        var ss = 0.0
                        for b in 0..<B {
                            let row = xp + (b * C + c) * L
                            for t in 0..<L { let d = Double(row[t]) - meanD; ss += d * d }
                        }
                        let varBiased = ss / Double(n)
                        let varUnbiased = n > 1 ? ss / Double(n - 1) : varBiased
                        mu = Float(meanD)
                        istd = Float(1 / (varBiased + Double(eps)).squareRoot())
                        rm[c] = (1 - m) * rm[c] + m * mu
                        rv[c] = (1 - m) * rv[c] + m * Float(varUnbiased)
                    } else {
                        mu = rm[c]
                        istd = 1 / (rv[c] + eps).squareRoot()
                    }
                    meanP[c] = mu
                    istdP[c] = istd
                    for b in 0..<B {
                        let row = xp + (b * C + c) * L, out = yp + (b * C + c) * L
                        for t in 0..<L { out[t] = (row[t] - mu) * istd * gamma[c] + beta[c] }
                    }
                }
            }
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
        let gamma = store.value(weight)
        let dgamma = store.gradient(weight), dbeta = store.gradient(bias)
        let xp = x.data, dyp = dy.data, dxp = inputGradient.data
        let n = Float(B * L)
        let training = trained
        mean.withUnsafeBufferPointer { meanP in
            invStd.withUnsafeBufferPointer { istdP in
                let meanP = meanP.baseAddress!, istdP = istdP.baseAddress!
                parallelFor(C) { c in
                    let mu = meanP[c], istd = istdP[c]
                    var sdy = 0.0, sdyx = 0.0
                    for b in 0..<B {
                        let row = xp + (b * C + c) * L, g = dyp + (b * C + c) * L
                        for t in 0..<L {
                            sdy += Double(g[t])
                            sdyx += Double(g[t] * ((row[t] - mu) * istd))
                        }
                    }
                    dgamma[c] += Float(sdyx)
                    dbeta[c] += Float(sdy)
                    let k = gamma[c] * istd
                    if training {
                        let a = Float(sdy) / n, bcoef = Float(sdyx) / n
                        for b in 0..<B {
                            let row = xp + (b * C + c) * L, g = dyp + (b * C + c) * L
                            let out = dxp + (b * C + c) * L
                            for t in 0..<L {
                                let xhat = (row[t] - mu) * istd
                                out[t] = k * (g[t] - a - xhat * bcoef)
                            }
                        }
                    } else {
                        for b in 0..<B {
                            let g = dyp + (b * C + c) * L, out = dxp + (b * C + c) * L
                            for t in 0..<L { out[t] = k * g[t] }
                        }
                    }
                }
            }
        }
        return inputGradient
    }
}
