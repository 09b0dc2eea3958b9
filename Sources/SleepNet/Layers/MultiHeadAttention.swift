import Foundation
import Basics

/// AttnSleep's multi-headed attention: the query is used as given, keys and
/// values come from causal convolutions of the layer input (`convs.1`,
/// `convs.2`; `convs.0` is registered but, as in the reference, never used).
///
///     // q (B, T, D), x (B, T, D) -> out (B, T, D);  T tokens (channels), D = heads · dk
///     // scores (B, h, T, T) = q_h k_hᵀ / √dk;  p = softmax;  ctx_h = dropout(p) v_h;  out = linear(ctx)
public final class MultiHeadAttention {
    public let tokens, dModel, heads, dk: Int

    let keyConv: Conv1d
    let valueConv: Conv1d
    let linear: Linear
    let core: ScaledDotProductAttention

    public let inputGradient = Tensor()
    private var query: Tensor?
    /// Profiler scope names (PyTorch's); the scaled dot-product core is the
    /// attention scope's self time.
    let names: (keyConv: String, valueConv: String, linear: String)

    public init(store: ParameterStore, name: String, tokens: Int, dModel: Int, heads: Int, kernel: Int, dropout p: Float) {
        precondition(dModel % heads == 0, "d_model must be a multiple of heads")
        self.tokens = tokens
        self.dModel = dModel
        self.heads = heads
        dk = dModel / heads
        names = (name + ".convs.1", name + ".convs.2", name + ".linear")
        _ = Conv1d(store: store, name: name + ".convs.0", inChannels: tokens, outChannels: tokens,
                   kernel: kernel, causal: true, receivesGradient: false)
        keyConv = Conv1d(store: store, name: name + ".convs.1", inChannels: tokens, outChannels: tokens,
                         kernel: kernel, causal: true)
        valueConv = Conv1d(store: store, name: name + ".convs.2", inChannels: tokens, outChannels: tokens,
                           kernel: kernel, causal: true)
        keyConv.winogradTile = Self.causalConvolutionTile
        valueConv.winogradTile = Self.causalConvolutionTile
        linear = Linear(store: store, name: name + ".linear", inFeatures: dModel, outFeatures: dModel)
        core = ScaledDotProductAttention(heads: heads, dk: dk, dropout: p)
    }

    /// Winograd tile of the encoder's causal convolutions (k = 7 along d_model = 80,
    /// 30 channels) in evaluation: F(4, k) on OpenBLAS, whose im2col + GEMM of these
    /// small matrices runs at ~58 GFLOP/s (2.87 -> 2.13 ms per convolution and batch
    /// of 128 by Winograd), and on the AVX2 kernel (2.5 -> 2.0 ms, session 12); none
    /// on the AVX-512 kernel, where the short rows' transforms cost more than the
    /// third of the GEMM they save (1.5 -> 1.8 ms). Benchmarks/pytorch/README.md.
    public static var causalConvolutionTile: Int { GEMMBackend.current == .avx512 ? 0 : 4 }

    /// q (B, T, D), x (B, T, D) -> out (B, T, D)
    @discardableResult
    public func forward(query q: Tensor, input x: Tensor, training: Bool, key: UInt64) -> Tensor {
        query = q
        let k = Profiler.measure(names.keyConv) { keyConv.forward(x, training: training) }
        let v = Profiler.measure(names.valueConv) { valueConv.forward(x, training: training) }
        let context = core.forward(q: q, k: k, v: v, training: training, key: key)
        return Profiler.measure(names.linear) { linear.forward(context, training: training) }
    }

