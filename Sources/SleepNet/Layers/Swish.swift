import Basics
/// Swish (SiLU): y = x·σ(x), PyTorch's `nn.SiLU`.
///
///     // inp (any shape) -> out (same);  dy/dx = σ(x)·(1 + x·(1 − σ(x)))
public final class Swish {
    public let output = Tensor()
    public let inputGradient = Tensor()
    private var input: Tensor?

    public init() {}

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        input = x
        output.resize(x.shape)
        let xp = x.data, yp = output.data
        parallelChunks(x.count, chunk: 16384) { r in
            for i in r { yp[i] = xp[i] * fastSigmoid(xp[i]) }
        }
        return output
    }

    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("Swish.backward before forward") }
        inputGradient.resize(x.shape)
        let xp = x.data, gp = dy.data, dxp = inputGradient.data
        parallelChunks(x.count, chunk: 16384) { r in
            for i in r {
                let s = fastSigmoid(xp[i])
                dxp[i] = gp[i] * s * (1 + xp[i] * (1 - s))
            }
        }
        return inputGradient
    }
}

/// Logistic sigmoid 1/(1 + e^−x) through `fastExp` (vectorisable, no libm call).
@inline(__always)
func fastSigmoid(_ x: Float) -> Float {
    1 / (1 + fastExp(-x))
}
