/// Max pooling over time, PyTorch's `nn.MaxPool1d` (padding counts as −∞; the
/// first maximum of a window wins ties and takes the gradient).
///
///     // inp (B, C, L) -> out (B, C, Lo),  Lo = (L + 2·pad − K) / stride + 1
public final class MaxPool1d {
    public let kernel, stride, padding: Int

    public let output = Tensor()
    public let inputGradient = Tensor()
    private var inputShape = Shape(0)
    private var argmax: [Int32] = []

    public init(kernel: Int, stride: Int, padding: Int) {
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    public func outputLength(_ length: Int) -> Int { (length + 2 * padding - kernel) / stride + 1 }

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        let B = x.shape[0], C = x.shape[1], L = x.shape[2], Lo = outputLength(L)
        inputShape = x.shape
        output.resize(Shape(B, C, Lo))
        if argmax.count < B * C * Lo { argmax = Array(repeating: 0, count: B * C * Lo) }
        let K = kernel, s = stride, p = padding
        let xp = x.data, yp = output.data
        argmax.withUnsafeMutableBufferPointer { am in
            let am = am.baseAddress!
            parallelFor(B * C) { bc in
                let row = xp + bc * L, out = yp + bc * Lo, idx = am + bc * Lo
                for t in 0..<Lo {
                    let start = t * s - p
                    var best = -Float.infinity, bi = max(start, 0)
                    for j in max(start, 0)..<min(start + K, L) where row[j] > best || row[j].isNaN {
                        best = row[j]; bi = j
                        if best.isNaN { break }
                    }
                    out[t] = best
                    idx[t] = Int32(bi)
                }
            }
        }
        return output
    }

    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        let B = inputShape[0], C = inputShape[1], L = inputShape[2], Lo = outputLength(L)
        inputGradient.resize(inputShape)
        inputGradient.zero()
        let gp = dy.data, dxp = inputGradient.data
        argmax.withUnsafeBufferPointer { am in
            let am = am.baseAddress!
            parallelFor(B * C) { bc in
                let g = gp + bc * Lo, dx = dxp + bc * L, idx = am + bc * Lo
                for t in 0..<Lo { dx[Int(idx[t])] += g[t] }
            }
        }
        return inputGradient
    }
}
