import SleepNet
import Testing
import TestSupport
import Basics
import Recordings

@Suite struct AttentionTests {
    @Test(arguments: [Float(0), 0.3])
    func multiHeadAttentionBackwardMatchesFiniteDifferences(dropout: Float) throws {
        let store = ParameterStore()
        let attn = MultiHeadAttention(store: store, name: "att", tokens: 4, dModel: 6, heads: 2, kernel: 3,
                                      dropout: dropout)
        store.allocate(seed: 1)
        let q = randomTensor(Shape(2, 4, 6), seed: 2), x = randomTensor(Shape(2, 4, 6), seed: 3)
        let checker = GradientChecker(seed: 4) { attn.forward(query: q, input: x, training: true, key: 99) }
        store.zeroGradients()
        attn.forward(query: q, input: x, training: true, key: 99)
        let (dq, dx) = attn.backward(checker.upstream)
        checker.check("dq", values: q.buffer, analytic: dq.array)
        checker.check("dx", values: x.buffer, analytic: dx.array)
        for name in ["att.convs.1.weight", "att.convs.1.bias", "att.convs.2.weight", "att.convs.2.bias",
                     "att.linear.weight", "att.linear.bias"] {
            checker.check(name, values: store.value(name)!, analytic: Array(store.gradient(name)!))
        }
        // convs.0 is part of the state dict but unused: it gets no gradient.
        #expect(store.parameter(named: "att.convs.0.weight")?.receivesGradient == false)
        #expect(store.gradient("att.convs.0.weight")!.allSatisfy { $0 == 0 })
    }

