import Basics
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
    /// Only a training forward keeps the winners for `backward`.
    @discardableResult
    public func forward(_ x: Tensor, training: Bool = false, key: UInt64 = 0) -> Tensor {
        let B = x.shape[0], C = x.shape[1], Lo = outputLength(x.shape[2])
        output.resize(Shape(B, C, Lo))
        forward(x, training: training, key: key, into: output.data, rowStride: Lo)
        return output
    }

    /// inp (B, C, L) -> rows of `out`, row b·C + c at out + (b·C + c)·rowStride
    /// (Lo ≤ rowStride): a pool that writes its part of a concatenation in
    /// place. `output` is left as it was.
    public func forward(_ x: Tensor, training: Bool = false, key: UInt64 = 0,
                        into out: UnsafeMutablePointer<Float>, rowStride: Int) {
        let B = x.shape[0], C = x.shape[1], L = x.shape[2], Lo = outputLength(L)
        precondition(Lo <= rowStride, "MaxPool1d: output rows overlap")
        inputShape = x.shape
        dropping = training && dropout > 0
        self.key = key
        if argmax.count < B * C * Lo { argmax = Array(repeating: 0, count: B * C * Lo) }
        if kernel & (kernel - 1) == 0 {
            forwardByPhases(x, training: training, into: out, rowStride: rowStride)
        } else {
            forwardByDoubling(x, training: training, into: out, rowStride: rowStride)
        }
    }

    /// A power-of-two kernel: each window's first maximum found in one pass,
    /// 16 windows at a time, on the row split by phase (input e = s·i + r at
    /// phase r, index i), where element j of window t is at phase (t·s − p + j)
    /// mod s, index t + ⌊(j − p)/s⌋. The output is the first maximum's value,
    /// as `forwardByDoubling` gives it for these kernels (each doubling keeps
    /// the earlier of equal values, so +0 and −0 come out alike).
    ///
    ///     // inp row (L) -> phases (s, n), n = ⌈L/s⌉ -> out row (Lo), winners (Lo)
    private func forwardByPhases(_ x: Tensor, training: Bool, into yp: UnsafeMutablePointer<Float>, rowStride ldy: Int) {
        let B = x.shape[0], C = x.shape[1], L = x.shape[2], Lo = outputLength(L)
        let K = kernel, s = stride, p = padding, n = (L + s - 1) / s
        let xp = x.data
        let mask = DropoutMask(probability: dropping ? dropout : 0, key: key)
        // Windows wholly inside the row: t0 ..< t1; the others hold padding.
        let t0 = min(Lo, (p + s - 1) / s)
        let t1 = max(t0, L - K + p < 0 ? 0 : min(Lo, (L - K + p) / s + 1))
        // Offset of window element j from the window's phase-split start, per j.
        var offsets = [Int](repeating: 0, count: K)
        for j in 0..<K {
            let e = j - p, r = ((e % s) + s) % s
            offsets[j] = r * n + (e - r) / s
        }
        argmax.withUnsafeMutableBufferPointer { am in
            offsets.withUnsafeBufferPointer { off in
                let am = am.baseAddress!, off = off.baseAddress!
                parallelChunks(B * C, chunk: 16) { rows in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: s == 1 ? 1 : s * n) { scratch in
                        let phases = scratch.baseAddress!
                        for bc in rows {
                            let row = xp + bc * L, out = yp + bc * ldy, idx = am + bc * Lo
                            let split = s == 1 ? UnsafePointer(row) : UnsafePointer(phases)
                            if s == 2 {
                                splitPhases2(row, length: L, into: phases, n: n)
                            } else if s == 4 {
                                splitPhases4(row, length: L, into: phases, n: n)
                            } else if s > 1 {
                                for r in 0..<s {
                                    let ph = phases + r * n
                                    var i = 0
                                    while s * i + r < L { ph[i] = row[s * i + r]; i += 1 }
                                }
                            }
                            // Edge windows (they hold padding), one by one over their real inputs.
                            var t = 0
                            while t < Lo {
                                if t == t0 && t0 < t1 {
                                    t = t1
                                    continue
                                }
                                let start = t * s - p
                                let lo = max(start, 0), hi = min(start + K, L)
                                var best = row[lo], winner = lo
                                for j in (lo + 1)..<max(hi, lo + 1) where row[j] > best {
                                    best = row[j]
                                    winner = j
                                }
                                out[t] = best
                                idx[t] = UInt8(truncatingIfNeeded: winner - start)
                                t += 1
                            }
                            // Inner windows, 16 at a time (the last 16 overlap the ones before).
                            if t1 - t0 >= 16 {
                                t = t0
                                while true {
                                    windowMaxima16(split + t, offsets: off, out + t, training ? idx + t : nil)
                                    if t == t1 - 16 { break }
                                    t = min(t + 16, t1 - 16)
                                }
                            } else {
                                for t in t0..<t1 {
                                    var best = split[t + off[0]], winner = 0
                                    for j in 1..<K where split[t + off[j]] > best {
                                        best = split[t + off[j]]
                                        winner = j
                                    }
                                    out[t] = best
                                    idx[t] = UInt8(truncatingIfNeeded: winner)
                                }
                            }
                            if mask.active { mask.apply(row: bc, out, Lo) }
                        }
                    }
                }
            }
        }
    }

    /// out[i], idx[i] = the first maximum of w[i + offsets[j]] over j < kernel
    /// and its j, for i < 16 (idx: nil in evaluation).
    @inline(__always)
    private func windowMaxima16(_ w: UnsafePointer<Float>, offsets: UnsafePointer<Int>,
                                _ out: UnsafeMutablePointer<Float>, _ idx: UnsafeMutablePointer<UInt8>?) {
        var best = UnsafeRawPointer(w + offsets[0]).loadUnaligned(as: SIMD16<Float>.self)
        if let idx {
            var winner = SIMD16<Int32>(repeating: 0)
            for j in 1..<kernel {
                let v = UnsafeRawPointer(w + offsets[j]).loadUnaligned(as: SIMD16<Float>.self)
                let greater = v .> best
                best.replace(with: v, where: greater)
                winner.replace(with: Int32(j), where: greater)
            }
            UnsafeMutableRawPointer(idx).storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: winner), as: SIMD16<UInt8>.self)
        } else {
            for j in 1..<kernel {
                let v = UnsafeRawPointer(w + offsets[j]).loadUnaligned(as: SIMD16<Float>.self)
                best.replace(with: v, where: v .> best)
            }
        }
        UnsafeMutableRawPointer(out).storeBytes(of: best, as: SIMD16<Float>.self)
    }

    /// Other kernels: sliding-window maxima by doubling (see below).
    private func forwardByDoubling(_ x: Tensor, training: Bool, into yp: UnsafeMutablePointer<Float>, rowStride ldy: Int) {
        let B = x.shape[0], C = x.shape[1], L = x.shape[2], Lo = outputLength(L)
        let K = kernel, s = stride, p = padding
        let xp = x.data
        let mask = DropoutMask(probability: dropping ? dropout : 0, key: key)
        // Sliding-window maxima by doubling over a −∞-padded copy of each row
        // (contiguous SIMD passes); each output is the max of two overlapping
        // power-of-two windows. Training then finds each window's first winner
        // among its real elements (padding never wins). NaN inputs are not
        // guaranteed to propagate.
        let Lp = L + 2 * p
        var w = 1
        while 2 * w <= K { w *= 2 }
        let window = w
        let (inner0, inner1) = s == 2 ? innerWindows(length: L, outLength: Lo) : (0, 0)
        argmax.withUnsafeMutableBufferPointer { am in
            let am = am.baseAddress!
            parallelChunks(B * C, chunk: 16) { rows in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: Lp + 8) { scratch in
                    let buf = scratch.baseAddress!
                    for bc in rows {
                        let row = xp + bc * L, out = yp + bc * ldy
                        buf.update(repeating: -.infinity, count: p)
                        (buf + p).update(from: row, count: L)
                        (buf + p + L).update(repeating: -.infinity, count: p + 8)
                        var span = 1
                        while span < window {
                            slidingMax(buf, count: Lp - span, shift: span)
                            span *= 2
                        }
                        let second = K - window
                        for t in 0..<Lo {
                            let a = buf[t * s], b = buf[t * s + second]
                            out[t] = a > b ? a : b
                        }
                        guard training else { continue }
                        let idx = am + bc * Lo
                        // Windows wholly inside the row, 8 at a time (stride 2:
                        // the even lanes of 16 consecutive inputs); the rest one by one.
                        var t = 0
                        while t < Lo {
                            if t == inner0 && inner1 - inner0 >= 8 {
                                while t + 8 <= inner1 {
                                    winners8(row + (t * s - p), best: out + t, into: idx + t)
                                    t += 8
                                }
                                continue
                            }
                            let start = t * s - p
                            let lo = max(start, 0), best = out[t]
                            var winner = lo, j = min(start + K, L) - 1
                            while j >= lo {
                                winner = row[j] == best ? j : winner
                                j -= 1
                            }
                            idx[t] = UInt8(truncatingIfNeeded: winner - start)
                            t += 1
                        }
                        if mask.active { mask.apply(row: bc, out, Lo) }
                    }
                }
            }
        }
    }

    /// Windows t ∈ [first, end) that `winners8` may take at stride 2: inputs
    /// t·2 − padding ..< + kernel inside [0, L), and one more (its 16-float
    /// loads end one past the window t + 7).
    private func innerWindows(length L: Int, outLength Lo: Int) -> (Int, Int) {
        let first = (padding + stride - 1) / stride
        let room = L - kernel - 1 + padding       // t·stride ≤ room
        let end = room < 0 ? 0 : min(Lo, room / stride + 1)
        return (first, max(first, end))
    }

    /// idx[i] = the first j < kernel with w[2·i + j] == best[i], i < 8: the
    /// scalar loop's winner (it keeps the smallest j) for 8 stride-2 windows.
    @inline(__always)
    private func winners8(_ w: UnsafePointer<Float>, best: UnsafePointer<Float>, into idx: UnsafeMutablePointer<UInt8>) {
        let b = UnsafeRawPointer(best).loadUnaligned(as: SIMD8<Float>.self)
        var winner = SIMD8<Int32>(repeating: 0)
        var j = kernel - 1
        while j >= 0 {
            let v = UnsafeRawPointer(w + j).loadUnaligned(as: SIMD16<Float>.self).evenHalf
            winner.replace(with: Int32(j), where: v .== b)
            j -= 1
        }
        for i in 0..<8 { idx[i] = UInt8(truncatingIfNeeded: winner[i]) }
    }

    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        backward(UnsafePointer(dy.data), rowStride: outputLength(inputShape[2]))
    }

    /// dout rows (row b·C + c at dy + (b·C + c)·rowStride) -> dinp (B, C, L):
    /// the backward of `forward(_:training:key:into:rowStride:)`.
    @discardableResult
    public func backward(_ gp: UnsafePointer<Float>, rowStride ldg: Int) -> Tensor {
        let B = inputShape[0], C = inputShape[1], L = inputShape[2], Lo = outputLength(L)
        inputGradient.resize(inputShape)
        let dxp = inputGradient.data, s = stride, p = padding
        let mask = DropoutMask(probability: dropping ? dropout : 0, key: key)
        argmax.withUnsafeBufferPointer { am in
            let am = am.baseAddress!
            parallelChunks(B * C, chunk: 16) { rows in
                for bc in rows {
                    let g = gp + bc * ldg, dx = dxp + bc * L, idx = am + bc * Lo
                    dx.update(repeating: 0, count: L)
                    if mask.active {
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: Lo) { tmp in
                            let gm = tmp.baseAddress!
                            gm.update(from: g, count: Lo)
                            mask.apply(row: bc, gm, Lo)
                            for t in 0..<Lo { dx[t * s - p + Int(idx[t])] += gm[t] }
                        }
                    } else {
                        for t in 0..<Lo { dx[t * s - p + Int(idx[t])] += g[t] }
                    }
                }
            }
        }
        return inputGradient
    }
}

