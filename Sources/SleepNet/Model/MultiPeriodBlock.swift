import Foundation
import Basics

/// The multi-period block (after TimesNet's TimesBlock), over a feature sequence:
/// for each sample, the `periods` strongest frequencies of its amplitude spectrum
/// (DFT along time, averaged over channels, DC excluded) give periods p = ⌈L/f⌉; the
/// sequence is folded into a (C, ⌈L/p⌉, p) image (zero-padded), an inception module
/// of 2-D convolutions (one per kernel size, averaged) runs on it, the result is
/// unfolded and cropped to L; the k results are summed weighted by the softmax of
/// their amplitudes, plus the input (residual).
///
///     // inp (B, C, L) -> out (B, C, L)
///     // out[b] = x[b] + Σ_i softmax(A[b])_i · mean_m conv2d_m(fold(x[b], p_i))[.., :L]
///
/// The choice of frequencies is not differentiated; everything else is, the softmax
/// weights through the amplitudes |DFT| included. Samples run one after another
/// (their images differ in shape); backward recomputes each convolution's im2col.
public final class MultiPeriodBlock {
    public let channels, periods: Int
    public let convolutions: [Conv2d]

    public let output = Tensor()
    public let inputGradient = Tensor()
    private var input: Tensor?
    /// Per sample: the chosen frequencies, their softmax weights, and each one's
    /// cropped inception output y_i (C, L).
    private var chosen: [[Int]] = []
    private var weights: [[Float]] = []
    private var chosenParts: [[[(Double, Double)]]] = []  // per sample, per chosen frequency: (Re, Im) per channel
    private let branchOutputs = Tensor()   // (B, periods, C, L)
    private var scratch: [Float] = []      // folded image, conv output / gradient images, im2col

    /// `name.inception.<m>` for each kernel size (odd); weights drawn by `weightInit`
    /// (nil: PyTorch's default).
    public init(store: ParameterStore, name: String, channels: Int, periods: Int, kernels: [Int],
                weightInit: Initializer? = nil) {
        self.channels = channels
        self.periods = periods
        convolutions = kernels.enumerated().map { m, k in
            Conv2d(store: store, name: "\(name).inception.\(m)", inChannels: channels, outChannels: channels, kernel: k,
                   weightInit: weightInit)
        }
    }

    /// cos and sin of 2π·f·t/L for f = 0…L/2, t < L, row-major by f (built once per L).
    private var table: (length: Int, cos: [Float], sin: [Float]) = (0, [], [])

    private func trigTable(_ L: Int) -> (cos: [Float], sin: [Float]) {
        if table.length != L {
            let F = L / 2 + 1
            var c = [Float](repeating: 0, count: F * L), s = [Float](repeating: 0, count: F * L)
            for f in 0..<F {
                for t in 0..<L {
                    let theta = 2 * Double.pi * Double(f * t % L) / Double(L)
                    c[f * L + t] = Float(cos(theta))
                    s[f * L + t] = Float(sin(theta))
                }
            }
            table = (L, c, s)
        }
        return (table.cos, table.sin)
    }

    /// Per frequency f = 1…L/2: the channel mean of |DFT(x[c, :])(f)|, and each channel's
    /// (Re, Im) as [f − 1][c] (Re = Σ x cos θ, Im = −Σ x sin θ, θ = 2π f t / L).
    private func spectrum(_ x: UnsafePointer<Float>, C: Int, L: Int) -> (amplitudes: [Double], parts: [[(Double, Double)]]) {
        let (cosT, sinT) = trigTable(L)
        let F = max(1, L / 2)
        var amplitudes = [Double](repeating: 0, count: F)
        var parts = [[(Double, Double)]](repeating: [], count: F)
        cosT.withUnsafeBufferPointer { cp in
            sinT.withUnsafeBufferPointer { sp in
                for f in 1...F {
                    var sum = 0.0
                    parts[f - 1].reserveCapacity(C)
                    for c in 0..<C {
                        var re: Float = 0, im: Float = 0
                        let row = x + c * L, cr = cp.baseAddress! + f * L, sr = sp.baseAddress! + f * L
                        for t in 0..<L {
                            re += row[t] * cr[t]
                            im -= row[t] * sr[t]
                        }
                        parts[f - 1].append((Double(re), Double(im)))
                        sum += Double(re * re + im * im).squareRoot()
                    }
                    amplitudes[f - 1] = sum / Double(C)
                }
            }
        }
        return (amplitudes, parts)
    }

    /// The `count` frequencies of largest amplitude (ties: the lower frequency), in that order.
    static func topFrequencies(_ amplitudes: [Double], count: Int) -> [Int] {
        let order = amplitudes.indices.sorted { (amplitudes[$0], -$0) > (amplitudes[$1], -$1) }
        return order.prefix(min(count, amplitudes.count)).map { $0 + 1 }
    }

