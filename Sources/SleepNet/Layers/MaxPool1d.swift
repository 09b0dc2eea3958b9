/// Max pooling over time, PyTorch's `nn.MaxPool1d` (padding counts as −∞; the
/// first maximum of a window wins ties and takes the gradient), optionally
/// followed by dropout in the same pass (the CNN's pool → dropout).
///
///     // inp (B, C, L) -> out (B, C, Lo),  Lo = (L + 2·pad − K) / stride + 1
public final class MaxPool1d {
    public let kernel, stride, padding: Int
    /// Dropout probability applied to the pooled values in training (0: none).
    public let dropout: Float

    public let output = Tensor()
    public let inputGradient = Tensor()
    private var inputShape = Shape(0)
    private var argmax: [UInt8] = []   // winner's offset in its window (kernel ≤ 256)
    private var key: UInt64 = 0
    private var dropping = false

    /// Largest kernel (the winner's offset is stored in a byte).
    public static let maxKernel = 256

    public init(kernel: Int, stride: Int, padding: Int, dropout: Float = 0) {
        precondition(kernel > 0 && kernel <= Self.maxKernel && stride > 0 && 2 * padding <= kernel,
                     "MaxPool1d: kernel 1…256, stride > 0, padding ≤ kernel/2")
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dropout = dropout
    }

    public func outputLength(_ length: Int) -> Int { (length + 2 * padding - kernel) / stride + 1 }

    /// inp (B, C, L) -> out (B, C, Lo); dropout with mask key `key` when training.
    @discardableResult
    public func forward(_ x: Tensor, training: Bool = false, key: UInt64 = 0) -> Tensor {
        let B = x.shape[0], C = x.shape[1], L = x.shape[2], Lo = outputLength(L)
        inputShape = x.shape
        dropping = training && dropout > 0
        self.key = key
        output.resize(Shape(B, C, Lo))
        if argmax.count < B * C * Lo { argmax = Array(repeating: 0, count: B * C * Lo) }
        let K = kernel, s = stride, p = padding
        let xp = x.data, yp = output.data
        let mask = DropoutMask(probability: dropping ? dropout : 0, key: key)
        argmax.withUnsafeMutableBufferPointer { am in
            let am = am.baseAddress!
            parallelChunks(B * C, chunk: 16) { rows in
                for bc in rows {
                    let row = xp + bc * L, out = yp + bc * Lo, idx = am + bc * Lo
                    var stream = mask.stream(row: bc)
                    for t in 0..<Lo {
                        let start = t * s - p
                        let lo = max(start, 0), hi = min(start + K, L)
                        var best = row[lo], bi = lo
                        var j = lo + 1
                        while j < hi {
                            let v = row[j]
                            // Branch-free; a NaN wins as in PyTorch.
                            let take = v > best || v != v
                            best = take ? v : best
                            bi = take ? j : bi
                            j += 1
                        }
                        out[t] = mask.active ? best * stream.next() : best
                        idx[t] = UInt8(truncatingIfNeeded: bi - start)
                    }
                }
            }
        }
        return output
    }

    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        let B = inputShape[0], C = inputShape[1], L = inputShape[2], Lo = outputLength(L)
        inputGradient.resize(inputShape)
        let gp = dy.data, dxp = inputGradient.data, s = stride, p = padding
        let mask = DropoutMask(probability: dropping ? dropout : 0, key: key)
        argmax.withUnsafeBufferPointer { am in
            let am = am.baseAddress!
            parallelChunks(B * C, chunk: 16) { rows in
                for bc in rows {
                    let g = gp + bc * Lo, dx = dxp + bc * L, idx = am + bc * Lo
                    dx.update(repeating: 0, count: L)
                    var stream = mask.stream(row: bc)
                    for t in 0..<Lo {
                        let v = mask.active ? g[t] * stream.next() : g[t]
                        dx[t * s - p + Int(idx[t])] += v
                    }
                }
            }
        }
        return inputGradient
    }
}

/// Dropout factors (0 or 1/(1−p)) for the rows of a fused layer: one
/// SplitMix64 stream per row, 16 bits per element, so masks depend only on
/// the key and the row, not on threads.
struct DropoutMask {
    let active: Bool
    let threshold: UInt32
    let scale: Float
    let key: UInt64

    init(probability p: Float, key: UInt64) {
        active = p > 0
        threshold = UInt32(min(Double(p) * 65536, 65535))
        scale = 1 / (1 - p)
        self.key = key
    }

    func stream(row: Int) -> Stream {
        Stream(z: key ^ (UInt64(row) &* 0xD1B5_4A32_D192_ED03), threshold: threshold, scale: scale)
    }

    struct Stream {
        var z: UInt64
        let threshold: UInt32
        let scale: Float
        var bits: UInt64 = 0
        var left = 0

        /// The next element's factor.
        @inline(__always)
        mutating func next() -> Float {
            if left == 0 {
                z &+= 0x9E37_79B9_7F4A_7C15
                bits = mix64(z)
                left = 4
            }
            let r = UInt32(bits & 0xFFFF)
            bits >>= 16
            left -= 1
            return r < threshold ? 0 : scale
        }
    }
}
