/// Swaps the last two dimensions of a (B, R, C) tensor: the Conformer's
/// convolution module runs along tokens with the features as channels.
///
///     // inp (B, R, C) -> out (B, C, R)
public final class Transpose {
    public let output = Tensor()
    public let inputGradient = Tensor()

    public init() {}

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        let B = x.shape[0], R = x.shape[1], C = x.shape[2]
        output.resize(Shape(B, C, R))
        transpose(x.data, into: output.data, batch: B, rows: R, columns: C)
        return output
    }

    /// dout (B, C, R) -> dinp (B, R, C)
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        let B = dy.shape[0], C = dy.shape[1], R = dy.shape[2]
        inputGradient.resize(Shape(B, R, C))
        transpose(dy.data, into: inputGradient.data, batch: B, rows: C, columns: R)
        return inputGradient
    }

    /// out[b, c, r] = inp[b, r, c] for each of `batch` (rows, columns) matrices.
    private func transpose(_ inp: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                           batch B: Int, rows R: Int, columns C: Int) {
        parallelFor(B) { b in
            let src = inp + b * R * C, dst = out + b * R * C
            for r in 0..<R {
                for c in 0..<C { dst[c * R + r] = src[r * C + c] }
            }
        }
    }
}
