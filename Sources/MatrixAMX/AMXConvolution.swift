#if arch(x86_64)
import CAMX
#endif

/// A convolution (one group, no dilation) with bf16 weights and inputs and fp32
/// sums, on AMX tiles: the opt-in bf16 evaluation of the CNN's convolutions.
/// No im2col and no Winograd.
///
///     // inp (C, L) per sample -> out (F, Lo),  Lo = (padL + L + padR − K) / stride + 1
///     // weight (F, C, K) fp32, rounded to bf16 by `setWeights`
///
/// Stride 1: the input is stored once as bf16 channel pairs over time (pair p =
/// channels 2p, 2p+1), and every tap's tile reads it at an offset; weights (Fp, K, Cp),
/// Cp and Fp being C and F rounded up to 32. Stride s > 1 (the CNN's first layers,
/// few channels, long kernels): the pairs are pairs of neighbouring taps of one
/// channel, i.e. neighbouring samples, so pair (c, q) at output t is the 32-bit word
/// at bf16 sample s·t + 2q of channel c, and the product is pointwise over the
/// C·K' taps (K' = K rounded up to even, a zero weight in the extra tap); weights
/// (Fp, C·K' rounded up to 32).
///
/// Each output is the sum over taps and channels in a fixed order of bf16 products
/// in fp32: it depends on the inputs only, never on threads or neighbours.
/// Only callable when `AMX.isUsable`.
public final class AMXConvolution {
    public let inChannels, outChannels, kernel, stride, padLeft, padRight: Int
    /// Taps per channel in the weights: K, or K rounded up to even when strided.
    let taps: Int
    /// The tile kernel's reduction: `kernelSteps` taps (K, or 1 when strided) of
    /// `reductionChannels` (a multiple of 32) each.
    let kernelSteps, reductionChannels: Int
    let paddedOutChannels: Int
    /// bf16 weights (Fp, kernelSteps, reductionChannels).
    private let weights: UnsafeMutablePointer<UInt16>
    /// Per lane: the input as bf16 pairs (reductionChannels/2, rowLength) words, then
    /// a 32 × 32 fp32 tile, then (strided) the input as bf16, C rows of `signalLength`,
    /// then its phase sequences, C · `phaseCount` rows of `phaseLength` words.
    private let lanes = LaneScratch()
    /// Strided: whether any tap pair reads phase k (all of them unless the kernel is short).
    private let phaseUsed: [Bool]

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padLeft: Int, padRight: Int) {
        precondition(inChannels > 0 && outChannels > 0 && kernel > 0 && stride > 0 && padLeft >= 0 && padRight >= 0)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padLeft = padLeft
        self.padRight = padRight
        taps = stride == 1 ? kernel : (kernel + 1) / 2 * 2
        kernelSteps = stride == 1 ? kernel : 1
        reductionChannels = ((stride == 1 ? inChannels : inChannels * taps) + 31) / 32 * 32
        paddedOutChannels = (outChannels + 31) / 32 * 32
        weights = allocateAligned(UInt16.self, count: paddedOutChannels * kernelSteps * reductionChannels)
        var used = [Bool](repeating: false, count: stride % 2 == 0 ? stride / 2 : stride)
        if stride > 1 {
            for q in 0..<(taps / 2) { used[Self.phaseIndex(q, stride: stride)] = true }
        }
        phaseUsed = used
    }

    deinit { weights.deallocate() }

    public func outputLength(_ L: Int) -> Int { (padLeft + L + padRight - kernel) / stride + 1 }

    /// Rounds the fp32 weights (F, C, K) to bf16 in the tile layout.
    public func setWeights(_ w: UnsafePointer<Float>) {
        let C = inChannels, K = kernel, R = reductionChannels, J = kernelSteps
        for f in 0..<outChannels {
            let row = weights + f * J * R
            for c in 0..<C {
                let src = w + (f * C + c) * K
                for j in 0..<K {
                    // Stride 1: tap j's block, channel c; strided: tap (c, j) of the pointwise product.
                    row[stride == 1 ? j * R + c : c * taps + j] = bfloat16Bits(src[j])
                }
            }
        }
    }

    /// Output steps computed for inputs of length L: Lo rounded up to the 32-wide blocks.
    private func blockedOutputLength(_ L: Int) -> Int { (outputLength(L) + 31) / 32 * 32 }

    /// Words per pair row: stride 1, the padded input and every output block's
    /// reach (its last tap reads 32 + K − 1 steps); strided, one per output step.
    func rowLength(_ L: Int) -> Int {
        stride == 1 ? max(padLeft + L + padRight, blockedOutputLength(L) + kernel - 1) : blockedOutputLength(L)
    }

    /// Strided: pair q (taps 2q, 2q + 1) at output t reads the word at sample s·t + 2q =
    /// s·(t + m) + φ with φ = 2q mod s, m = 2q div s. So with the phase sequence
    /// Y_φ[u] = word at s·u + φ, pair q's row is Y_φ[m ..< m + rowLength]: a copy. The
    /// strided gather then reads each input word once per phase instead of once per
    /// tap pair (features1.0: 3 phases against 25 pairs).
    private var phaseCount: Int { phaseUsed.count }
    /// The phase sequence of pair q: φ = 2q mod s, indexed φ/2 for an even stride (φ is even).
    private static func phaseIndex(_ q: Int, stride s: Int) -> Int { s % 2 == 0 ? (2 * q % s) / 2 : 2 * q % s }
    private func phaseLength(_ L: Int) -> Int { rowLength(L) + (taps - 2) / stride }

    /// Strided: bf16 samples per channel, the padded input and the phase sequences' reach.
    private func signalLength(_ L: Int) -> Int {
        stride == 1 ? 0 : max(padLeft + L + padRight, stride * phaseLength(L) + 2)
    }

    private func laneBytes(_ L: Int) -> Int {
        guard stride > 1 else { return 4 * (reductionChannels / 2 * rowLength(L)) + 4 * 32 * 32 }
        let signal = (2 * inChannels * signalLength(L) + 63) / 64 * 64
        let phases = 4 * inChannels * phaseCount * phaseLength(L)
        return 4 * (reductionChannels / 2 * rowLength(L)) + 4 * 32 * 32 + signal + phases
    }

    /// Scratch for `count` lanes (threads) and inputs of length up to L.
    public func reserveLanes(_ count: Int, inputLength L: Int) { lanes.reserve(count, bytes: laneBytes(L)) }

    /// One sample: x (C, L) -> out (F, Lo) with rows Lo apart. `lane` < the reserved
    /// lanes, used by one thread at a time.
    public func forward(sample x: UnsafePointer<Float>, length L: Int,
                        into out: UnsafeMutablePointer<Float>, lane: Int) {
        #if arch(x86_64)
        let F = outChannels, R = reductionChannels, J = kernelSteps
        let Lo = outputLength(L), ldx = rowLength(L)
        let base = lanes.block(lane, bytes: laneBytes(L))
        let pairs = base.bindMemory(to: UInt32.self, capacity: R / 2 * ldx)
        let tile = (base + 4 * (R / 2 * ldx)).bindMemory(to: Float.self, capacity: 32 * 32)
        if stride == 1 {
            packChannelPairs(x, length: L, into: pairs, rowLength: ldx)
        } else {
            let signalBase = base + 4 * (R / 2 * ldx) + 4 * 32 * 32
            let signal = signalBase.bindMemory(to: UInt16.self, capacity: inChannels * signalLength(L))
            let phases = (signalBase + (2 * inChannels * signalLength(L) + 63) / 64 * 64)
                .bindMemory(to: UInt32.self, capacity: inChannels * phaseCount * phaseLength(L))
            packTapPairs(x, length: L, signal: signal, phases: phases, into: pairs, rowLength: ldx)
        }
        camx_configure()
        for f0 in Swift.stride(from: 0, to: paddedOutChannels, by: 32) {
            let w = weights + f0 * J * R
            for t0 in Swift.stride(from: 0, to: Lo, by: 32) {
                if f0 + 32 <= F && t0 + 32 <= Lo {
                    camx_convolution_32x32(Int32(J), Int32(R), w, J * R, pairs + t0, ldx, out + f0 * Lo + t0, Lo)
                } else {
                    camx_convolution_32x32(Int32(J), Int32(R), w, J * R, pairs + t0, ldx, tile, 32)
                    for f in f0..<min(F, f0 + 32) {
                        (out + f * Lo + t0).update(from: tile + (f - f0) * 32, count: min(32, Lo - t0))
                    }
                }
            }
        }
        camx_release()
        #else
        preconditionFailure("AMXConvolution needs x86-64 with AMX")
        #endif
    }

    /// Stride 1: pair row p = channels 2p, 2p+1 over the padded input, zero in the
    /// padding and in channels past C.
    private func packChannelPairs(_ x: UnsafePointer<Float>, length L: Int,
                                  into pairs: UnsafeMutablePointer<UInt32>, rowLength ldx: Int) {
        let C = inChannels
        for p in 0..<(reductionChannels / 2) {
            let row = pairs + p * ldx, c = 2 * p
            row.update(repeating: 0, count: padLeft)
            if c + 1 < C {
                packPairs(x + c * L, x + (c + 1) * L, count: L, into: row + padLeft)
            } else if c < C {
                packPairs(x + c * L, count: L, into: row + padLeft)
            } else {
                (row + padLeft).update(repeating: 0, count: L)
            }
            (row + padLeft + L).update(repeating: 0, count: ldx - padLeft - L)
        }
    }

    /// Strided: each channel as bf16 with its padding, its phase sequences, then pair
    /// row (c, q) = the two samples at s·t + 2q (taps 2q, 2q + 1) as one word, copied
    /// from its phase sequence; rows past C·K' are zero.
    private func packTapPairs(_ x: UnsafePointer<Float>, length L: Int, signal: UnsafeMutablePointer<UInt16>,
                              phases: UnsafeMutablePointer<UInt32>,
                              into pairs: UnsafeMutablePointer<UInt32>, rowLength ldx: Int) {
        let C = inChannels, S = signalLength(L), s = stride, half = taps / 2
        let P = phaseCount, Y = phaseLength(L)
        for c in 0..<C {
            let row = signal + c * S
            row.update(repeating: 0, count: padLeft)
            toBFloat16(x + c * L, count: L, into: row + padLeft)
            (row + padLeft + L).update(repeating: 0, count: S - padLeft - L)
        }
        let raw = UnsafeRawPointer(signal)
        for c in 0..<C {
            for k in 0..<P where phaseUsed[k] {
                let phase = s % 2 == 0 ? 2 * k : k
                let y = phases + (c * P + k) * Y, start = raw + 2 * (c * S + phase)
                for u in 0..<Y { y[u] = start.loadUnaligned(fromByteOffset: 2 * s * u, as: UInt32.self) }
            }
            for q in 0..<half {
                (pairs + (c * half + q) * ldx).update(from: phases + (c * P + Self.phaseIndex(q, stride: s)) * Y + 2 * q / s, count: ldx)
            }
        }
        let rows = C * half
        (pairs + rows * ldx).update(repeating: 0, count: (reductionChannels / 2 - rows) * ldx)
    }
}
