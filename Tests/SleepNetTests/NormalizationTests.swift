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

    /// A few rows (one by one) and many rows (8 at a time, then the rest).
    @Test(arguments: [(rows: 2 * 3, features: 6), (rows: 3 * 6, features: 18)])
    func attnLayerNormBackwardMatchesFiniteDifferences(_ shape: (rows: Int, features: Int)) throws {
        let store = ParameterStore()
        let norm = AttnLayerNorm(store: store, name: "norm", features: shape.features)
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 4)
        let x = randomTensor(Shape(shape.rows, shape.features), seed: 2)
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

    /// Rows run 8 at a time (their sums side by side) and one by one at the end
    /// of a chunk: both give a row the same bits, and the parameter gradients,
    /// 16 features side by side and the rest one by one, are the per-feature
    /// sums over rows in order.
    @Test func attnLayerNormRowsAgreeBitForBit() throws {
        let store = ParameterStore()
        let D = 20, rows = 13
        let norm = AttnLayerNorm(store: store, name: "norm", features: D)
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 4)
        let row = randomTensor(Shape(D), seed: 2, scale: 3).array
        let up = randomTensor(Shape(D), seed: 3).array
        let x = Tensor(shape: Shape(rows, D), values: Array((0..<rows).map { _ in row }.joined()))
        let dy = Tensor(shape: Shape(rows, D), values: Array((0..<rows).map { _ in up }.joined()))
        store.zeroGradients()
        let y = norm.forward(x).array
        let dx = norm.backward(dy).array
        let da = Array(store.gradient("norm.a_2")!), db = Array(store.gradient("norm.b_2")!)
        store.zeroGradients()
        let y1 = norm.forward(Tensor(shape: Shape(1, D), values: row)).array
        let dx1 = norm.backward(Tensor(shape: Shape(1, D), values: up)).array
        let da1 = Array(store.gradient("norm.a_2")!), db1 = Array(store.gradient("norm.b_2")!)
        for r in 0..<rows {
            #expect(Array(y[(r * D)..<((r + 1) * D)]).map(\.bitPattern) == y1.map(\.bitPattern), "row \(r)")
            #expect(Array(dx[(r * D)..<((r + 1) * D)]).map(\.bitPattern) == dx1.map(\.bitPattern), "row \(r)")
        }
        // Σ over rows in order of the one-row terms (each the same here).
        for i in 0..<D {
            var sa: Float = 0, sb: Float = 0
            for _ in 0..<rows {
                sa += da1[i]
                sb += db1[i]
            }
            #expect(da[i].bitPattern == sa.bitPattern && db[i].bitPattern == sb.bitPattern, "feature \(i)")
        }
    }
}
