import Basics

extension SleepModel {
    /// A window of one of the CNN's max-pools, in the last training forward,
    /// whose two largest inputs lie within float rounding of each other.
    public struct MaxPoolNearTie: Sendable, Equatable, CustomStringConvertible {
        /// The branch, by its parameters' prefix ("mrcnn.features1").
        public var branch: String
        /// The pool's index in the branch (PyTorch's module index): 3 or 11.
        public var pool: Int
        public var sample: Int, channel: Int
        /// The window (output index), its winner and runner-up (input positions).
        public var window: Int, winner: Int, runnerUp: Int
        /// Winner minus runner-up, and the bound it is within.
        public var gap: Float, bound: Float

        public init(branch: String, pool: Int, sample: Int, channel: Int, window: Int, winner: Int, runnerUp: Int,
                    gap: Float, bound: Float) {
            self.branch = branch
            self.pool = pool
            self.sample = sample
            self.channel = channel
            self.window = window
            self.winner = winner
            self.runnerUp = runnerUp
            self.gap = gap
            self.bound = bound
        }

        public var description: String {
            "\(branch) pool \(pool): sample \(sample), channel \(channel), window \(window) "
                + "(inputs \(winner) and \(runnerUp) differ by \(gap), bound \(bound))"
        }
    }

    /// How close a window's winner and runner-up must be to count as a
    /// near-tie, in units of ε·s: ε = 2⁻²⁴ (float32 unit roundoff) and s the
    /// larger `ConvBatchNorm1d.roundingScale` of the two inputs, |∂out/∂y|·Σ|w·x|
    /// for the convolution y = Σ w·x that feeds the pool through BN and GELU.
    ///
    /// Why 8: each addition in y rounds by at most ε of its result. Summed in
    /// another order (another GEMM kernel or library) y can move by up to
    /// (K − 1)·ε·Σ|w·x| for K terms, but with terms of mixed sign the roundings
    /// add like a random walk, to about ε/2·Σ|w·x| (r.m.s.) per implementation:
    /// two implementations then differ by about 0.7·ε·s at a pool input, and
    /// rarely (4σ) by 3·ε·s. The convolution's input carries differences of the
    /// same kind from the layers before (for pool 11, two more convolutions):
    /// about √2 more, 4·ε·s. BatchNorm and GELU round too, but both inputs of a
    /// near-tie share their channel's statistics and nearly the same argument,
    /// so those errors cancel between them. 8 is twice the rare case. On the
    /// PyTorch fixture the gap of a window differs by at most 2.0·ε·s between
    /// the 15 GEMM kernels tried (the own AVX-512 sgemm and 14 OpenBLAS core
    /// types), and the window that OpenBLAS's Haswell kernel hands to the other
    /// input has a gap of at most 0.6·ε·s under any of them; the worst-case
    /// bound K·ε·s (K up to 1024) would flag about 850 windows.
    public static let maxPoolTieBound: Float = 8

    /// The windows of the CNN's max-pools in the last training forward whose
    /// winner and runner-up differ by at most `relativeBound`·ε·s (see
    /// `maxPoolTieBound`). Elsewhere (another GEMM kernel, PyTorch) the
    /// runner-up may win there and take the window's gradient; no other
    /// window of these pools can change hands by rounding.
    public func maxPoolNearTies(relativeBound: Float = maxPoolTieBound) -> [MaxPoolNearTie] {
        var ties: [MaxPoolNearTie] = []
        let branches = [("mrcnn.features1", mrcnn.features1), ("mrcnn.features2", mrcnn.features2)]
            + (mrcnn.features3.map { [("mrcnn.features3", $0)] } ?? [])
        for (name, branch) in branches {
            for (index, block, pool) in [(3, branch.block0, branch.pool3), (11, branch.block8, branch.pool11)] {
                let x = block.output, C = x.shape[1]
                let perUnit = relativeBound * Float.ulpOfOne / 2
                let found = pool.nearTies(in: x) { row, winner, runnerUp in
                    let b = row / C, c = row % C
                    return perUnit * max(block.roundingScale(sample: b, channel: c, position: winner),
                                         block.roundingScale(sample: b, channel: c, position: runnerUp))
                }
                ties += found.map { t in
                    MaxPoolNearTie(branch: name, pool: index, sample: t.row / C, channel: t.row % C, window: t.window,
                                   winner: t.winner, runnerUp: t.runnerUp, gap: t.gap, bound: t.bound)
                }
            }
        }
        return ties
    }
}
