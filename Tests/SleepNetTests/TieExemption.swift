import SleepNet
import Testing

/// The gradient elements that max-pool near-ties can move, by parameter name:
/// what the parity tests may not hold to PyTorch's numbers.
///
/// A near-tie (`SleepModel.maxPoolNearTies`) changes only which input of one
/// window (sample b, channel c of a branch's pool) receives the window's output
/// gradient. The forward values change by the gap, a rounding error, so every
/// activation and every gradient that does not flow back through that pool's
/// input stays as it was: the layers after the pool, the other branches, the
/// encoder and the head are not exempt. What flows back through it:
///
/// - Pool 3 follows conv 0 → BN 1 → GELU. GELU and BatchNorm act per channel:
///   the input gradient of BN 1 changes in channel c only (its mean terms spread
///   the change over every sample and position of channel c, not beyond), and
///   so do γ₁[c] and β₁[c]. Conv 0's weight gradient dW[f] = Σ dy[:, f]·colᵀ
///   changes in row f = c only; conv 0 reads the data, so nothing comes before it.
/// - Pool 11 follows conv 8 → BN 9 → GELU: likewise γ₉[c], β₉[c] and row c of
///   conv 8's weights. But conv 8's input gradient Wᵀ·dy mixes channel c into
///   every channel of its input, so everything before it in the branch moves:
///   BN 6 and conv 5 whole, then (through pool 3's input gradient) BN 1 and conv 0 whole.
struct TieExemption: CustomStringConvertible {
    /// Exempt element ranges per parameter.
    private(set) var ranges: [String: [Range<Int>]] = [:]

    init() {}

    /// The elements `ties` can move in `model`'s parameters.
    init(ties: [SleepModel.MaxPoolNearTie], model: SleepModel) {
        let store = model.store
        func rowSize(_ name: String) -> Int? { store.parameter(named: name).map { $0.shape.dropFirst().reduce(1, *) } }
        for tie in ties {
            let prefix = tie.branch + "."
            // The conv and the BN right before the pool: their channel c.
            let (conv, bn) = tie.pool == 3 ? ("0", "1") : ("8", "9")
            for name in [prefix + conv + ".weight", prefix + conv + ".bias", prefix + bn + ".weight", prefix + bn + ".bias"] {
                if let n = rowSize(name) { add(name, tie.channel * n..<(tie.channel + 1) * n) }
            }
            guard tie.pool == 11 else { continue }
            // Everything before conv 8 in the branch, through its input gradient.
            for layer in ["0", "1", "5", "6"] {
                for name in [prefix + layer + ".weight", prefix + layer + ".bias"] {
                    if let p = store.parameter(named: name) { add(name, 0..<p.shape.reduce(1, *)) }
                }
            }
        }
    }

    private mutating func add(_ name: String, _ range: Range<Int>) {
        var all = (ranges[name] ?? []) + [range]
        all.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<Int>] = []
        for r in all {
            if let last = merged.last, r.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        ranges[name] = merged
    }

    func contains(_ name: String, _ index: Int) -> Bool {
        ranges[name]?.contains { $0.contains(index) } ?? false
    }

    /// Number of exempt elements.
    var count: Int { ranges.values.joined().map(\.count).reduce(0, +) }

    var description: String {
        ranges.isEmpty ? "nothing"
            : ranges.keys.sorted().map { name in "\(name) \(ranges[name]!.map { "\($0.lowerBound)..<\($0.upperBound)" })" }
                .joined(separator: ", ")
    }
}
