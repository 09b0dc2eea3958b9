import SleepNet
import Testing
import Basics
import Recordings
import Evaluation

@Suite struct NormalizationTests {
    @Test(arguments: [true, false])
    func batchNormBackwardMatchesFiniteDifferences(training: Bool) throws {
        let store = ParameterStore()
        let bn = BatchNorm1d(store: store, name: "bn", channels: 3)
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 9)
        let mean = store.bufferValue("bn.running_mean")!, variance = store.bufferValue("bn.running_var")!
        for (i, (m, v)) in zip([Float(0.1), -0.2, 0.3], [Float(0.5), 1.5, 2.0]).enumerated() {
            mean[i] = m
            variance[i] = v
        }
        let x = randomTensor(Shape(4, 3, 5), seed: 2)
        let checker = GradientChecker(seed: 3) { bn.forward(x, training: training) }
        store.zeroGradients()
        bn.forward(x, training: training)
        let dx = bn.backward(checker.upstream).array
        checker.check("dx", values: x.buffer, analytic: dx)
        checker.check("dweight", values: store.value("bn.weight")!, analytic: Array(store.gradient("bn.weight")!))
        checker.check("dbias", values: store.value("bn.bias")!, analytic: Array(store.gradient("bn.bias")!))
    }

    /// Train mode: output normalised by the biased variance; running var updated
    /// with the unbiased one (momentum 0.1); num_batches_tracked counts.
    @Test func batchNormTrainingUpdatesRunningStatistics() throws {
        let store = ParameterStore()
        let bn = BatchNorm1d(store: store, name: "bn", channels: 2)
        store.allocate(seed: 1)
        let x = randomTensor(Shape(3, 2, 4), seed: 5, scale: 3)
        let y = bn.forward(x, training: true)
        for c in 0..<2 {
            var v: [Double] = []
            for b in 0..<3 { for t in 0..<4 { v.append(Double(x.data[(b * 2 + c) * 4 + t])) } }
            let mean = v.reduce(0, +) / 12
            let ss = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
            #expect(abs(Double(store.bufferValue("bn.running_mean")![c]) - 0.1 * mean) < 1e-6)
            #expect(abs(Double(store.bufferValue("bn.running_var")![c]) - (0.9 + 0.1 * ss / 11)) < 1e-5)
            let w = Double(store.value("bn.weight")![c])
            let first = (v[0] - mean) / (ss / 12 + 1e-5).squareRoot() * w
            #expect(abs(Double(y.data[c * 4]) - first) < 1e-5)
        }
        #expect(store.counters[store.counterIndex(named: "bn.num_batches_tracked")!] == 1)
        bn.forward(x, training: false)
        #expect(store.counters[store.counterIndex(named: "bn.num_batches_tracked")!] == 1)
    }

    @Test func attnLayerNormBackwardMatchesFiniteDifferences() throws {
        let store = ParameterStore()
        let norm = AttnLayerNorm(store: store, name: "norm", features: 6)
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 4)
        let x = randomTensor(Shape(2, 3, 6), seed: 2)
        let checker = GradientChecker(seed: 3) { norm.forward(x) }
        store.zeroGradients()
        norm.forward(x)
        let dx = norm.backward(checker.upstream).array
        checker.check("dx", values: x.buffer, analytic: dx)
        checker.check("da_2", values: store.value("norm.a_2")!, analytic: Array(store.gradient("norm.a_2")!))
        checker.check("db_2", values: store.value("norm.b_2")!, analytic: Array(store.gradient("norm.b_2")!))
    }

    /// a_2·(x − mean)/(std + eps) + b_2 with the unbiased std.
    @Test func attnLayerNormUsesUnbiasedStd() throws {
        let store = ParameterStore()
        let norm = AttnLayerNorm(store: store, name: "n", features: 4)
        store.allocate(seed: 1)
        let y = norm.forward(Tensor(shape: Shape(1, 4), values: [1, 2, 3, 6]))
        let std = ((4.0 + 1 + 0 + 9) / 3).squareRoot()
        for (i, x) in [1.0, 2, 3, 6].enumerated() {
            #expect(abs(Double(y.data[i]) - (x - 3) / (std + 1e-6)) < 1e-5)
        }
    }
}
