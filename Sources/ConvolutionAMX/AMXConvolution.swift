#if arch(x86_64)
import CAMX
#endif

/// A stride-1 convolution (one group, no dilation) with bf16 weights and inputs
/// and fp32 sums, on AMX tiles: the opt-in bf16 evaluation of the CNN's
/// wide convolutions. No im2col and no Winograd: the input is stored once as
/// bf16 channel pairs over time, and every tap's tile reads it at an offset.
///
///     // inp (C, L) per sample -> out (F, Lo),  Lo = padL + L + padR − K + 1
///     // weight (F, C, K) fp32, rounded to bf16 by `setWeights` into (Fp, K, Cp)
///     // Cp, Fp: C and F rounded up to 32 (zero weights, zero inputs)
///
/// Each output is Σ over taps j, then channels c in blocks of 32, of bf16 products
/// summed in fp32: it depends on the inputs only, never on threads or neighbours.
/// Only callable when `AMX.isUsable`.
public final class AMXConvolution {
    public let inChannels, outChannels, kernel, padLeft, padRight: Int
    /// C and F rounded up to the tile's 32.
    let paddedChannels, paddedOutChannels: Int
    /// bf16 weights (Fp, K, Cp): row f holds tap 0's Cp channels, then tap 1's, …
    private let weights: UnsafeMutablePointer<UInt16>
    /// Per lane: the input as bf16 pairs (Cp/2, rowLength) words, then a 32 × 32 fp32 tile.
    private var lanes: [UnsafeMutableRawPointer] = []
    private var laneBytes = 0

    public init(inChannels: Int, outChannels: Int, kernel: Int, padLeft: Int, padRight: Int) {
        precondition(inChannels > 0 && outChannels > 0 && kernel > 0 && padLeft >= 0 && padRight >= 0)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.padLeft = padLeft
        self.padRight = padRight
        paddedChannels = (inChannels + 31) / 32 * 32
        paddedOutChannels = (outChannels + 31) / 32 * 32
        let count = paddedOutChannels * kernel * paddedChannels
        weights = UnsafeMutableRawPointer.allocate(byteCount: 2 * count, alignment: 64)
            .bindMemory(to: UInt16.self, capacity: count)
        weights.initialize(repeating: 0, count: count)
    }

    deinit {
        weights.deallocate()
        for lane in lanes { lane.deallocate() }
    }

    public func outputLength(_ L: Int) -> Int { padLeft + L + padRight - kernel + 1 }

    /// Rounds the fp32 weights (F, C, K) to bf16 in the tile layout.
    public func setWeights(_ w: UnsafePointer<Float>) {
        let C = inChannels, K = kernel, Cp = paddedChannels
        for f in 0..<outChannels {
            for c in 0..<C {
                let src = w + (f * C + c) * K, dst = weights + f * K * Cp + c
                for j in 0..<K { dst[j * Cp] = bfloat16Bits(src[j]) }
            }
        }
    }

    /// Words per channel-pair row for inputs of length L: the padded input, and
    /// every 32-wide output block's reach (its last tap reads 32 + K − 1 steps).
    func rowLength(_ L: Int) -> Int {
        let Lo = outputLength(L), blocks = (Lo + 31) / 32
        return max(padLeft + L + padRight, 32 * blocks + kernel - 1)
    }

    /// Scratch for `count` lanes (threads) and inputs of length up to L.
    public func reserveLanes(_ count: Int, inputLength L: Int) {
        let bytes = 4 * (paddedChannels / 2 * rowLength(L)) + 4 * 32 * 32
        if bytes > laneBytes {
            for lane in lanes { lane.deallocate() }
            lanes = []
            laneBytes = bytes
        }
        while lanes.count < count {
            lanes.append(UnsafeMutableRawPointer.allocate(byteCount: laneBytes, alignment: 64))
        }
    }

    /// One sample: x (C, L) -> out (F, Lo) with rows Lo apart. `lane` < the reserved
    /// lanes, used by one thread at a time.
    public func forward(sample x: UnsafePointer<Float>, length L: Int,
                        into out: UnsafeMutablePointer<Float>, lane: Int) {
        #if arch(x86_64)
        precondition(lane < lanes.count && 4 * (paddedChannels / 2 * rowLength(L)) + 4 * 1024 <= laneBytes,
                     "AMXConvolution: reserveLanes first")
        let C = inChannels, F = outChannels, K = kernel, Cp = paddedChannels
        let Lo = outputLength(L), ldx = rowLength(L)
        let pairs = lanes[lane].bindMemory(to: UInt32.self, capacity: Cp / 2 * ldx)
        let tile = (lanes[lane] + 4 * (Cp / 2 * ldx)).bindMemory(to: Float.self, capacity: 32 * 32)
        // The input as pairs, zero in the padding and in channels past C.
        for p in 0..<(Cp / 2) {
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
        camx_configure()
        for f0 in stride(from: 0, to: paddedOutChannels, by: 32) {
            let w = weights + f0 * K * Cp
            for t0 in stride(from: 0, to: Lo, by: 32) {
                if f0 + 32 <= F && t0 + 32 <= Lo {
                    camx_convolution_32x32(Int32(K), Int32(Cp), w, K * Cp, pairs + t0, ldx, out + f0 * Lo + t0, Lo)
                } else {
                    camx_convolution_32x32(Int32(K), Int32(Cp), w, K * Cp, pairs + t0, ldx, tile, 32)
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
}
