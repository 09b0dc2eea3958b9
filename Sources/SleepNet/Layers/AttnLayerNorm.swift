import Basics
/// AttnSleep's layer norm over the last dimension (not torch's LayerNorm):
/// y = a_2·(x − mean)/(std + eps) + b_2 with the unbiased std (divide by n−1).
///
///     // inp (N, …, D) -> out (same);  a_2, b_2 (D)
public final class AttnLayerNorm {
    public let features: Int
    public let eps: Float

    let store: ParameterStore
    let gain: TensorView
    let shift: TensorView

    public let output = Tensor()
    public let inputGradient = Tensor()
    private var input: Tensor?
    private var rowMean: [Float] = []
    private var rowStd: [Float] = []

    /// Registers `name.a_2` (ones) and `name.b_2` (zeros).
    public init(store: ParameterStore, name: String, features: Int, eps: Float = 1e-6, receivesGradient: Bool = true) {
        self.store = store
        self.features = features
        self.eps = eps
        gain = store.registerParameter(name + ".a_2", shape: [features], initializer: .constant(1),
                                       receivesGradient: receivesGradient)
        shift = store.registerParameter(name + ".b_2", shape: [features], initializer: .constant(0),
                                        receivesGradient: receivesGradient)
    }

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        let D = features, rows = x.count / D
        input = x
        output.resize(x.shape)
        if rowMean.count < rows {
            rowMean = Array(repeating: 0, count: rows)
            rowStd = Array(repeating: 0, count: rows)
        }
        let a = store.value(gain), b = store.value(shift), xp = x.data, yp = output.data
        rowMean.withUnsafeMutableBufferPointer { mp in
            rowStd.withUnsafeMutableBufferPointer { sp in
                let mp = mp.baseAddress!, sp = sp.baseAddress!
                parallelChunks(rows, chunk: 64) { range in
                    for r in range {
                        let row = xp + r * D, out = yp + r * D
                        var s: Float = 0
                        for i in 0..<D { s += row[i] }
                        let mean = s / Float(D)
                        var ss: Float = 0
                        for i in 0..<D { let d = row[i] - mean; ss += d * d }
                        let std = (ss / Float(D - 1)).squareRoot()
                        mp[r] = mean
                        sp[r] = std
                        let inv = 1 / (std + eps)
                        for i in 0..<D { out[i] = a[i] * (row[i] - mean) * inv + b[i] }
                    }
                }
            }
        }
        return output
    }

    /// With d = x − mean, s = std, r = 1/(s + eps), g = dy·a:
    /// dx = r·(g − mean(g)) − r²·(Σ g·d)·d / ((D − 1)·s).
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("AttnLayerNorm.backward before forward") }
        let D = features, rows = x.count / D
        inputGradient.resize(x.shape)
        let a = store.value(gain), da = store.gradient(gain), db = store.gradient(shift)
        let xp = x.data, gp = dy.data, dxp = inputGradient.data
        rowMean.withUnsafeBufferPointer { mp in
            rowStd.withUnsafeBufferPointer { sp in
                let mp = mp.baseAddress!, sp = sp.baseAddress!
                parallelChunks(rows, chunk: 64) { range in
                    for r in range {
                        let row = xp + r * D, g = gp + r * D, dx = dxp + r * D
                        let mean = mp[r], std = sp[r], inv = 1 / (std + eps)
                        var sg: Float = 0, sgd: Float = 0
                        for i in 0..<D {
                            let gi = g[i] * a[i]
                            sg += gi
                            sgd += gi * (row[i] - mean)
                        }
                        let mg = sg / Float(D)
                        let coef = std > 0 ? inv * inv * sgd / (Float(D - 1) * std) : 0
                        for i in 0..<D {
                            dx[i] = inv * (g[i] * a[i] - mg) - coef * (row[i] - mean)
                        }
                    }
                }
                // Parameter gradients: per feature, rows summed in order.
                for i in 0..<D {
                    var sa: Float = 0, sb: Float = 0
                    for r in 0..<rows {
                        let gi = gp[r * D + i]
                        sa += gi * (xp[r * D + i] - mp[r]) / (sp[r] + eps)
                        sb += gi
                    }
                    da[i] += sa
                    db[i] += sb
                }
            }
        }
        return inputGradient
    }
}
