/// Inverted dropout with a counter-based mask: element i of a pass is dropped
/// when hash(key, i) falls below p, kept and scaled by 1/(1−p) otherwise.
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

    /// out[i] = mask(i) · inp[i] / (1 − p).
    private func apply(_ inp: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int) {
        let threshold = UInt32(min(Double(probability) * 4_294_967_296.0, 4_294_967_295.0))
        let scale = 1 / (1 - probability)
        let key = self.key
        parallelChunks(count, chunk: 16384) { r in
            for i in r {
                out[i] = dropoutBits(key, i) < threshold ? 0 : inp[i] * scale
            }
        }
    }
}

/// 32 random bits for element `i` of the pass keyed `key` (SplitMix64 finaliser).
@inline(__always)
func dropoutBits(_ key: UInt64, _ i: Int) -> UInt32 {
    var z = key &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return UInt32(truncatingIfNeeded: (z ^ (z >> 31)) >> 32)
}
