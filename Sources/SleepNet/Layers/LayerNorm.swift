import Basics
/// Layer normalisation over the last dimension, PyTorch's `nn.LayerNorm`:
/// y = (x − mean)/√(var + eps)·weight + bias with the biased variance.
///
///     // inp (N, …, D) -> out (same);  weight, bias (D)
public final class LayerNorm {
    public let features: Int
    public let eps: Float

    let store: ParameterStore
    let weight: TensorView
    let bias: TensorView

    public let output = Tensor()
    public let inputGradient = Tensor()
    private var input: Tensor?
    private let rowMean = Tensor()     // (rows)
    private let rowInvStd = Tensor()   // (rows): 1/√(var + eps)

    /// Registers `name.weight` (ones) and `name.bias` (zeros).
    public init(store: ParameterStore, name: String, features: Int, eps: Float = 1e-5) {
        self.store = store
        self.features = features
        self.eps = eps
        weight = store.registerParameter(name + ".weight", shape: [features], initializer: .constant(1))
        bias = store.registerParameter(name + ".bias", shape: [features], initializer: .constant(0))
    }

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        let D = features, rows = x.count / D
        input = x
        output.resize(x.shape)
        rowMean.resize(Shape(rows))
        rowInvStd.resize(Shape(rows))
        let w = store.value(weight), b = store.value(bias), xp = x.data, yp = output.data
        let mp = rowMean.data, sp = rowInvStd.data, eps = self.eps
        parallelChunks(rows, chunk: 64) { range in
            for r in range {
                let row = xp + r * D, out = yp + r * D
                let mean = rowSum(row, D) / Float(D)
                let variance = rowSquaredDeviation(row, D, mean) / Float(D)
                let inv = 1 / (variance + eps).squareRoot()
                mp[r] = mean
                sp[r] = inv
                for i in 0..<D { out[i] = (row[i] - mean) * inv * w[i] + b[i] }
            }
        }
        return output
    }

    /// With x̂ = (x − mean)·r and g = dy·weight: dx = r·(g − mean(g) − x̂·mean(g·x̂)).
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("LayerNorm.backward before forward") }
        let D = features, rows = x.count / D
        inputGradient.resize(x.shape)
        let w = store.value(weight), dw = store.gradient(weight), db = store.gradient(bias)
        let xp = x.data, gp = dy.data, dxp = inputGradient.data
        let mp = rowMean.data, sp = rowInvStd.data
        parallelChunks(rows, chunk: 64) { range in
            for r in range {
                let row = xp + r * D, g = gp + r * D, dx = dxp + r * D
                let mean = mp[r], inv = sp[r]
                var sg: Float = 0, sgx: Float = 0
                for i in 0..<D {
                    let gi = g[i] * w[i]
                    sg += gi
                    sgx += gi * (row[i] - mean) * inv
                }
                let mg = sg / Float(D), mgx = sgx / Float(D)
                for i in 0..<D { dx[i] = inv * (g[i] * w[i] - mg - (row[i] - mean) * inv * mgx) }
            }
        }
        // Parameter gradients: per feature, rows summed in order (independent of threads).
        parallelFor(D) { i in
            var sw: Float = 0, sb: Float = 0
            for r in 0..<rows {
                let gi = gp[r * D + i]
                sw += gi * (xp[r * D + i] - mp[r]) * sp[r]
                sb += gi
            }
            dw[i] += sw
            db[i] += sb
        }
        return inputGradient
    }
}
