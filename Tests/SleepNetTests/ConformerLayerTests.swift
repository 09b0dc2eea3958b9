import Foundation
import SleepNet
import Testing
import Basics
import Recordings
import Evaluation

/// The layers the Conformer block adds: Swish, GLU, LayerNorm, Transpose, SelfAttention.
@Suite struct ConformerLayerTests {
    @Test func swishBackwardMatchesFiniteDifferences() {
        let swish = Swish()
        let x = randomTensor(Shape(2, 3, 7), seed: 1, scale: 4)
        let checker = GradientChecker(seed: 2) { swish.forward(x) }
        swish.forward(x)
        checker.check("dx", values: x.buffer, analytic: swish.backward(checker.upstream).array)
    }

    /// x·σ(x), as torch.nn.SiLU.
    @Test func swishIsXTimesSigmoid() {
        let xs: [Float] = [1, -2, 0.5, 0, 30, -30]
        let y = Swish().forward(Tensor(shape: Shape(6), values: xs)).array
        for (x, v) in zip(xs, y) {
            let expected = Double(x) / (1 + exp(-Double(x)))
            #expect(abs(Double(v) - expected) < 1e-6 * max(1, abs(expected)))
        }
    }

    @Test func gluBackwardMatchesFiniteDifferences() {
        let glu = GLU()
        let x = randomTensor(Shape(2, 6, 5), seed: 1, scale: 3)
        let checker = GradientChecker(seed: 2) { glu.forward(x) }
        #expect(glu.output.shape == Shape(2, 3, 5))
        glu.forward(x)
        checker.check("dx", values: x.buffer, analytic: glu.backward(checker.upstream).array)
    }

    /// F.glu(x, dim=1): the first half of the channels times σ(second half), per sample.
    @Test func gluGatesTheFirstHalfByTheSecond() {
        let x = randomTensor(Shape(2, 4, 3), seed: 5, scale: 2)
        let y = GLU().forward(x)
        for b in 0..<2 {
            for c in 0..<2 {
                for t in 0..<3 {
                    let a = Double(x.data[(b * 4 + c) * 3 + t]), g = Double(x.data[(b * 4 + c + 2) * 3 + t])
                    #expect(abs(Double(y.data[(b * 2 + c) * 3 + t]) - a / (1 + exp(-g))) < 1e-6)
                }
            }
        }
    }

    @Test func layerNormBackwardMatchesFiniteDifferences() throws {
        let store = ParameterStore()
        let norm = LayerNorm(store: store, name: "norm", features: 6)
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 4)
        let x = randomTensor(Shape(2, 3, 6), seed: 2)
        let checker = GradientChecker(seed: 3) { norm.forward(x) }
        store.zeroGradients()
        norm.forward(x)
        let dx = norm.backward(checker.upstream).array
        checker.check("dx", values: x.buffer, analytic: dx)
        checker.check("dweight", values: store.value("norm.weight")!, analytic: Array(store.gradient("norm.weight")!))
        checker.check("dbias", values: store.value("norm.bias")!, analytic: Array(store.gradient("norm.bias")!))
    }

    /// torch.nn.LayerNorm: biased variance, eps 1e-5 inside the root, weight 1 and bias 0 at start.
    @Test func layerNormUsesTheBiasedVariance() throws {
        let store = ParameterStore()
        let norm = LayerNorm(store: store, name: "n", features: 4)
        store.allocate(seed: 1)
        #expect(store.value("n.weight")!.allSatisfy { $0 == 1 } && store.value("n.bias")!.allSatisfy { $0 == 0 })
        let y = norm.forward(Tensor(shape: Shape(1, 4), values: [1, 2, 3, 6]))
        let variance = (4.0 + 1 + 0 + 9) / 4
        for (i, x) in [1.0, 2, 3, 6].enumerated() {
            #expect(abs(Double(y.data[i]) - (x - 3) / (variance + 1e-5).squareRoot()) < 1e-5)
        }
    }

    @Test func transposeSwapsTheLastTwoDimensions() {
        let t = Transpose()
        let x = randomTensor(Shape(2, 3, 4), seed: 1)
        let y = t.forward(x)
        #expect(y.shape == Shape(2, 4, 3))
        for b in 0..<2 { for r in 0..<3 { for c in 0..<4 { #expect(y.data[(b * 4 + c) * 3 + r] == x.data[(b * 3 + r) * 4 + c]) } } }
        let checker = GradientChecker(seed: 2) { t.forward(x) }
        t.forward(x)
        checker.check("dx", values: x.buffer, analytic: t.backward(checker.upstream).array)
    }

    @Test(arguments: [Float(0), 0.3])
    func selfAttentionBackwardMatchesFiniteDifferences(dropout: Float) throws {
        let store = ParameterStore()
        let attn = SelfAttention(store: store, name: "att", dModel: 6, heads: 2, dropout: dropout)
        store.allocate(seed: 1)
        let x = randomTensor(Shape(2, 4, 6), seed: 3)
        let checker = GradientChecker(seed: 4) { attn.forward(x, training: true, key: 99) }
        #expect(checker.upstream.count == 2 * 4 * 6)
        store.zeroGradients()
        attn.forward(x, training: true, key: 99)
        checker.check("dx", values: x.buffer, analytic: attn.backward(checker.upstream).array)
        for name in ["linear_q", "linear_k", "linear_v", "linear_out"] {
            for part in ["weight", "bias"] {
                let full = "att.\(name).\(part)"
                checker.check(full, values: store.value(full)!, analytic: Array(store.gradient(full)!))
            }
        }
    }

    /// Self-attention over tokens is permutation-equivariant (no positional term):
    /// permuting the tokens of a sample permutes its outputs.
    @Test func selfAttentionIsPermutationEquivariant() throws {
        let store = ParameterStore()
        let attn = SelfAttention(store: store, name: "att", dModel: 6, heads: 3, dropout: 0)
        store.allocate(seed: 2)
        let x = randomTensor(Shape(1, 4, 6), seed: 3)
        let y = attn.forward(x, training: false, key: 0).array
        let perm = [2, 0, 3, 1]
        let px = Tensor(shape: Shape(1, 4, 6), values: perm.flatMap { Array(x.array[($0 * 6)..<($0 * 6 + 6)]) })
        let py = attn.forward(px, training: false, key: 0).array
        for (i, p) in perm.enumerated() {
            for d in 0..<6 { #expect(abs(py[i * 6 + d] - y[p * 6 + d]) < 1e-5) }
        }
    }
}