extension MaxPool1d {
    /// A window whose winner and runner-up are so close that float rounding in
    /// what computed them could swap them: the other input would win, and take
    /// the window's gradient.
    public struct NearTie: Sendable, Equatable {
        /// Row b·C + c of the input, and the window (output index).
        public var row: Int, window: Int
        /// Input positions of the winner (the first maximum, as `forward`
        /// picks it) and of the runner-up (the largest other real input).
        public var winner: Int, runnerUp: Int
        /// Winner minus runner-up (≥ 0), and the bound it is within.
        public var gap: Float, bound: Float

        public init(row: Int, window: Int, winner: Int, runnerUp: Int, gap: Float, bound: Float) {
            self.row = row
            self.window = window
            self.winner = winner
            self.runnerUp = runnerUp
            self.gap = gap
            self.bound = bound
        }
    }

    /// The windows of `x` (an input of this pool, (B, C, L)) whose winner and
    /// runner-up differ by at most `bound(row, winner, runnerUp)`. Windows with
    /// one real input have no runner-up; padding never takes part.
    public func nearTies(in x: Tensor, bound: (_ row: Int, _ winner: Int, _ runnerUp: Int) -> Float) -> [NearTie] {
        let rows = x.shape[0] * x.shape[1], L = x.shape[2], Lo = outputLength(L)
        var ties: [NearTie] = []
        for r in 0..<rows {
            let v = x.data + r * L
            for t in 0..<Lo {
                let start = t * stride - padding
                let lo = max(start, 0), hi = min(start + kernel, L)
                guard hi - lo >= 2 else { continue }
                var winner = lo
                for j in lo..<hi where v[j] > v[winner] { winner = j }
                var runnerUp = winner == lo ? lo + 1 : lo
                for j in lo..<hi where j != winner && v[j] > v[runnerUp] { runnerUp = j }
                let gap = v[winner] - v[runnerUp], limit = bound(r, winner, runnerUp)
                if gap <= limit {
                    ties.append(NearTie(row: r, window: t, winner: winner, runnerUp: runnerUp, gap: gap, bound: limit))
                }
            }
        }
        return ties
    }
}

