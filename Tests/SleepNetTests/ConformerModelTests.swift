import Foundation
import SleepNet
import Testing
import TestSupport
import Basics
import Recordings

/// The Conformer block and AttnSleep with the Conformer encoder (Ex2).
@Suite struct ConformerModelTests {
    static func conformer(_ base: ModelConfig = ModelConfig()) -> ModelConfig {
        var c = base
        c.encoder = .conformer
        return c
    }

    /// Parameter elements of one block, counted from its definition.
    static func blockParameters(dModel D: Int, kernel K: Int, expansion e: Int) -> Int {
        let ffn = 2 * D + (e * D * D + e * D) + (e * D * D + D)
        let mhsa = 2 * D + 4 * (D * D + D)
        let conv = 2 * D + (2 * D * D + 2 * D) + (D * K + D) + 2 * D + (D * D + D)
        return 2 * ffn + mhsa + conv + 2 * D
    }

    /// Every input and parameter gradient of one block (dropout 0, BatchNorm in
    /// training mode) against central differences.
    @Test func conformerBlockBackwardMatchesFiniteDifferences() throws {
        let store = ParameterStore()
        let block = ConformerBlock(store: store, name: "blk", dModel: 8, heads: 2, kernel: 3, expansion: 2, dropout: 0)
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 6)
        #expect(store.parameterCount == Self.blockParameters(dModel: 8, kernel: 3, expansion: 2))
        let x = randomTensor(Shape(3, 5, 8), seed: 2)
        let checker = GradientChecker(seed: 3) {
            var rng = SeededGenerator(seed: 9)
            return block.forward(x, training: true, rng: &rng)
        }
        store.zeroGradients()
        var rng = SeededGenerator(seed: 9)
        block.forward(x, training: true, rng: &rng)
        let dx = block.backward(checker.upstream).array
        checker.check("dx", values: x.buffer, analytic: dx, h: 5e-3)
        for p in store.parameters {
            checker.check(p.name, values: store.value(p.name)!, analytic: Array(store.gradient(p.name)!), h: 5e-3,
                          samples: 16)
        }
    }

    /// 100 Hz (Sleep-EDF) and 125 Hz (SHHS, d_model 100) epochs run through the
    /// whole model, in training and evaluation, with PyTorch-style names.
    @Test(arguments: [false, true])
    func fullModelShapes(shhs: Bool) throws {
        let config = Self.conformer(shhs ? ModelConfig.attnSleepSHHS : ModelConfig())
        let S = shhs ? 3750 : 3000, D = shhs ? 100 : 80
        #expect(config.dModel == D && D % config.heads == 0)
        let model = try SleepModel(config: config, seed: 0)
        let store = model.store
        #expect(store.parameter(named: "tce.layers.1.conv.depthwise_conv.weight")?.shape == [D, 1, 31])
        #expect(store.parameter(named: "tce.layers.0.conv.pointwise_conv1.weight")?.shape == [2 * D, D, 1])
        #expect(store.parameter(named: "tce.layers.0.ffn1.w_1.weight")?.shape == [4 * D, D])
        #expect(store.parameter(named: "tce.layers.1.self_attn.linear_out.weight")?.shape == [D, D])
        #expect(store.buffer(named: "tce.layers.0.conv.batch_norm.running_var")?.shape == [D])
        #expect(store.parameter(named: "tce.layers.0.self_attn.convs.1.weight") == nil)
        #expect(store.parameter(named: "fc.weight")?.shape == [5, 30 * D])
        let tce = store.parameters.filter { $0.name.hasPrefix("tce.") }.map(\.view.count).reduce(0, +)
        #expect(tce == 2 * Self.blockParameters(dModel: D, kernel: 31, expansion: 4))
        let x = SleepModelTests.batch(3, samples: S, seed: 1)
        let logits = try model.forward(x, batch: 3, training: true)
        #expect(logits.shape == Shape(3, 5))
        model.zeroGradients()
        try model.backward(Tensor(shape: Shape(3, 5), values: (0..<15).map { Float($0 % 5) - 2 }))
        let g = Array(store.gradient("tce.layers.0.ffn1.w_1.weight")!)
        #expect(g.allSatisfy { $0.isFinite } && g.contains { $0 != 0 })
        let eval = try model.forward(x, batch: 3, training: false)
        #expect(eval.shape == Shape(3, 5) && eval.array.allSatisfy { $0.isFinite })
    }

    /// A checkpoint of a Conformer model rebuilds the same network.
    @Test func checkpointRoundTripGivesTheSameModel() throws {
        let model = try SleepModel(config: Self.conformer(), seed: 11)
        let x = SleepModelTests.batch(2, seed: 4)
        _ = try model.forward(x, batch: 2, training: true)   // move the running stats off their defaults
        let expected = try model.forward(x, batch: 2, training: false).array
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sleepnet-\(UUID())-conformer.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.saveCheckpoint(to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.tensors["tce.layers.0.conv.depthwise_conv.weight"]?.shape == [80, 1, 31])
        #expect(file.tensors["tce.layers.1.conv.batch_norm.num_batches_tracked"]?.int64s == [1])
        let loaded = try SleepModel.loadCheckpoint(from: url)
        #expect(loaded.config == model.config && loaded.config.encoder == .conformer)
        #expect(try loaded.forward(x, batch: 2, training: false).array == expected)
    }

    /// A few Adam steps on one small batch lower its loss.
    @Test func trainingLowersTheLossOnABatch() throws {
        var config = Self.conformer()
        config.cnnDropout = 0
        config.encoderDropout = 0
        let model = try SleepModel(config: config, seed: 2)
        let adam = Adam(store: model.store, learningRate: 1e-3, weightDecay: 1e-3, amsgrad: true)
        let x = SleepModelTests.batch(4, seed: 9), labels: [Int32] = [0, 1, 2, 3]
        let ce = WeightedCrossEntropy()
        var losses: [Float] = []
        for _ in 0..<5 {
            losses.append(try model.trainStep(x, labels: labels, classWeights: [1, 1, 1, 1, 1], loss: ce, optimizer: adam))
        }
        #expect(losses.last! < losses.first!)
    }

    /// configs/ex2-conformer.json is Ex1 with the Conformer encoder and the same schedule.
    @Test func ex2ConfigIsEx1WithTheConformerEncoder() throws {
        let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs")
        let ex1 = try ExperimentConfig.load(from: configs.appendingPathComponent("ex1-attnsleep.json"))
        let ex2 = try ExperimentConfig.load(from: configs.appendingPathComponent("ex2-conformer.json"))
        #expect(ex2.model == Self.conformer(ex1.model))
        #expect(ex2.training == ex1.training && ex2.training.batchSize == 128)
        #expect(ex2.model.conformerKernel == 31 && ex2.model.conformerExpansion == 4)
    }

    /// An even kernel cannot keep the token count ("same" padding): rejected, naming the field.
    @Test func evenKernelIsRejected() throws {
        var config = Self.conformer()
        config.conformerKernel = 30
        let e = expectError(.invalidConfig, field: "conformerKernel") { _ = try SleepModel(config: config) }
        #expect(e?.message.contains("found 30") == true)
    }
}

