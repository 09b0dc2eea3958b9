import Foundation
import SleepNet
import Testing
import Basics

/// The fused convolution + BatchNorm block against finite differences and
/// against the two layers run apart.
@Suite struct ConvBatchNorm1dTests {
    struct Case: Sendable, CustomStringConvertible {
        var conv: ConvCase
        var activation: FusedActivation
        var batch = 3

        var description: String { "\(conv) \(activation) B\(batch)" }
    }

    static let cases: [Case] = [
        Case(conv: ConvCase(inChannels: 3, outChannels: 4, kernel: 3, padding: 1, bias: true), activation: .identity),
        Case(conv: ConvCase(inChannels: 2, outChannels: 5, kernel: 5, stride: 2, padding: 2, length: 17), activation: .gelu),
        // 16 samples of 8 outputs: several samples per GEMM (Conv1d's grouped path).
        Case(conv: ConvCase(inChannels: 3, outChannels: 4, kernel: 3, padding: 1, length: 8), activation: .gelu, batch: 16),
        Case(conv: ConvCase(inChannels: 4, outChannels: 3, kernel: 4, bias: true, causal: true), activation: .relu),
    ]

    /// Builds conv "c" and BatchNorm "bn" in `store`, allocated and randomised.
    static func layers(_ c: Case, store: ParameterStore) -> (Conv1d, BatchNorm1d) {
        let k = c.conv
        let conv = Conv1d(store: store, name: "c", inChannels: k.inChannels, outChannels: k.outChannels,
                          kernel: k.kernel, stride: k.stride, padding: k.padding, dilation: k.dilation,
                          groups: k.groups, bias: k.bias, causal: k.causal)
        let bn = BatchNorm1d(store: store, name: "bn", channels: k.outChannels, activation: c.activation)
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 2)
        for i in 0..<k.outChannels {   // away from γ ≈ 0 and from the default running statistics
            store.value("bn.weight")![i] += i % 2 == 0 ? 1 : -1
            store.bufferValue("bn.running_mean")![i] = 0.1 * Float(i) - 0.2
            store.bufferValue("bn.running_var")![i] = 0.5 + 0.25 * Float(i)
        }
        return (conv, bn)
    }

    @Test(arguments: cases)
    func backwardMatchesFiniteDifferences(_ c: Case) throws {
        let store = ParameterStore()
        let (conv, bn) = Self.layers(c, store: store)
        let block = ConvBatchNorm1d(conv: conv, batchNorm: bn)
        let x = randomTensor(Shape(c.batch, c.conv.inChannels, c.conv.length), seed: 3)
        let checker = GradientChecker(seed: 4) { block.forward(x, training: true) }
        store.zeroGradients()
        block.forward(x, training: true)
        // backward writes over its output gradient: hand it a copy of the upstream gradient.
        let dy = Tensor(shape: checker.upstream.shape, values: checker.upstream.array)
        let dx = block.backward(dy).array
        var named: [(String, UnsafeMutableBufferPointer<Float>, [Float])] = [
            ("dweight", store.value("c.weight")!, Array(store.gradient("c.weight")!)),
            ("dgamma", store.value("bn.weight")!, Array(store.gradient("bn.weight")!)),
            ("dbeta", store.value("bn.bias")!, Array(store.gradient("bn.bias")!)),
        ]
        if c.conv.bias {
            // A bias before a training BatchNorm cancels in the output: its gradient is ~0.
            let db = Array(store.gradient("c.bias")!)
            #expect(db.allSatisfy { abs($0) <= 1e-4 }, "dbias \(db) should vanish")
        }
        if c.activation == .relu {
            checker.checkAwayFromKinks("dx", values: x.buffer, analytic: dx)
            for (name, values, analytic) in named { checker.checkAwayFromKinks(name, values: values, analytic: analytic) }
        } else {
            named.insert(("dx", x.buffer, dx), at: 0)
            for (name, values, analytic) in named { checker.check(name, values: values, analytic: analytic) }
        }
    }

    /// Training: the block gives the same bits as Conv1d then BatchNorm1d run apart (forward,
    /// running statistics, every gradient); evaluation (folded scale and shift) the same within rounding.
    @Test(arguments: cases, [true, false])
    func matchesTheLayersRunApart(_ c: Case, training: Bool) throws {
        let fusedStore = ParameterStore(), apartStore = ParameterStore()
        let (fusedConv, fusedBN) = Self.layers(c, store: fusedStore)
        let (conv, bn) = Self.layers(c, store: apartStore)
        let block = ConvBatchNorm1d(conv: fusedConv, batchNorm: fusedBN)
        let x = randomTensor(Shape(c.batch, c.conv.inChannels, c.conv.length), seed: 5)

        let fused = block.forward(x, training: training).array
        let apart = bn.forward(conv.forward(x, training: training), training: training).array
        #expect(fused.count == apart.count)
        for name in ["bn.running_mean", "bn.running_var"] {
            #expect(Array(fusedStore.bufferValue(name)!) == Array(apartStore.bufferValue(name)!), "\(name)")
        }
        guard training else {
            let scale = max(1, apart.map(abs).max() ?? 0)
            var worst: Float = 0
            for (a, b) in zip(fused, apart) { worst = max(worst, abs(a - b)) }
            #expect(worst <= 1e-6 * scale, "evaluation: max difference \(worst)")
            return
        }
        #expect(fused == apart)

        let upstream = randomTensor(Shape(c.batch, c.conv.outChannels, apart.count / (c.batch * c.conv.outChannels)), seed: 6)
        fusedStore.zeroGradients()
        apartStore.zeroGradients()
        let dyFused = Tensor(shape: upstream.shape, values: upstream.array)
        let dxFused = block.backward(dyFused).array
        let dxApart = conv.backward(bn.backward(upstream)).array
        #expect(dxFused == dxApart)
        for p in apartStore.parameters {
            #expect(Array(fusedStore.gradient(p.name)!) == Array(apartStore.gradient(p.name)!), "d\(p.name)")
        }
    }

    /// The rounding scale of an output is |∂out/∂y|·Σ|w·x|: with identity, |γ|·istd of
    /// the batch statistics; with GELU, also GELU'(z) (checked by a central difference).
    @Test(arguments: [FusedActivation.identity, .gelu])
    func roundingScaleIsSlopeTimesTermSum(activation: FusedActivation) throws {
        let c = Case(conv: ConvCase(inChannels: 3, outChannels: 4, kernel: 3, padding: 1), activation: activation)
        let store = ParameterStore()
        let (conv, bn) = Self.layers(c, store: store)
        let block = ConvBatchNorm1d(conv: conv, batchNorm: bn)
        let x = randomTensor(Shape(c.batch, 3, c.conv.length), seed: 7)
        block.forward(x, training: true)
        let y = conv.output, L = y.shape[2], n = Double(c.batch * L)
        for f in 0..<4 {
            var sum = 0.0, squares = 0.0
            for b in 0..<c.batch { for t in 0..<L { sum += Double(y.data[(b * 4 + f) * L + t]) } }
            let mean = sum / n
            for b in 0..<c.batch { for t in 0..<L { let d = Double(y.data[(b * 4 + f) * L + t]) - mean; squares += d * d } }
            let istd = 1 / (squares / n + 1e-5).squareRoot(), gamma = Double(store.value("bn.weight")![f])
            let beta = Double(store.value("bn.bias")![f])
            for (b, t) in [(0, 0), (1, 5), (2, L - 1)] {
                let z = (Double(y.data[(b * 4 + f) * L + t]) - mean) * istd * gamma + beta
                var slope = abs(gamma * istd)
                if activation == .gelu {
                    func gelu(_ v: Double) -> Double { 0.5 * v * (1 + erf(v / 2.squareRoot())) }
                    slope *= abs((gelu(z + 1e-4) - gelu(z - 1e-4)) / 2e-4)
                }
                let expected = slope * Double(conv.absoluteTermSum(sample: b, channel: f, position: t))
                let got = Double(block.roundingScale(sample: b, channel: f, position: t))
                #expect(abs(got - expected) <= 1e-5 * max(1, expected), "(\(b), \(f), \(t)): \(got) vs \(expected)")
            }
        }
    }
}
