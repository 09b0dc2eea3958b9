import Basics

/// 2-D convolution with stride 1 and "same" zero padding (odd square kernel), as
/// PyTorch's `nn.Conv2d(C, F, k, padding=k // 2)`, one image at a time.
///
///     // inp (C, H, W) -> out (F, H, W);  weight (F, C, k, k), bias (F)
///
/// The multi-period block calls it on images whose size changes from sample to
/// sample (H × W = cycles × period), so `forward` and `backward` take the image and
/// its im2col scratch from the caller, which keeps them for backward. The GEMMs:
/// out (F, HW) = W (F, C·k·k) · col (C·k·k, HW); dW += dOut · colᵀ; dcol = Wᵀ · dOut.
public final class Conv2d {
    public let inChannels, outChannels, kernel: Int
    let store: ParameterStore
    let weight: TensorView
    let bias: TensorView

    /// Registers `name.weight` and `name.bias` with PyTorch's default initialisation
    /// (kaiming-uniform(a=√5): uniform(±1/√(C·k·k)) for both), or the weight drawn by
    /// `weightInit` (the reference's N(0, 0.02) for AttnSleep's convolutions).
    public init(store: ParameterStore, name: String, inChannels: Int, outChannels: Int, kernel: Int,
                weightInit: Initializer? = nil) {
        precondition(kernel % 2 == 1, "Conv2d: 'same' padding needs an odd kernel, got \(kernel)")
        self.store = store
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        let bound = 1 / Float(inChannels * kernel * kernel).squareRoot()
        weight = store.registerParameter(name + ".weight", shape: [outChannels, inChannels, kernel, kernel],
                                         initializer: weightInit ?? .uniform(bound: bound))
        bias = store.registerParameter(name + ".bias", shape: [outChannels], initializer: .uniform(bound: bound))
    }

    /// Floats of the im2col scratch for an H × W image.
    public func columnCount(height: Int, width: Int) -> Int { inChannels * kernel * kernel * height * width }

    /// out (F, H, W) = conv(x (C, H, W)); fills `columns` (columnCount) for backward.
    /// With `accumulate`, adds `scale` · conv(x) to `out` instead of overwriting it.
    public func forward(_ x: UnsafePointer<Float>, height H: Int, width W: Int,
                        columns: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>,
                        scale: Float = 1, accumulate: Bool = false) {
        im2col(x, H, W, columns)
        let F = outChannels, K = inChannels * kernel * kernel, N = H * W
        let b = store.value(bias)
        if !accumulate {
            for f in 0..<F { for i in 0..<N { out[f * N + i] = 0 } }
        }
        for f in 0..<F { for i in 0..<N { out[f * N + i] += scale * b[f] } }
        sgemm(transA: false, transB: false, m: F, n: N, k: K, alpha: scale, a: store.value(weight), lda: K,
              b: columns, ldb: N, beta: 1, c: out, ldc: N)
    }

    /// Given dOut (F, H, W) of the forward of `x` (with its `scale`), ACCUMULATES dW
    /// and db into the store and ADDS dx (C, H, W) into `inputGradient`. The im2col of
    /// x is recomputed into `columns` (cheaper than keeping it: k² × the image);
    /// `columns` and `columnGradient` are scratch of columnCount floats.
    public func backward(_ dOut: UnsafePointer<Float>, input x: UnsafePointer<Float>, height H: Int, width W: Int,
                         columns: UnsafeMutablePointer<Float>, columnGradient: UnsafeMutablePointer<Float>,
                         inputGradient: UnsafeMutablePointer<Float>, scale: Float = 1) {
        let F = outChannels, K = inChannels * kernel * kernel, N = H * W
        im2col(x, H, W, columns)
        let db = store.gradient(bias)
        for f in 0..<F {
            var s: Float = 0
            for i in 0..<N { s += dOut[f * N + i] }
            db[f] += scale * s
        }
        // dW (F, K) += scale · dOut (F, N) · colᵀ (N, K)
        sgemm(transA: false, transB: true, m: F, n: K, k: N, alpha: scale, a: dOut, lda: N,
              b: columns, ldb: N, beta: 1, c: store.gradient(weight), ldc: K)
        // dcol (K, N) = scale · Wᵀ (K, F) · dOut (F, N)
        sgemm(transA: true, transB: false, m: K, n: N, k: F, alpha: scale, a: store.value(weight), lda: K,
              b: dOut, ldb: N, beta: 0, c: columnGradient, ldc: N)
        col2im(columnGradient, H, W, inputGradient)
    }

    /// col (C·k·k, H·W): row (c, i, j) holds x[c, h + i − k/2, w + j − k/2] (0 outside).
    private func im2col(_ x: UnsafePointer<Float>, _ H: Int, _ W: Int, _ col: UnsafeMutablePointer<Float>) {
        let k = kernel, pad = kernel / 2, N = H * W
        for c in 0..<inChannels {
            for i in 0..<k {
                for j in 0..<k {
                    let row = col + ((c * k + i) * k + j) * N
                    for h in 0..<H {
                        let sh = h + i - pad
                        for w in 0..<W {
                            let sw = w + j - pad
                            row[h * W + w] = sh >= 0 && sh < H && sw >= 0 && sw < W ? x[(c * H + sh) * W + sw] : 0
                        }
                    }
                }
            }
        }
    }

    /// Adds each column entry back to the input position it came from.
    private func col2im(_ col: UnsafePointer<Float>, _ H: Int, _ W: Int, _ dx: UnsafeMutablePointer<Float>) {
        let k = kernel, pad = kernel / 2, N = H * W
        for c in 0..<inChannels {
            for i in 0..<k {
                for j in 0..<k {
                    let row = col + ((c * k + i) * k + j) * N
                    for h in 0..<H {
                        let sh = h + i - pad
                        guard sh >= 0 && sh < H else { continue }
                        for w in 0..<W {
                            let sw = w + j - pad
                            if sw >= 0 && sw < W { dx[(c * H + sh) * W + sw] += row[h * W + w] }
                        }
                    }
                }
            }
        }
    }
}