    /// dout (B, T, D) -> (dq (B, T, D), dx (B, T, D))
    public func backward(_ dy: Tensor) -> (query: Tensor, input: Tensor) {
        guard query != nil else { preconditionFailure("MultiHeadAttention.backward before forward") }
        let dContext = Profiler.measure(names.linear) { linear.backward(dy) }
        let d = core.backward(dContext)
        let dxK = Profiler.measure(names.keyConv) { keyConv.backward(d.key) }
        let dxV = Profiler.measure(names.valueConv) { valueConv.backward(d.value) }
        inputGradient.resize(dxK.shape)
        let a = dxK.data, c = dxV.data, o = inputGradient.data
        parallelChunks(inputGradient.count, chunk: 16384) { r in for i in r { o[i] = a[i] + c[i] } }
        return (d.query, inputGradient)
    }
}

/// Softmax of each row of a (rows, width) matrix, in place (max-subtracted).
func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
    parallelChunks(rows, chunk: 64) { range in
        var r = range.lowerBound
        while r + 8 <= range.upperBound {
            let inv = exponentiateRows8(x + r * width, width: width, rowStride: width)
            for k in 0..<8 {
                let row = x + (r + k) * width, f = inv[k]
                for j in 0..<width { row[j] *= f }
            }
            r += 8
        }
        while r < range.upperBound {
            let row = x + r * width
            let inv = exponentiateRow(row, width: width)
            for j in 0..<width { row[j] *= inv }
            r += 1
        }
    }
}

/// `exponentiateRow` for 8 rows `rowStride` apart, bit for bit: each row's
/// maximum in the same four chains (Swift's `max`: the later of equal values)
/// and its sum in the same order, the 8 rows side by side. Returns the 8 factors.
/// `paddedWidth` (≤ `rowStride`): the exponentials run over that many columns,
/// so a row's loop has no scalar tail; columns past `width` must hold finite
/// values and are neither maxed nor summed (they come out as garbage).
@inline(__always)
func exponentiateRows8(_ rows: UnsafeMutablePointer<Float>, width: Int, rowStride ld: Int,
                       paddedWidth: Int? = nil) -> SIMD8<Float> {
    @inline(__always) func maximum(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        a.replacing(with: b, where: b .>= a)   // max(a, b) = b >= a ? b : a, per lane
    }
    var m0 = SIMD8<Float>(repeating: -.infinity), m1 = m0, m2 = m0, m3 = m0
    var i = 0
    while i + 4 <= width {
        m0 = maximum(m0, column8(rows, i, ld))
        m1 = maximum(m1, column8(rows, i + 1, ld))
        m2 = maximum(m2, column8(rows, i + 2, ld))
        m3 = maximum(m3, column8(rows, i + 3, ld))
        i += 4
    }
    while i < width {
        m0 = maximum(m0, column8(rows, i, ld))
        i += 1
    }
    let m = maximum(maximum(m0, m1), maximum(m2, m3))
    let exponentiated = paddedWidth ?? width
    for k in 0..<8 {
        let row = rows + k * ld, mk = m[k]
        for j in 0..<exponentiated { row[j] = fastExp(row[j] - mk) }
    }
    var s = SIMD8<Float>()
    for j in 0..<width { s += column8(rows, j, ld) }
    return SIMD8<Float>(repeating: 1) / s
}

/// row[j] = exp(row[j] − max(row)) in place; returns 1 / Σ row[j], the factor that
/// makes the row a softmax. The maximum in four independent chains (exact in any
/// order), the exponentials in their own loop (it vectorises), then the sum in order.
@inline(__always)
func exponentiateRow(_ row: UnsafeMutablePointer<Float>, width: Int) -> Float {
    var m0 = -Float.infinity, m1 = m0, m2 = m0, m3 = m0
    var i = 0
    while i + 4 <= width {
        m0 = max(m0, row[i]); m1 = max(m1, row[i + 1]); m2 = max(m2, row[i + 2]); m3 = max(m3, row[i + 3])
        i += 4
    }
    while i < width { m0 = max(m0, row[i]); i += 1 }
    let m = max(max(m0, m1), max(m2, m3))
    for j in 0..<width { row[j] = fastExp(row[j] - m) }
    var s: Float = 0
    for j in 0..<width { s += row[j] }
    return 1 / s
}
