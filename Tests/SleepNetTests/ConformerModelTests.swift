import Foundation
import SleepNet
import Testing
import TestSupport
import Basics
import Recordings

/// The Conformer block and AttnSleep with the Conformer encoder (Ex2).
@Suite struct ConformerModelTests {
    /// Ex2's encoder on `base`: Conformer blocks whose convolution runs along time, kernel 7.
    static func conformer(_ base: ModelConfig = ModelConfig()) -> ModelConfig {
        var c = base
        c.encoder = .conformer
        c.conformerConvolution = .time
        c.conformerKernel = 7
        return c
    }

    /// The first Ex2 (configs/ex2b-conformer-tokens.json): convolution along the tokens, kernel 31.
    static func conformerOverTokens(_ base: ModelConfig = ModelConfig()) -> ModelConfig {
        var c = base
        c.encoder = .conformer
        c.conformerConvolution = .tokens
        c.conformerKernel = 31
        return c
    }

    /// Parameter elements of one block, counted from its definition: the convolution
    /// module's channels are the T tokens along time, the D features along the tokens.
    static func blockParameters(tokens T: Int, dModel D: Int, axis: ConformerConvolutionAxis, kernel K: Int,
                                expansion e: Int) -> Int {
        let ffn = 2 * D + (e * D * D + e * D) + (e * D * D + D)
        let mhsa = 2 * D + 4 * (D * D + D)
        let C = axis == .time ? T : D
        let conv = 2 * D + (2 * C * C + 2 * C) + (C * K + C) + 2 * C + (C * C + C)
        return 2 * ffn + mhsa + conv + 2 * D
    }

    /// Every input and parameter gradient of one block (dropout 0, BatchNorm in
    /// training mode) against central differences, for either convolution axis.
    @Test(arguments: ConformerConvolutionAxis.allCases)
    func conformerBlockBackwardMatchesFiniteDifferences(axis: ConformerConvolutionAxis) throws {
        let store = ParameterStore()
        let block = ConformerBlock(store: store, name: "blk", tokens: 5, dModel: 8, heads: 2, convolutionAxis: axis,
                                   kernel: 3, expansion: 2, dropout: 0)
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 6)
        #expect(store.parameterCount == Self.blockParameters(tokens: 5, dModel: 8, axis: axis, kernel: 3, expansion: 2))
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