    /// Evaluation runs the attention core on its own small-matrix path (and, but on
    /// the AVX-512 kernel, the key and value convolutions by Winograd); with no
    /// dropout it must give what the training path gives (up to rounding), at any
    /// thread count bit for bit, for AttnSleep's shape (30 tokens, 5 heads of 16) and
    /// for sizes that are not multiples of 16.
    @Test(arguments: [(30, 80, 5), (7, 6, 2), (17, 40, 2)])
    func evaluationPathMatchesTrainingPath(tokens: Int, dModel: Int, heads: Int) throws {
        let store = ParameterStore()
        let attn = MultiHeadAttention(store: store, name: "att", tokens: tokens, dModel: dModel, heads: heads, kernel: 7,
                                      dropout: 0)
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 6, scale: 1)
        let q = randomTensor(Shape(9, tokens, dModel), seed: 2), x = randomTensor(Shape(9, tokens, dModel), seed: 3)
        let trained = attn.forward(query: q, input: x, training: true, key: 5).array
        let one = ComputeThreads.with(count: 1) { attn.forward(query: q, input: x, training: false, key: 5).array }
        let two = ComputeThreads.with(count: 2) { attn.forward(query: q, input: x, training: false, key: 5).array }
        #expect(one == two)
        let scale = trained.map(abs).max() ?? 1
        var worst: Float = 0
        for (a, b) in zip(one, trained) { worst = max(worst, abs(a - b)) }
        // Where the key and value convolutions run by Winograd in evaluation
        // (`causalConvolutionTile`): its rounding, as WinogradConvolutionTests bound it.
        let tolerance: Float = MultiHeadAttention.causalConvolutionTile > 0 ? 1e-5 : 2e-6
        #expect(worst <= tolerance * scale, "max difference \(worst) against output scale \(scale)")
    }

    /// Softmax rows run 8 at a time and one by one at the end of a chunk (training)
    /// or of a head (evaluation): with every token's query the same, every row of
    /// a head's weights is the same, and so is every output token, bit for bit.
    /// (Training multiplies the weights by the values in an sgemm: OpenBLAS's
    /// rounds its edge rows otherwise, so that case needs sleepfold's own sgemm.)
    @Test(arguments: [true, false])
    func softmaxRowsAgreeBitForBit(training: Bool) throws {
        if training && !GEMMBackend.current.isOwn { return }
        let store = ParameterStore()
        let (T, D) = (30, 80)
        let attn = MultiHeadAttention(store: store, name: "att", tokens: T, dModel: D, heads: 5, kernel: 7, dropout: 0)
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 6, scale: 1)
        let token = randomTensor(Shape(D), seed: 2).array
        let q = Tensor(shape: Shape(3, T, D), values: Array((0..<(3 * T)).map { _ in token }.joined()))
        let x = randomTensor(Shape(3, T, D), seed: 3)
        let y = attn.forward(query: q, input: x, training: training, key: 5).array
        for b in 0..<3 {
            let first = Array(y[(b * T * D)..<(b * T * D + D)]).map(\.bitPattern)
            for i in 1..<T {
                let o = (b * T + i) * D
                #expect(Array(y[o..<(o + D)]).map(\.bitPattern) == first, "sample \(b), token \(i)")
            }
        }
    }

    @Test func squeezeExcitationBackwardMatchesFiniteDifferences() throws {
        let store = ParameterStore()
        let se = SqueezeExcitation(store: store, name: "se", channels: 6, reduction: 2)
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 5, scale: 1)
        let x = randomTensor(Shape(2, 6, 5), seed: 2)
        let checker = GradientChecker(seed: 3) { se.forward(x) }
        store.zeroGradients()
        se.forward(x)
        let dx = se.backward(checker.upstream).array
        checker.check("dx", values: x.buffer, analytic: dx)
        checker.check("fc.0", values: store.value("se.fc.0.weight")!, analytic: Array(store.gradient("se.fc.0.weight")!))
        checker.check("fc.2", values: store.value("se.fc.2.weight")!, analytic: Array(store.gradient("se.fc.2.weight")!))
    }

    @Test(arguments: [true, false])
    func linearBackwardMatchesFiniteDifferences(bias: Bool) throws {
        let store = ParameterStore()
        let fc = Linear(store: store, name: "fc", inFeatures: 5, outFeatures: 3, bias: bias)
        store.allocate(seed: 1)
        let x = randomTensor(Shape(2, 4, 5), seed: 2)
        let checker = GradientChecker(seed: 3) { fc.forward(x) }
        #expect(fc.output.shape == Shape(2, 4, 3))
        store.zeroGradients()
        fc.forward(x)
        checker.check("dx", values: x.buffer, analytic: fc.backward(checker.upstream).array)
        checker.check("dweight", values: store.value("fc.weight")!, analytic: Array(store.gradient("fc.weight")!))
        if bias { checker.check("dbias", values: store.value("fc.bias")!, analytic: Array(store.gradient("fc.bias")!)) }
    }

    /// A (B, T, D) input whose last dimension is not in_features is flattened per sample.
    @Test func linearFlattensEachSample() throws {
        let store = ParameterStore()
        let fc = Linear(store: store, name: "fc", inFeatures: 6, outFeatures: 2)
        store.allocate(seed: 1)
        let y = fc.forward(randomTensor(Shape(3, 2, 3), seed: 2))
        #expect(y.shape == Shape(3, 2))
    }

    @Test func weightedCrossEntropyMatchesDefinitionAndFiniteDifferences() throws {
        let ce = WeightedCrossEntropy()
        let logits = randomTensor(Shape(4, 5), seed: 1, scale: 2)
        let labels: [Int32] = [0, 3, 3, 1]
        let weights: [Float] = [1, 2.5, 0.7, 1.3, 0.4]
        let loss = try labels.withUnsafeBufferPointer { try ce.forward(logits: logits, labels: $0, classWeights: weights) }
        var num = 0.0, den = 0.0
        for i in 0..<4 {
            let row = (0..<5).map { Double(logits.data[i * 5 + $0]) }
            let lse = log(row.map { exp($0) }.reduce(0, +))
            let w = Double(weights[Int(labels[i])])
            num += w * (lse - row[Int(labels[i])])
            den += w
        }
        #expect(abs(Double(loss) - num / den) < 1e-6)
        let analytic = ce.logitsGradient.array
        for i in stride(from: 0, to: 20, by: 3) {
            let saved = logits.data[i]
            let h: Float = 1e-2
            logits.data[i] = saved + h
            let plus = try labels.withUnsafeBufferPointer { try ce.forward(logits: logits, labels: $0, classWeights: weights) }
            logits.data[i] = saved - h
            let minus = try labels.withUnsafeBufferPointer { try ce.forward(logits: logits, labels: $0, classWeights: weights) }
            logits.data[i] = saved
            #expect(abs((plus - minus) / (2 * h) - analytic[i]) < 1e-3)
        }
    }

    @Test func weightedCrossEntropyRejectsBadLabels() {
        let ce = WeightedCrossEntropy()
        let logits = randomTensor(Shape(2, 5), seed: 1)
        let label = expectError(.invalidConfig, field: "loss labels[1]") {
            _ = try [Int32(0), 5].withUnsafeBufferPointer { try ce.forward(logits: logits, labels: $0, classWeights: [1, 1, 1, 1, 1]) }
        }
        #expect(label?.message == "found 5, expected a class in 0..<5")
        expectError(.shapeMismatch, field: "loss class weights") {
            _ = try [Int32(0), 1].withUnsafeBufferPointer { try ce.forward(logits: logits, labels: $0, classWeights: [1, 1]) }
        }
        expectError(.shapeMismatch, field: "loss labels") {
            _ = try [Int32(0)].withUnsafeBufferPointer { try ce.forward(logits: logits, labels: $0, classWeights: [1, 1, 1, 1, 1]) }
        }
    }
}

import Foundation
