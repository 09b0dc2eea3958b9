import Basics

/// The multi-period block run on each branch's stretch of the recalibrated feature
/// sequence, the core of the multi-scale multi-period CNN (`msmpPerBranch`).
///
/// The sequence is the branches' outputs side by side in time, each at its own time
/// scale (Sleep-EDF: 64 steps of 0.47 s, 16 of 1.9 s, 20 of 1.5 s). Folding the whole
/// sequence by one period would wrap a period across a border between two scales; here
/// each stretch gets its own spectrum, its own periods and its own 2-D convolutions
/// (scales differ, so weights are not shared), and the results sit side by side again
/// for the encoder. Recalibration before it is pointwise in time (kernel-1
/// convolutions, per-channel scaling), so each stretch still holds one scale.
///
///     // inp (B, C, L1 + L2 + …) -> out (B, C, L1 + L2 + …)
///     // out[.., stretch s] = MultiPeriodBlock_s(x[.., stretch s])   (each with its residual)
/// Parameters: `name<s>.inception.<m>.{weight,bias}` for stretch s = 1, 2, … (as `features<s>`).
public final class BranchwiseMultiPeriodBlock {
    public let channels: Int
    /// Length of each stretch, in order (the branches' output lengths).
    public let lengths: [Int]
    public let blocks: [MultiPeriodBlock]

    public let output = Tensor()
    public let inputGradient = Tensor()
    /// Each block's input, kept for its backward (a block holds on to its input tensor).
    private let stretches: [Tensor]
    private let stretchGradient = Tensor()

    /// Convolution weights drawn by `weightInit` (nil: PyTorch's default), biases by PyTorch's default.
    public init(store: ParameterStore, name: String, channels: Int, lengths: [Int], periods: Int, kernels: [Int],
                weightInit: Initializer? = nil) {
        self.channels = channels
        self.lengths = lengths
        blocks = lengths.indices.map {
            MultiPeriodBlock(store: store, name: "\(name)\($0 + 1)", channels: channels, periods: periods,
                             kernels: kernels, weightInit: weightInit)
        }
        stretches = lengths.map { _ in Tensor() }
    }

    /// inp (B, C, ΣL) -> out (B, C, ΣL)
    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        let B = x.shape[0], C = channels, L = lengths.reduce(0, +)
        precondition(x.shape[1] == C && x.shape[2] == L,
                     "BranchwiseMultiPeriodBlock: input \(x.shape), expected (B, \(C), \(L))")
        output.resize(x.shape)
        var start = 0
        for (s, block) in blocks.enumerated() {
            let Ls = lengths[s]
            Self.copyStretch(from: x.data, rows: B * C, rowLength: L, start: start, length: Ls,
                             into: stretches[s], shape: Shape(B, C, Ls))
            let y = block.forward(stretches[s])
            Self.placeStretch(y.data, rows: B * C, rowLength: L, start: start, length: Ls, into: output.data)
            start += Ls
        }
        return output
    }

    /// dout (B, C, ΣL) -> dinp (B, C, ΣL); accumulates every block's parameter gradients.
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        let B = dy.shape[0], C = channels, L = lengths.reduce(0, +)
        inputGradient.resize(dy.shape)
        var start = 0
        for (s, block) in blocks.enumerated() {
            let Ls = lengths[s]
            Self.copyStretch(from: dy.data, rows: B * C, rowLength: L, start: start, length: Ls,
                             into: stretchGradient, shape: Shape(B, C, Ls))
            let g = block.backward(stretchGradient)
            Self.placeStretch(g.data, rows: B * C, rowLength: L, start: start, length: Ls, into: inputGradient.data)
            start += Ls
        }
        return inputGradient
    }

    /// out (rows, length) = x[:, start ..< start + length] of x (rows, rowLength).
    private static func copyStretch(from x: UnsafeMutablePointer<Float>, rows: Int, rowLength: Int, start: Int,
                                    length: Int, into out: Tensor, shape: Shape) {
        out.resize(shape)
        for r in 0..<rows { (out.data + r * length).update(from: x + r * rowLength + start, count: length) }
    }

    /// out[:, start ..< start + length] = y (rows, length), out (rows, rowLength).
    private static func placeStretch(_ y: UnsafeMutablePointer<Float>, rows: Int, rowLength: Int, start: Int,
                                     length: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { (out + r * rowLength + start).update(from: y + r * length, count: length) }
    }
}