    /// Along time the module's convolutions are initialised as the reference initialises
    /// AttnSleep's (weights N(0, 0.02), BatchNorm weights N(1, 0.02), biases 0); along the
    /// tokens they keep PyTorch's defaults, as the first Ex2 had them.
    @Test(arguments: ConformerConvolutionAxis.allCases)
    func convolutionModuleInitialisation(axis: ConformerConvolutionAxis) throws {
        let config = axis == .time ? Self.conformer() : Self.conformerOverTokens()
        let store = try SleepModel(config: config, seed: 3).store
        let w = Array(store.value("tce.layers.0.conv.pointwise_conv1.weight")!).map(Double.init)
        let mean = w.reduce(0, +) / Double(w.count)
        let std = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(w.count)).squareRoot()
        let bn = Array(store.value("tce.layers.1.conv.batch_norm.weight")!)
        if axis == .time {
            #expect(w.count == 60 * 30 && abs(mean) < 0.003 && abs(std - 0.02) < 0.002, "mean \(mean), std \(std)")
            #expect(bn.count == 30 && bn.allSatisfy { abs($0 - 1) < 0.1 } && bn.contains { $0 != 1 })
        } else {
            // uniform(±1/√80): std 1/√240 ≈ 0.065
            #expect(w.count == 160 * 80 && abs(std - 1 / 240.0.squareRoot()) < 0.003, "std \(std)")
            #expect(bn.count == 80 && bn.allSatisfy { $0 == 1 })
        }
        #expect(store.value("tce.layers.0.conv.batch_norm.bias")!.allSatisfy { $0 == 0 })
    }

    /// 100 Hz (Sleep-EDF) and 125 Hz (SHHS, d_model 100) epochs run through the
    /// whole model, in training and evaluation, with PyTorch-style names: the
    /// convolution module's channels are the 30 recalibrated channels, its kernel runs
    /// along the D time steps.
    @Test(arguments: [false, true])
    func fullModelShapes(shhs: Bool) throws {
        let config = Self.conformer(shhs ? ModelConfig.attnSleepSHHS : ModelConfig())
        let S = shhs ? 3750 : 3000, D = shhs ? 100 : 80, T = 30
        #expect(config.dModel == D && D % config.heads == 0)
        let model = try SleepModel(config: config, seed: 0)
        let store = model.store
        #expect(store.parameter(named: "tce.layers.1.conv.depthwise_conv.weight")?.shape == [T, 1, 7])
        #expect(store.parameter(named: "tce.layers.0.conv.pointwise_conv1.weight")?.shape == [2 * T, T, 1])
        #expect(store.parameter(named: "tce.layers.0.conv.pointwise_conv2.weight")?.shape == [T, T, 1])
        #expect(store.parameter(named: "tce.layers.0.conv.norm.weight")?.shape == [D])
        #expect(store.parameter(named: "tce.layers.0.ffn1.w_1.weight")?.shape == [4 * D, D])
        #expect(store.parameter(named: "tce.layers.1.self_attn.linear_out.weight")?.shape == [D, D])
        #expect(store.buffer(named: "tce.layers.0.conv.batch_norm.running_var")?.shape == [T])
        #expect(store.parameter(named: "tce.layers.0.self_attn.convs.1.weight") == nil)
        #expect(store.parameter(named: "fc.weight")?.shape == [5, 30 * D])
        let tce = store.parameters.filter { $0.name.hasPrefix("tce.") }.map(\.view.count).reduce(0, +)
        #expect(tce == 2 * Self.blockParameters(tokens: T, dModel: D, axis: .time, kernel: 7, expansion: 4))
        let x = SleepModelTests.batch(3, samples: S, seed: 1)
        let logits = try model.forward(x, batch: 3, training: true)
        #expect(logits.shape == Shape(3, 5))
        model.zeroGradients()
        try model.backward(Tensor(shape: Shape(3, 5), values: (0..<15).map { Float($0 % 5) - 2 }))
        for name in ["tce.layers.0.ffn1.w_1.weight", "tce.layers.0.conv.depthwise_conv.weight"] {
            let g = Array(store.gradient(name)!)
            #expect(g.allSatisfy { $0.isFinite } && g.contains { $0 != 0 }, "\(name)")
        }
        let eval = try model.forward(x, batch: 3, training: false)
        #expect(eval.shape == Shape(3, 5) && eval.array.allSatisfy { $0.isFinite })
    }

    /// The first Ex2 still builds its network: features as channels, kernel 31 along the tokens.
    @Test func tokensAxisKeepsTheFirstDesign() throws {
        let model = try SleepModel(config: Self.conformerOverTokens(), seed: 0)
        #expect(model.store.parameter(named: "tce.layers.1.conv.depthwise_conv.weight")?.shape == [80, 1, 31])
        #expect(model.store.parameter(named: "tce.layers.0.conv.pointwise_conv1.weight")?.shape == [160, 80, 1])
        let tce = model.store.parameters.filter { $0.name.hasPrefix("tce.") }.map(\.view.count).reduce(0, +)
        #expect(tce == 2 * Self.blockParameters(tokens: 30, dModel: 80, axis: .tokens, kernel: 31, expansion: 4))
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
        #expect(file.tensors["tce.layers.0.conv.depthwise_conv.weight"]?.shape == [30, 1, 7])
        #expect(file.tensors["tce.layers.1.conv.batch_norm.num_batches_tracked"]?.int64s == [1])
        let loaded = try SleepModel.loadCheckpoint(from: url)
        #expect(loaded.config == model.config && loaded.config.encoder == .conformer)
        #expect(loaded.config.conformerConvolution == .time)
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

    /// configs/ex2-conformer.json is Ex1 with the Conformer encoder (convolution along
    /// time, kernel 7) and the same schedule; ex2b-conformer-tokens.json is the first Ex2.
    @Test func ex2ConfigIsEx1WithTheConformerEncoder() throws {
        let configs = SHHSModelTests.configsDirectory
        let ex1 = try ExperimentConfig.load(from: configs.appendingPathComponent("ex1-attnsleep.json"))
        let ex2 = try ExperimentConfig.load(from: configs.appendingPathComponent("ex2-conformer.json"))
        let ex2b = try ExperimentConfig.load(from: configs.appendingPathComponent("ex2b-conformer-tokens.json"))
        #expect(ex2.model == Self.conformer(ex1.model))
        #expect(ex2.training == ex1.training && ex2.training.batchSize == 128)
        #expect(ex2.model.conformerKernel == 7 && ex2.model.conformerExpansion == 4)
        #expect(ex2b.model == Self.conformerOverTokens(ex1.model) && ex2b.training == ex1.training)
        let small2 = try ExperimentConfig.load(from: configs.appendingPathComponent("small/ex2-conformer.json"))
        let small2b = try ExperimentConfig.load(from: configs.appendingPathComponent("small/ex2b-conformer-tokens.json"))
        #expect(small2.model.conformerConvolution == .time && small2.model.conformerKernel == 7)
        #expect(small2b.model == Self.conformerOverTokens(small2.model))
    }

    /// A config written before `conformerConvolution` existed (the first Ex2, every other
    /// field explicit, as checkpoints store it) decodes to the network it described.
    @Test func configWithoutTheAxisDecodesToTheFirstDesign() throws {
        let json = #"{"encoder": "conformer", "conformerKernel": 31, "conformerExpansion": 4}"#
        let config = try JSONDecoder().decode(ModelConfig.self, from: Data(json.utf8))
        #expect(config == Self.conformerOverTokens())
        let reencoded = try JSONDecoder().decode(ModelConfig.self, from: JSONEncoder().encode(Self.conformer()))
        #expect(reencoded == Self.conformer())
    }

    /// Along time the kernel must fit the dModel steps: rejected, naming the field.
    @Test func kernelLongerThanTheTimeAxisIsRejected() throws {
        var config = Self.conformer()
        config.conformerKernel = 81
        let e = expectError(.invalidConfig, field: "conformerKernel") { _ = try SleepModel(config: config) }
        #expect(e?.message.contains("found 81") == true && e?.message.contains("80") == true)
        config.conformerKernel = 79
        _ = try SleepModel(config: config)
    }

    /// An even kernel cannot keep the token count ("same" padding): rejected, naming the field.
    @Test func evenKernelIsRejected() throws {
        var config = Self.conformer()
        config.conformerKernel = 30
        let e = expectError(.invalidConfig, field: "conformerKernel") { _ = try SleepModel(config: config) }
        #expect(e?.message.contains("found 30") == true)
    }
}

