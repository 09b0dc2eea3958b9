#if arch(x86_64)
import CAMX
#endif

/// A linear layer's product with bf16 factors and fp32 sums on AMX tiles: the opt-in
/// bf16 evaluation of the encoder's linear layers (the bias is the caller's).
///
///     // x (N, I) fp32 rows -> y (N, O) fp32 rows,  y = x Wᵀ;  weight (O, I) fp32
///     // tiles: x's rows in bf16, 32 at a time (32, Ip); Wᵀ as bf16 pairs (Ip/2, Op) words
///     // Ip, Op: I and O rounded up to 32 (zeros)
///
/// Each output is the sum over i in blocks of 32 of bf16 products in fp32: it depends
/// on its row and the weights only, never on threads or the other rows.
/// Only callable when `AMX.isUsable`.
public final class AMXLinear {
    public let inFeatures, outFeatures: Int
    let paddedIn, paddedOut: Int
    /// Wᵀ as bf16 pairs: word (p, o) = W[o, 2p] | W[o, 2p + 1] << 16.
    private let pairs: UnsafeMutablePointer<UInt32>
    /// Per lane: 32 rows of x in bf16 (32, Ip), then a 32 × 32 fp32 tile.
    private let lanes = LaneScratch()

    public init(inFeatures: Int, outFeatures: Int) {
        precondition(inFeatures > 0 && outFeatures > 0)
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        paddedIn = (inFeatures + 31) / 32 * 32
        paddedOut = (outFeatures + 31) / 32 * 32
        pairs = allocateAligned(UInt32.self, count: paddedIn / 2 * paddedOut)
    }

    deinit { pairs.deallocate() }

    /// Rounds the fp32 weights (O, I) to bf16 pairs of Wᵀ.
    public func setWeights(_ w: UnsafePointer<Float>) {
        let I = inFeatures, Op = paddedOut
        for o in 0..<outFeatures {
            let row = w + o * I
            for i in stride(from: 0, to: I, by: 2) {
                let high = i + 1 < I ? UInt32(bfloat16Bits(row[i + 1])) << 16 : 0
                pairs[i / 2 * Op + o] = UInt32(bfloat16Bits(row[i])) | high
            }
        }
    }

    private var laneBytes: Int { 2 * 32 * paddedIn + 4 * 32 * 32 }

    /// Scratch for `count` lanes (threads).
    public func reserveLanes(_ count: Int) { lanes.reserve(count, bytes: laneBytes) }

    /// Rows x (n, I) -> y (n, O). `lane` < the reserved lanes, used by one thread at a time.
    public func forward(rows x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>, lane: Int) {
        #if arch(x86_64)
        let I = inFeatures, O = outFeatures, Ip = paddedIn, Op = paddedOut
        let base = lanes.block(lane, bytes: laneBytes)
        let rowsBF16 = base.bindMemory(to: UInt16.self, capacity: 32 * Ip)
        let tile = (base + 2 * 32 * Ip).bindMemory(to: Float.self, capacity: 32 * 32)
        camx_configure()
        for r0 in Swift.stride(from: 0, to: n, by: 32) {
            let rows = min(32, n - r0)
            for r in 0..<32 {
                let dst = rowsBF16 + r * Ip
                if r < rows {
                    toBFloat16(x + (r0 + r) * I, count: I, into: dst)
                    (dst + I).update(repeating: 0, count: Ip - I)
                } else {
                    dst.update(repeating: 0, count: Ip)
                }
            }
            for o0 in Swift.stride(from: 0, to: O, by: 32) {
                if rows == 32 && o0 + 32 <= O {
                    camx_convolution_32x32(1, Int32(Ip), rowsBF16, Ip, pairs + o0, Op, y + r0 * O + o0, O)
                } else {
                    camx_convolution_32x32(1, Int32(Ip), rowsBF16, Ip, pairs + o0, Op, tile, 32)
                    for r in 0..<rows {
                        (y + (r0 + r) * O + o0).update(from: tile + r * 32, count: min(32, O - o0))
                    }
                }
            }
        }
        camx_release()
        #else
        preconditionFailure("AMXLinear needs x86-64 with AMX")
        #endif
    }
}