/// One block against an independent NumPy implementation of its definition
/// (scripts/make-conformer-fixture.py): same parameters and input, same output.
@Suite struct ConformerReferenceTests {
    @Test func conformerBlockMatchesTheNumPyReference() throws {
        let url = try #require(Bundle.module.url(forResource: "conformer-block-reference", withExtension: "safetensors",
                                                 subdirectory: "Fixtures"))
        let file = try SafeTensorsFile(contentsOf: url)
        let store = ParameterStore()
        let block = ConformerBlock(store: store, name: "blk", dModel: 8, heads: 2, kernel: 3, expansion: 2, dropout: 0)
        store.allocate(seed: 1)
        for p in store.parameters {
            let t = try file.tensor(p.name, source: url.path)
            #expect(t.shape == p.shape, "\(p.name)")
            let v = store.value(p.name)!
            for (i, f) in t.floats.enumerated() { v[i] = f }
        }
        let input = try file.tensor("input", source: url.path), expected = try file.tensor("output", source: url.path)
        var rng = SeededGenerator(seed: 1)
        let y = block.forward(Tensor(shape: Shape(3, 5, 8), values: input.floats), training: true, rng: &rng)
        #expect(y.shape == Shape(3, 5, 8))
        let worst = zip(y.array, expected.floats).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-5, "largest difference from the reference: \(worst)")
    }
}