/// One block against independent NumPy implementations of its definition: the first
/// design's forward (scripts/make-conformer-fixture.py), and Ex2's forward and every
/// gradient (scripts/make-conformer-time-fixture.py; float64 central differences).
@Suite struct ConformerReferenceTests {
    static func fixture(_ name: String) throws -> (SafeTensorsFile, String) {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures"))
        return (try SafeTensorsFile(contentsOf: url), url.path)
    }

    static func load(_ store: ParameterStore, from file: SafeTensorsFile, source: String) throws {
        for p in store.parameters {
            let t = try file.tensor(p.name, source: source)
            #expect(t.shape == p.shape, "\(p.name)")
            let v = store.value(p.name)!
            for (i, f) in t.floats.enumerated() { v[i] = f }
        }
    }

    @Test func tokensBlockMatchesTheNumPyReference() throws {
        let (file, source) = try Self.fixture("conformer-block-reference")
        let store = ParameterStore()
        let block = ConformerBlock(store: store, name: "blk", tokens: 5, dModel: 8, heads: 2, convolutionAxis: .tokens,
                                   kernel: 3, expansion: 2, dropout: 0)
        store.allocate(seed: 1)
        try Self.load(store, from: file, source: source)
        let input = try file.tensor("input", source: source), expected = try file.tensor("output", source: source)
        var rng = SeededGenerator(seed: 1)
        let y = block.forward(Tensor(shape: Shape(3, 5, 8), values: input.floats), training: true, rng: &rng)
        #expect(y.shape == Shape(3, 5, 8))
        let worst = zip(y.array, expected.floats).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-5, "largest difference from the reference: \(worst)")
    }

    /// Forward and backward of Ex2's block (convolution along time) against the reference.
    @Test func timeBlockMatchesTheNumPyReference() throws {
        let (file, source) = try Self.fixture("conformer-time-block-reference")
        let store = ParameterStore()
        let block = ConformerBlock(store: store, name: "blk", tokens: 5, dModel: 9, heads: 3, convolutionAxis: .time,
                                   kernel: 3, expansion: 2, dropout: 0)
        store.allocate(seed: 1)
        try Self.load(store, from: file, source: source)
        let input = try file.tensor("input", source: source), expected = try file.tensor("output", source: source)
        #expect(input.shape == [3, 5, 9])
        var rng = SeededGenerator(seed: 1)
        let y = block.forward(Tensor(shape: Shape(3, 5, 9), values: input.floats), training: true, rng: &rng)
        let worst = zip(y.array, expected.floats).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-5, "output: largest difference from the reference \(worst)")
        store.zeroGradients()
        let upstream = try file.tensor("upstream", source: source)
        let dx = block.backward(Tensor(shape: Shape(3, 5, 9), values: upstream.floats)).array
        expectClose("input", dx, try file.tensor("grad.input", source: source).floats)
        for p in store.parameters {
            expectClose(p.name, Array(store.gradient(p.name)!), try file.tensor("grad." + p.name, source: source).floats)
        }
    }
}

/// |a − b| ≤ 1e-4 + 1e-3 · max|b| elementwise (float32 against a float64 reference).
func expectClose(_ name: String, _ a: [Float], _ b: [Float], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, "\(name): \(a.count) values, reference \(b.count)", sourceLocation: sourceLocation)
    let scale = b.map { abs($0) }.max() ?? 0
    #expect(scale > 0, "\(name): reference gradient all zero", sourceLocation: sourceLocation)
    let tol = 1e-4 + 1e-3 * scale
    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    #expect(worst <= tol, "\(name): largest difference \(worst), tolerance \(tol)", sourceLocation: sourceLocation)
}
