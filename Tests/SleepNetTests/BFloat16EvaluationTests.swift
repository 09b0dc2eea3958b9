import Basics
import MatrixAMX
import Foundation
import SleepNet
import Testing

/// The opt-in bf16 evaluation (`EvaluationPrecision.bfloat16`): stride-1
/// convolutions on AMX tiles. Runs where the CPU has AMX-BF16 (the development
/// machine and CI do).
@Suite(.enabled(if: AMX.isUsable)) struct BFloat16EvaluationTests {
    /// A layer in bf16 is within bf16's rounding of both factors of every product of
    /// the fp32 layer, through the bias and the epilogues, and the same bits at any
    /// thread count; in fp32 again it gives the fp32 bits.
    @Test(arguments: [(16, 24, 8, 1, 4, false, 90), (30, 30, 7, 1, 0, true, 80), (5, 7, 3, 1, 1, false, 33),
                      (2, 16, 9, 3, 4, false, 100)])
    func convolutionWithinItsRounding(_ shape: (C: Int, F: Int, K: Int, stride: Int, pad: Int, causal: Bool, L: Int)) throws {
        let store = ParameterStore()
        let conv = Conv1d(store: store, name: "c", inChannels: shape.C, outChannels: shape.F, kernel: shape.K,
                          stride: shape.stride, padding: shape.pad, bias: true, causal: shape.causal)
        store.allocate(seed: 31)
        let x = randomTensor(Shape(5, shape.C, shape.L), seed: 32)
        let exact = conv.forward(x, training: false).array
        store.evaluationPrecision = .bfloat16
        let one = ComputeThreads.with(count: 1) { conv.forward(x, training: false).array }
        let two = ComputeThreads.with(count: 2) { conv.forward(x, training: false).array }
        let sameOnTwoThreads = one == two, differsFromFloat32 = one != exact
        #expect(sameOnTwoThreads)
        #expect(differsFromFloat32, "the bf16 path must have run")
        let Lo = exact.count / (5 * shape.F)
        var worst: Float = 0
        for b in 0..<5 {
            for f in 0..<shape.F {
                for t in 0..<Lo {
                    let i = (b * shape.F + f) * Lo + t
                    let scale = conv.absoluteTermSum(sample: b, channel: f, position: t)
                    worst = max(worst, abs(one[i] - exact[i]) / scale)
                }
            }
        }
        #expect(worst <= 2 * 0x1p-8 + 0x1p-16 + 1e-6, "worst |bf16 − fp32| / Σ|terms| = \(worst)")
        // Changed weights are rounded again; fp32 again is the fp32 path.
        let w = try #require(store.value("c.weight"))
        let kept = w[0]
        w[0] += 0.5
        let changed = conv.forward(x, training: false).array != one
        #expect(changed)
        w[0] = kept
        store.evaluationPrecision = .float32
        let backToExact = conv.forward(x, training: false).array == exact
        #expect(backToExact)
    }

    /// Full-size AttnSleep on the same inputs: bf16 probabilities close to fp32's,
    /// the same bits at 1, 2 and 4 threads (slices and replicas take the precision),
    /// and the exact fp32 bits again after switching back.
    /// And AttnSleep's SHHS variant (125 Hz, 3750 samples), and the successors, narrow: the
    /// Conformer encoder (its pointwise convolutions on tiles, the depthwise one in fp32)
    /// and the multi-scale multi-period CNN.
    @Test(arguments: ["attnsleep", "attnsleep-shhs", "conformer", "conformer-tokens", "msmp"])
    func probabilitiesCloseToFloat32(_ name: String) throws {
        let config: ModelConfig
        switch name {
        case "conformer": config = ConformerModelTests.conformer(SleepModelTests.narrow)
        case "conformer-tokens": config = ConformerModelTests.conformerOverTokens(SleepModelTests.narrow)
        case "msmp": config = MultiScaleMultiPeriodTests.msmp()
        case "attnsleep-shhs": config = ModelConfig.attnSleepSHHS
        default: config = ModelConfig()
        }
        let model = try SleepModel(config: config, seed: 3)
        let B = 40, S = model.config.inputSamples
        let x = SleepModelTests.batch(B, samples: S, seed: 4)
        func probabilities(threads: Int) throws -> [Float] {
            let logits = try ComputeThreads.with(count: threads) { try model.forward(x, batch: B, training: false).array }
            return stride(from: 0, to: logits.count, by: 5).flatMap { i -> [Float] in
                let row = logits[i..<(i + 5)], m = row.max()!
                let e = row.map { Float(Foundation.exp(Double($0 - m))) }, s = e.reduce(0, +)
                return e.map { $0 / s }
            }
        }
        let exact = try probabilities(threads: 2)
        model.evaluationPrecision = .bfloat16
        let one = try probabilities(threads: 1), two = try probabilities(threads: 2), four = try probabilities(threads: 4)
        let sameAtAnyThreadCount = one == two && two == four, differsFromFloat32 = one != exact
        #expect(sameAtAnyThreadCount)
        #expect(differsFromFloat32)
        let worst = zip(one, exact).map { abs($0 - $1) }.max()!
        print("bf16 \(name): max |p_bf16 − p_fp32| = \(worst)")
        #expect(worst < 0.02, "max |p_bf16 − p_fp32| = \(worst)")
        model.evaluationPrecision = .float32
        let backToExact = try probabilities(threads: 2) == exact
        #expect(backToExact)
    }
}
