import Basics
/// Gated linear unit over the channel dimension, PyTorch's `F.glu(x, dim=1)`:
/// the first half of the channels gated by the sigmoid of the second half.
///
///     // inp (B, 2C, L) -> out (B, C, L);  out = a·σ(g), a = inp[:, :C], g = inp[:, C:]
public final class GLU {
    public let output = Tensor()
    public let inputGradient = Tensor()
    private var input: Tensor?

    public init() {}

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        let B = x.shape[0], C2 = x.shape[1], L = x.count / (B * C2), C = C2 / 2
        precondition(C2 % 2 == 0, "GLU: input has \(C2) channels, expected an even number")
        input = x
        output.resize(Shape(B, C, L))
        let xp = x.data, yp = output.data, n = C * L
        parallelFor(B) { b in
            let a = xp + b * 2 * n, g = a + n, y = yp + b * n
            for i in 0..<n { y[i] = a[i] * fastSigmoid(g[i]) }
        }
        return output
    }

    /// dout (B, C, L) -> dinp (B, 2C, L):  da = dy·σ(g),  dg = dy·a·σ(g)(1 − σ(g))
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("GLU.backward before forward") }
        let B = x.shape[0], C2 = x.shape[1], L = x.count / (B * C2), n = C2 / 2 * L
        inputGradient.resize(x.shape)
        let xp = x.data, gp = dy.data, dxp = inputGradient.data
        parallelFor(B) { b in
            let a = xp + b * 2 * n, g = a + n, d = gp + b * n
            let da = dxp + b * 2 * n, dg = da + n
            for i in 0..<n {
                let s = fastSigmoid(g[i])
                da[i] = d[i] * s
                dg[i] = d[i] * a[i] * s * (1 - s)
            }
        }
        return inputGradient
    }
}