    private func ensureScratch(_ L: Int) -> (image: Int, out: Int, columns: Int, columnGradient: Int) {
        let C = channels, maxArea = 2 * L + 2
        let maxK = convolutions.map(\.kernel).max() ?? 1
        let columns = C * maxK * maxK * maxArea
        let need = 2 * C * maxArea + 2 * columns
        if scratch.count < need { scratch = [Float](repeating: 0, count: need) }
        return (0, C * maxArea, 2 * C * maxArea, 2 * C * maxArea + columns)
    }

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        let B = x.shape[0], C = channels, L = x.shape[2]
        precondition(x.shape[1] == C, "MultiPeriodBlock: \(x.shape[1]) channels, expected \(C)")
        input = x
        output.resize(x.shape)
        let k = min(periods, max(1, L / 2))
        branchOutputs.resize(Shape(B, k, C, L))
        chosen = []
        weights = []
        chosenParts = []
        let offsets = ensureScratch(L)
        let M = Float(convolutions.count)
        scratch.withUnsafeMutableBufferPointer { s in
            let image = s.baseAddress! + offsets.image, conv = s.baseAddress! + offsets.out
            let columns = s.baseAddress! + offsets.columns
            for b in 0..<B {
                let xb = x.data + b * C * L
                let spectrum = self.spectrum(xb, C: C, L: L)
                let freqs = Self.topFrequencies(spectrum.amplitudes, count: k)
                let amps = freqs.map { spectrum.amplitudes[$0 - 1] }
                chosenParts.append(freqs.map { spectrum.parts[$0 - 1] })
                let top = amps.max() ?? 0
                let e = amps.map { exp($0 - top) }
                let w = e.map { Float($0 / e.reduce(0, +)) }
                chosen.append(freqs)
                weights.append(w)
                let ob = output.data + b * C * L
                ob.update(from: xb, count: C * L)
                for (i, f) in freqs.enumerated() {
                    let p = (L + f - 1) / f, rows = (L + p - 1) / p, area = rows * p
                    Self.fold(xb, C: C, L: L, area: area, into: image)
                    for (m, conv2d) in convolutions.enumerated() {
                        conv2d.forward(image, height: rows, width: p, columns: columns, out: conv,
                                       scale: 1 / M, accumulate: m > 0)
                    }
                    let yi = branchOutputs.data + (b * k + i) * C * L
                    for c in 0..<C {
                        for t in 0..<L {
                            yi[c * L + t] = conv[c * area + t]
                            ob[c * L + t] += w[i] * conv[c * area + t]
                        }
                    }
                }
            }
        }
        return output
    }

    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("MultiPeriodBlock.backward before forward") }
        let B = x.shape[0], C = channels, L = x.shape[2], k = branchOutputs.shape[1]
        inputGradient.resize(x.shape)
        inputGradient.data.update(from: dy.data, count: x.count)  // residual
        let offsets = ensureScratch(L)
        let M = Float(convolutions.count)
        scratch.withUnsafeMutableBufferPointer { s in
            let image = s.baseAddress! + offsets.image, dImage = s.baseAddress! + offsets.out
            let columns = s.baseAddress! + offsets.columns, columnGradient = s.baseAddress! + offsets.columnGradient
            var dConv = [Float]()
            for b in 0..<B {
                let xb = x.data + b * C * L, gb = dy.data + b * C * L, dxb = inputGradient.data + b * C * L
                let w = weights[b]
                // Softmax weights: dw_i = Σ dOut · y_i, then through the softmax to the amplitudes.
                var dw = [Double](repeating: 0, count: k)
                for i in 0..<k {
                    let yi = branchOutputs.data + (b * k + i) * C * L
                    var sum = 0.0
                    for j in 0..<(C * L) { sum += Double(gb[j]) * Double(yi[j]) }
                    dw[i] = sum
                }
                let mean = (0..<k).reduce(0.0) { $0 + Double(w[$1]) * dw[$1] }
                for (i, f) in chosen[b].enumerated() {
                    let p = (L + f - 1) / f, rows = (L + p - 1) / p, area = rows * p
                    // Through the inception convolutions: dOut_i = w_i · dOut on the first L positions.
                    if dConv.count < C * area { dConv = [Float](repeating: 0, count: C * area) }
                    for c in 0..<C {
                        for t in 0..<area { dConv[c * area + t] = t < L ? w[i] * gb[c * L + t] : 0 }
                    }
                    Self.fold(xb, C: C, L: L, area: area, into: image)
                    for j in 0..<(C * area) { dImage[j] = 0 }
                    dConv.withUnsafeBufferPointer { d in
                        for conv2d in convolutions {
                            conv2d.backward(d.baseAddress!, input: image, height: rows, width: p, columns: columns,
                                            columnGradient: columnGradient, inputGradient: dImage, scale: 1 / M)
                        }
                    }
                    for c in 0..<C { for t in 0..<L { dxb[c * L + t] += dImage[c * area + t] } }
                    // Through the amplitude A_f = mean_c |X_c(f)|: d|X|/dx_t = (Re cos θ − Im sin θ) / |X|.
                    let dA = Double(w[i]) * (dw[i] - mean)
                    let parts = chosenParts[b][i]
                    let (cosT, sinT) = trigTable(L)
                    for c in 0..<C {
                        let (re, im) = parts[c]
                        let magnitude = (re * re + im * im).squareRoot()
                        guard magnitude > 0 else { continue }
                        let g = dA / Double(C) / magnitude
                        let a = Float(g * re), bq = Float(g * im)
                        for t in 0..<L { dxb[c * L + t] += a * cosT[f * L + t] - bq * sinT[f * L + t] }
                    }
                }
            }
        }
        return inputGradient
    }

    /// image (C, area) = x (C, L) zero-padded to `area` per channel.
    private static func fold(_ x: UnsafePointer<Float>, C: Int, L: Int, area: Int, into image: UnsafeMutablePointer<Float>) {
        for c in 0..<C {
            (image + c * area).update(from: x + c * L, count: L)
            for t in L..<area { image[c * area + t] = 0 }
        }
    }
}