/// ph[i] = row[2·i] and ph[n + i] = row[2·i + 1] for 2·i (+ 1) < L: a row split by
/// phase for stride 2, 16 inputs at a time.
@inline(__always)
func splitPhases2(_ row: UnsafePointer<Float>, length L: Int, into ph: UnsafeMutablePointer<Float>, n: Int) {
    var i = 0
    while 2 * i + 16 <= L {
        let v = UnsafeRawPointer(row + 2 * i).loadUnaligned(as: SIMD16<Float>.self)
        UnsafeMutableRawPointer(ph + i).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(ph + n + i).storeBytes(of: v.oddHalf, as: SIMD8<Float>.self)
        i += 8
    }
    while 2 * i < L {
        ph[i] = row[2 * i]
        if 2 * i + 1 < L { ph[n + i] = row[2 * i + 1] }
        i += 1
    }
}

/// ph[r·n + i] = row[4·i + r] for 4·i + r < L, r < 4: a row split by phase for
/// stride 4, 16 inputs at a time.
@inline(__always)
func splitPhases4(_ row: UnsafePointer<Float>, length L: Int, into ph: UnsafeMutablePointer<Float>, n: Int) {
    var i = 0
    while 4 * i + 16 <= L {
        let v = UnsafeRawPointer(row + 4 * i).loadUnaligned(as: SIMD16<Float>.self)
        let even = v.evenHalf, odd = v.oddHalf   // inputs 0, 2, …, 14 and 1, 3, …, 15
        UnsafeMutableRawPointer(ph + i).storeBytes(of: even.evenHalf, as: SIMD4<Float>.self)
        UnsafeMutableRawPointer(ph + n + i).storeBytes(of: odd.evenHalf, as: SIMD4<Float>.self)
        UnsafeMutableRawPointer(ph + 2 * n + i).storeBytes(of: even.oddHalf, as: SIMD4<Float>.self)
        UnsafeMutableRawPointer(ph + 3 * n + i).storeBytes(of: odd.oddHalf, as: SIMD4<Float>.self)
        i += 4
    }
    while 4 * i < L {
        for r in 0..<4 where 4 * i + r < L { ph[r * n + i] = row[4 * i + r] }
        i += 1
    }
}

