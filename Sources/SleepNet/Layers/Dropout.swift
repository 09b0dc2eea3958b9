import Basics
/// Inverted dropout with a counter-based mask: element i of a pass is dropped
/// when its 16 random bits fall below p·2¹⁶, kept and scaled by 1/(1−p) otherwise.
///
/// The key is drawn from the network's SeededGenerator once per training
/// pass, so masks are reproducible from the seed, cost no memory (backward
/// recomputes them) and do not depend on how the work is split over threads.
/// p = 0 and evaluation are the identity (no copy).
///
///     // inp (any shape) -> out (same)
public final class Dropout {
    public let probability: Float

    public let output = Tensor()
    public let inputGradient = Tensor()
    private var key: UInt64 = 0
    private var active = false

    public init(probability: Float) {
        self.probability = probability
    }

    /// Applies dropout with mask key `key` when training, else returns `x`.
    @discardableResult
    public func forward(_ x: Tensor, training: Bool, key: UInt64) -> Tensor {
        active = training && probability > 0
        guard active else { return x }
        self.key = key
        output.resize(x.shape)
        apply(x.data, output.data, count: x.count)
        return output
    }

    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        guard active else { return dy }
        inputGradient.resize(dy.shape)
        apply(dy.data, inputGradient.data, count: dy.count)
        return inputGradient
    }

    /// Elements per mask stream: fixed, so masks do not depend on the thread count.
    static let streamChunk = 4096

    /// out[i] = mask(i) · inp[i] / (1 − p); mask bits come 16 at a time from a
    /// SplitMix64 stream per chunk of `streamChunk` elements.
    private func apply(_ inp: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int) {
        let threshold = UInt32(min(Double(probability) * 65536, 65535))
        let scale = 1 / (1 - probability)
        let key = self.key
        parallelChunks(count, chunk: Self.streamChunk) { r in
            var z = key ^ (UInt64(r.lowerBound / Self.streamChunk) &* 0xD1B5_4A32_D192_ED03)
            var i = r.lowerBound
            while i + 16 <= r.upperBound {
                dropout16(&z, threshold: threshold, scale: scale, inp + i, out + i)
                i += 16
            }
            // Four elements per 64-bit hash, 16 bits each.
            while i + 4 <= r.upperBound {
                z &+= 0x9E37_79B9_7F4A_7C15
                let h = mix64(z)
                out[i] = UInt32(truncatingIfNeeded: h) & 0xFFFF < threshold ? 0 : inp[i] * scale
                out[i + 1] = UInt32(truncatingIfNeeded: h >> 16) & 0xFFFF < threshold ? 0 : inp[i + 1] * scale
                out[i + 2] = UInt32(truncatingIfNeeded: h >> 32) & 0xFFFF < threshold ? 0 : inp[i + 2] * scale
                out[i + 3] = UInt32(truncatingIfNeeded: h >> 48) < threshold ? 0 : inp[i + 3] * scale
                i += 4
            }
            if i < r.upperBound {
                z &+= 0x9E37_79B9_7F4A_7C15
                let h = mix64(z)
                for k in 0..<(r.upperBound - i) {
                    let bits = UInt32(truncatingIfNeeded: h >> (16 * UInt64(k))) & 0xFFFF
                    out[i + k] = bits < threshold ? 0 : inp[i + k] * scale
                }
            }
        }
    }
}

/// Dropout of 16 elements with four hashes of the stream at once (SIMD): element
/// k uses bits 16·(k mod 4) ..< +16 of the (k / 4 + 1)-th next hash, exactly the
/// bits and arithmetic of the four-at-a-time scalar loop. Advances `z` by four.
@inline(__always)
func dropout16(_ z: inout UInt64, threshold: UInt32, scale: Float,
               _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
    let golden: UInt64 = 0x9E37_79B9_7F4A_7C15
    var h = SIMD4<UInt64>(repeating: z) &+ SIMD4<UInt64>(1, 2, 3, 4) &* golden
    z &+= 4 &* golden
    h = (h ^ (h &>> 30)) &* 0xBF58_476D_1CE4_E5B9
    h = (h ^ (h &>> 27)) &* 0x94D0_49BB_1331_11EB
    h = h ^ (h &>> 31)
    // Little-endian: 16-bit field j of hash i is lane 4·i + j.
    let bits = SIMD16<UInt32>(truncatingIfNeeded: unsafeBitCast(h, to: SIMD16<UInt16>.self))
    let kept = UnsafeRawPointer(src).loadUnaligned(as: SIMD16<Float>.self) * scale
    let out = kept.replacing(with: 0, where: bits .< SIMD16<UInt32>(repeating: threshold))
    UnsafeMutableRawPointer(dst).storeBytes(of: out, as: SIMD16<Float>.self)
}

/// SplitMix64 finaliser.
@inline(__always)
func mix64(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
