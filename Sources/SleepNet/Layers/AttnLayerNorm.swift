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
                    func normalize(_ r: Int, mean: Float, std: Float) {
                        let row = xp + r * D, out = yp + r * D
                        mp[r] = mean
                        sp[r] = std
                        let inv = 1 / (std + eps)
                        for i in 0..<D { out[i] = a[i] * (row[i] - mean) * inv + b[i] }
                    }
                    // Eight rows at a time: their sums side by side, each in the one-row order.
                    var r = range.lowerBound
                    while r + 8 <= range.upperBound {
                        let rows8 = xp + r * D
                        var s = SIMD8<Float>()
                        for i in 0..<D { s += column8(rows8, i, D) }
                        let mean = s / SIMD8(repeating: Float(D))
                        var ss = SIMD8<Float>()
                        for i in 0..<D {
                            let d = column8(rows8, i, D) - mean
                            ss += d * d
                        }
                        for k in 0..<8 { normalize(r + k, mean: mean[k], std: (ss[k] / Float(D - 1)).squareRoot()) }
                        r += 8
                    }
                    while r < range.upperBound {
                        let row = xp + r * D
                        var s: Float = 0
                        for i in 0..<D { s += row[i] }
                        let mean = s / Float(D)
                        var ss: Float = 0
                        for i in 0..<D { let d = row[i] - mean; ss += d * d }
                        normalize(r, mean: mean, std: (ss / Float(D - 1)).squareRoot())
                        r += 1
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
                let mp = mp.baseAddress!, sp = sp.baseAddress!, eps = self.eps
                parallelChunks(rows, chunk: 64) { range in
                    func rowGradient(_ r: Int, sg: Float, sgd: Float) {
                        let row = xp + r * D, g = gp + r * D, dx = dxp + r * D
                        let mean = mp[r], std = sp[r], inv = 1 / (std + eps)
                        let mg = sg / Float(D)
                        let coef = std > 0 ? inv * inv * sgd / (Float(D - 1) * std) : 0
                        for i in 0..<D {
                            dx[i] = inv * (g[i] * a[i] - mg) - coef * (row[i] - mean)
                        }
                    }
                    // Eight rows at a time: their sums side by side, each in the one-row order.
                    var r = range.lowerBound
                    while r + 8 <= range.upperBound {
                        let x8 = xp + r * D, g8 = gp + r * D
                        let mean = column8(mp + r, 0, 1)
                        var sg = SIMD8<Float>(), sgd = SIMD8<Float>()
                        for i in 0..<D {
                            let gi = column8(g8, i, D) * a[i]
                            sg += gi
                            sgd += gi * (column8(x8, i, D) - mean)
                        }
                        for k in 0..<8 { rowGradient(r + k, sg: sg[k], sgd: sgd[k]) }
                        r += 8
                    }
                    while r < range.upperBound {
                        let row = xp + r * D, g = gp + r * D, mean = mp[r]
                        var sg: Float = 0, sgd: Float = 0
                        for i in 0..<D {
                            let gi = g[i] * a[i]
                            sg += gi
                            sgd += gi * (row[i] - mean)
                        }
                        rowGradient(r, sg: sg, sgd: sgd)
                        r += 1
                    }
                }
                // Parameter gradients: per feature, rows summed in order; 16 features side by side.
                parallelFor((D + 15) / 16) { block in
                    let i0 = block * 16
                    if i0 + 16 <= D {
                        var sa = SIMD16<Float>(), sb = SIMD16<Float>()
                        for r in 0..<rows {
                            let gi = UnsafeRawPointer(gp + r * D + i0).loadUnaligned(as: SIMD16<Float>.self)
                            let xi = UnsafeRawPointer(xp + r * D + i0).loadUnaligned(as: SIMD16<Float>.self)
                            sa += gi * (xi - mp[r]) / (sp[r] + eps)
                            sb += gi
                        }
                        for k in 0..<16 {
                            da[i0 + k] += sa[k]
                            db[i0 + k] += sb[k]
                        }
                        return
                    }
                    for i in i0..<D {
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
        }
        return inputGradient
    }
}