/// buf[i] = max(buf[i], buf[i + shift]) for i in 0..<count, ascending, in place
/// (each 8-wide block loads before it stores, so it reads old values only).
@inline(__always)
func slidingMax(_ buf: UnsafeMutablePointer<Float>, count: Int, shift: Int) {
    let raw = UnsafeMutableRawPointer(buf)
    var i = 0
    while i + 8 <= count {
        let a = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        let b = raw.loadUnaligned(fromByteOffset: 4 * (i + shift), as: SIMD8<Float>.self)
        raw.storeBytes(of: a.replacing(with: b, where: b .> a), toByteOffset: 4 * i, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        let a = buf[i], b = buf[i + shift]
        buf[i] = b > a ? b : a
        i += 1
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

    /// v[t] ·= factor(row, t) for t in 0..<n: four factors per hash of the row's stream.
    @inline(__always)
    func apply(row: Int, _ v: UnsafeMutablePointer<Float>, _ n: Int) {
        var z = key ^ (UInt64(row) &* 0xD1B5_4A32_D192_ED03)
        var t = 0
        while t + 16 <= n {
            dropout16(&z, threshold: threshold, scale: scale, v + t, v + t)
            t += 16
        }
        while t < n {
            z &+= 0x9E37_79B9_7F4A_7C15
            let h = mix64(z)
            let m = min(4, n - t)
            for k in 0..<m {
                let r = UInt32(truncatingIfNeeded: h >> (16 * UInt64(k))) & 0xFFFF
                v[t + k] = r < threshold ? 0 : v[t + k] * scale
            }
            t += 4
        }
    }
}
