import Foundation
import SleepNet
import Testing
import TestSupport
import Basics
import Recordings
import Evaluation

@Suite struct SleepModelTests {
    static func batch(_ b: Int, samples: Int = 3000, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<(b * samples)).map { _ in Float(rng.nextGaussian()) * 20 }
    }

    /// AttnSleep's structure, narrower (full-size inputs: the fine branch is chunked).
    static var narrow: ModelConfig {
        var config = ModelConfig()
        config.cnnChannels = 32
        config.afrChannels = 8
        config.heads = 4
        config.dFF = 32
        return config
    }

    /// AttnSleep has 522,805 parameters under PyTorch's names.
    @Test func attnSleepHasTheReferenceParameters() throws {
        let model = try SleepModel(config: ModelConfig(), seed: 0)
        #expect(model.parameterCount == 522_805)
        #expect(model.store.parameter(named: "mrcnn.features1.0.weight")?.shape == [64, 1, 50])
        #expect(model.store.parameter(named: "tce.layers.1.self_attn.convs.1.weight")?.shape == [30, 30, 7])
        #expect(model.store.parameter(named: "fc.weight")?.shape == [5, 2400])
        #expect(model.store.buffer(named: "mrcnn.AFR.0.bn1.running_var")?.shape == [30])
        #expect(model.store.counterIndex(named: "mrcnn.features2.9.num_batches_tracked") != nil)
        let frozen = model.store.parameters.filter { !$0.receivesGradient }.map(\.name).sorted()
        #expect(frozen == (0..<2).flatMap { i in
            ["tce.layers.\(i).self_attn.convs.0.bias", "tce.layers.\(i).self_attn.convs.0.weight",
             "tce.layers.\(i).sublayer_output.0.norm.a_2", "tce.layers.\(i).sublayer_output.0.norm.b_2"]
        }.sorted())
    }

    /// The reference initialisation: plain convs N(0, 0.02), BN weight N(1, 0.02), bias 0,
    /// PyTorch's uniform(±1/√fan_in) for causal convs and linear layers; same seed, same weights.
    @Test func initialisationFollowsTheReferenceAndTheSeed() throws {
        let a = try SleepModel(seed: 7), b = try SleepModel(seed: 7), c = try SleepModel(seed: 8)
        let w = Array(a.store.value("mrcnn.features1.8.weight")!)
        let mean = w.reduce(0, +) / Float(w.count)
        let std = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(w.count)).squareRoot()
        #expect(abs(mean) < 0.001 && abs(std - 0.02) < 0.001)
        let bn = Array(a.store.value("mrcnn.features1.9.weight")!)
        #expect(abs(bn.reduce(0, +) / Float(bn.count) - 1) < 0.01)
        #expect(a.store.value("mrcnn.features1.9.bias")!.allSatisfy { $0 == 0 })
        let bound = 1 / Float(30 * 7).squareRoot()
        let causal = Array(a.store.value("tce.layers.0.conv.weight")!)
        #expect(causal.allSatisfy { abs($0) <= bound } && causal.map { abs($0) }.max()! > 0.9 * bound)
        #expect(a.store.value("fc.weight")!.allSatisfy { abs($0) <= 1 / Float(2400).squareRoot() })
        #expect(Array(a.store.value("fc.weight")!) == Array(b.store.value("fc.weight")!))
        #expect(Array(a.store.value("fc.weight")!) != Array(c.store.value("fc.weight")!))
    }

    @Test func shhsVariantBuildsAndRuns() throws {
        let config = ModelConfig.attnSleepSHHS
        #expect(config.featureLength == 100)
        let model = try SleepModel(config: config, seed: 0)
        let logits = try model.forward(Self.batch(2, samples: 3750, seed: 1), batch: 2, training: false)
        #expect(logits.shape == Shape(2, 5))
    }

    @Test func badConfigAndInputAreReportedNotCrashed() throws {
        var config = ModelConfig()
        config.dModel = 81
        let e = expectError(.invalidConfig, file: "model config", field: "dModel") { _ = try SleepModel(config: config) }
        #expect(e?.message.hasPrefix("found 81, expected 80") == true)
        let model = try SleepModel()
        expectError(.shapeMismatch, field: "forward input") {
            _ = try model.forward([Float](repeating: 0, count: 2999), batch: 1, training: false)
        }
        // Evaluation keeps nothing for backward: asking for it is an error, not garbage.
        _ = try model.forward(Self.batch(1, seed: 2), batch: 1, training: false)
        expectError(.invalidConfig, field: "backward") { try model.backward(Tensor(shape: Shape(1, 5))) }
        _ = try model.forward(Self.batch(1, seed: 2), batch: 1, training: true)
        expectError(.shapeMismatch, field: "backward logits gradient") { try model.backward(Tensor(shape: Shape(2, 5))) }
    }

    /// A few steps on one small batch lower its loss (the pieces train together).
    @Test func trainingLowersTheLossOnABatch() throws {
        var config = ModelConfig()
        config.cnnDropout = 0
        config.encoderDropout = 0
        let model = try SleepModel(config: config, seed: 2)
        let adam = Adam(store: model.store, learningRate: 1e-3, weightDecay: 1e-3, amsgrad: true)
        let x = Self.batch(4, seed: 9), labels: [Int32] = [0, 1, 2, 3]
        let ce = WeightedCrossEntropy()
        var losses: [Float] = []
        for _ in 0..<5 {
            losses.append(try model.trainStep(x, labels: labels, classWeights: [1, 1, 1, 1, 1], loss: ce, optimizer: adam))
        }
        #expect(losses.last! < losses.first!)
        #expect(adam.stepCount == 5)
    }

    /// Probabilities are the softmax of the evaluation logits; labels their argmax.
    @Test func predictGivesProbabilitiesAndLabels() throws {
        let model = try SleepModel(seed: 4)
        let x = Self.batch(3, seed: 6)
        let logits = try model.forward(x, batch: 3, training: false).array
        let (labels, p) = try model.predict(x, batch: 3)
        for i in 0..<3 {
            let row = Array(p[(i * 5)..<(i * 5 + 5)])
            #expect(abs(row.reduce(0, +) - 1) < 1e-5)
            let z = Array(logits[(i * 5)..<(i * 5 + 5)])
            #expect(Int(labels[i]) == z.firstIndex(of: z.max()!)!)
            #expect(abs(log(row[0] / row[1]) - (z[0] - z[1])) < 1e-4)
        }
    }

    /// An evaluation batch gives every sample what it gets alone: 37 samples run as
    /// slices of 32 and 5, the fine branch (64 first channels: chunked) of the first
    /// slice as chunks of 16 and 16. On
    /// sleepfold's own sgemm every output is summed in the same order whatever the
    /// samples beside it: the same bits; OpenBLAS picks its kernels by the matrix
    /// sizes, so there only within rounding (a misplaced chunk is off by 1e-2 or more).
    @Test func evaluationOfABatchMatchesEachSampleAlone() throws {
        let config = Self.narrow
        let model = try SleepModel(config: config, seed: 7)
        let B = 37, S = config.inputSamples
        let x = Self.batch(B, seed: 8)
        let together = try model.forward(x, batch: B, training: false).array
        #expect(together.count == B * 5)
        for b in [0, 15, 16, 31, 32, 36] {
            let alone = try model.forward(Array(x[(b * S)..<((b + 1) * S)]), batch: 1, training: false).array
            let batched = Array(together[(b * 5)..<(b * 5 + 5)])
            if GEMMBackend.current.isOwn {
                #expect(alone == batched, "sample \(b)")
            } else {
                #expect(zip(alone, batched).allSatisfy { abs($0 - $1) <= 1e-5 }, "sample \(b): \(alone) vs \(batched)")
            }
        }
    }

    /// An evaluation batch larger than a slice runs slice by slice, the slices spread
    /// over the threads, each on its own model (this one or a replica): the same bits
    /// at 1 and 2 threads, also after the weights and BatchNorm statistics change
    /// (the replicas take them again before every forward), and a profiler sees every
    /// slice's layers whatever thread ran them.
    @Test func evaluationSlicesGiveTheSameBitsAtAnyThreadCount() throws {
        let config = Self.narrow
        let model = try SleepModel(config: config, seed: 7)
        let B = 2 * SleepModel.evaluationSlice + 6, S = config.inputSamples
        let x = Self.batch(B, seed: 9)
        func evaluate(threads: Int) throws -> [Float] {
            try ComputeThreads.with(count: threads) { try model.forward(x, batch: B, training: false).array }
        }
        let one = try evaluate(threads: 1), two = try evaluate(threads: 2)
        #expect(one.count == B * 5 && one.allSatisfy(\.isFinite))
        #expect(one == two)
        // Every slice is the model on its samples alone (sample 40: the second slice).
        let alone = try model.forward(Array(x[(40 * S)..<(41 * S)]), batch: 1, training: false).array
        if GEMMBackend.current.isOwn { #expect(alone == Array(one[200..<205])) }

        // More threads than slices: 2 slices on 2 lanes of 2 threads each.
        let pair = Self.batch(40, seed: 10)
        let pairOne = try ComputeThreads.with(count: 1) { try model.forward(pair, batch: 40, training: false).array }
        let pairFour = try ComputeThreads.with(count: 4) { try model.forward(pair, batch: 40, training: false).array }
        #expect(pairOne == pairFour)
        // New weights and statistics reach the replicas.
        for i in 0..<model.store.parameterCount { model.store.values[i] *= 1.01 }
        for i in 0..<model.store.bufferCount { model.store.bufferValues[i] *= 1.02 }
        let oneAfter = try evaluate(threads: 1), twoAfter = try evaluate(threads: 2)
        #expect(oneAfter != one)
        #expect(oneAfter == twoAfter)
        // A model that never saw the old weights gives the same bits: each forward's
        // first slice compares the weights its Winograd layers transformed (the later
        // slices of one forward keep them without comparing, `valuesSettled`).
        let fresh = try SleepModel(config: config, seed: 8)
        fresh.store.values.update(from: model.store.values, count: model.store.parameterCount)
        fresh.store.bufferValues.update(from: model.store.bufferValues, count: model.store.bufferCount)
        #expect(try fresh.forward(x, batch: B, training: false).array == oneAfter)

        // Profiled, a layer has as many calls and FLOPs at 2 threads as at 1 (each
        // lane's scopes are added to the profiler after), and the logits are the same.
        func profile(threads: Int) throws -> [String: (calls: Int, flops: Int)] {
            let profiler = Profiler()
            #expect(try profiler.run { try evaluate(threads: threads) } == oneAfter)
            var rows: [String: (calls: Int, flops: Int)] = [:]
            for e in profiler.results where e.pass == .evaluation { rows[e.name] = (e.calls, e.gemmSelfFLOPs) }
            return rows
        }
        let profileOne = try profile(threads: 1), profileTwo = try profile(threads: 2)
        #expect(profileOne.keys.sorted() == profileTwo.keys.sorted())
        for (name, row) in profileOne { #expect(profileTwo[name]! == row, "\(name)") }
        #expect((profileOne["mrcnn.features1.0"]?.flops ?? 0) > 0)
    }
}
