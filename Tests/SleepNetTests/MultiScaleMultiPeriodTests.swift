import Foundation
import SleepNet
import Testing
import TestSupport
import Basics
import Recordings
import Evaluation

/// Conv2d, the multi-period block and the multi-scale multi-period (msmp) feature extractor.
@Suite struct MultiScaleMultiPeriodTests {
    @Test(arguments: [(1, 3, 4, 5), (3, 2, 3, 7), (5, 3, 2, 6)])
    func conv2dBackwardMatchesFiniteDifferences(kernel: Int, channels: Int, height: Int, width: Int) throws {
        let store = ParameterStore()
        let conv = Conv2d(store: store, name: "c", inChannels: channels, outChannels: 2, kernel: kernel)
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 2)
        let x = randomTensor(Shape(channels, height, width), seed: 3)
        let area = height * width
        let columns = UnsafeMutablePointer<Float>.allocate(capacity: conv.columnCount(height: height, width: width))
        let columnGradient = UnsafeMutablePointer<Float>.allocate(capacity: conv.columnCount(height: height, width: width))
        defer { columns.deallocate(); columnGradient.deallocate() }
        let out = Tensor(shape: Shape(2, height, width))
        let checker = GradientChecker(seed: 4) {
            conv.forward(x.data, height: height, width: width, columns: columns, out: out.data, scale: 0.5)
            return out
        }
        // Against a direct sum with zero padding (PyTorch's definition).
        let w = store.value("c.weight")!, b = store.value("c.bias")!
        conv.forward(x.data, height: height, width: width, columns: columns, out: out.data, scale: 0.5)
        let pad = kernel / 2
        for f in 0..<2 { for h in 0..<height { for v in 0..<width {
            var s = b[f]
            for c in 0..<channels { for i in 0..<kernel { for j in 0..<kernel {
                let sh = h + i - pad, sw = v + j - pad
                if sh >= 0 && sh < height && sw >= 0 && sw < width {
                    s += w[((f * channels + c) * kernel + i) * kernel + j] * x.data[(c * height + sh) * width + sw]
                }
            } } }
            #expect(abs(0.5 * s - out.data[(f * height + h) * width + v]) < 1e-5)
        } } }
        store.zeroGradients()
        let dx = Tensor(shape: x.shape)
        conv.backward(checker.upstream.data, input: x.data, height: height, width: width, columns: columns,
                      columnGradient: columnGradient, inputGradient: dx.data, scale: 0.5)
        #expect(area > 0)
        checker.check("dx", values: x.buffer, analytic: dx.array)
        checker.check("dweight", values: store.value("c.weight")!, analytic: Array(store.gradient("c.weight")!))
        checker.check("dbias", values: store.value("c.bias")!, analytic: Array(store.gradient("c.bias")!))
    }

    /// A sequence with clear periods, so that small steps do not change the chosen frequencies.
    static func periodicInput(batch: Int, channels: Int, length: Int) -> Tensor {
        var rng = SeededGenerator(seed: 8)
        return Tensor(shape: Shape(batch, channels, length), values: (0..<(batch * channels * length)).map { i in
            let b = i / (channels * length), t = i % length
            let f1 = Double(2 + b), f2 = Double(5 + b)
            return Float(3 * sin(2 * .pi * f1 * Double(t) / Double(length)) + 1.5 * cos(2 * .pi * f2 * Double(t) / Double(length)))
                + (rng.nextUnitFloat() - 0.5) * 0.2
        })
    }

    @Test func multiPeriodBlockBackwardMatchesFiniteDifferences() throws {
        let store = ParameterStore()
        let block = MultiPeriodBlock(store: store, name: "p", channels: 3, periods: 2, kernels: [1, 3])
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 5)
        let x = Self.periodicInput(batch: 2, channels: 3, length: 23)
        let checker = GradientChecker(seed: 6) { block.forward(x) }
        #expect(block.output.shape == Shape(2, 3, 23))
        store.zeroGradients()
        block.forward(x)
        let dx = block.backward(checker.upstream).array
        checker.check("dx", values: x.buffer, analytic: dx, h: 1e-3)
        for p in store.parameters {
            checker.check(p.name, values: store.value(p.name)!, analytic: Array(store.gradient(p.name)!), h: 1e-3)
        }
    }

    static func msmp(_ base: ModelConfig = ModelConfig(), encoder: EncoderKind = .transformer) -> ModelConfig {
        var c = base
        c.featureExtractor = .msmp
        c.encoder = encoder
        c.cnnFirstChannels = 8
        c.cnnChannels = 16
        c.afrChannels = 4
        c.seReduction = 4
        c.dFF = 16
        c.dModel = c.featureLength
        return c
    }

    /// 100 Hz (3000 samples → 79... + 20 = 100 features) and 125 Hz (3750 → 125).
    @Test(arguments: [false, true])
    func extractorShapes(shhs: Bool) throws {
        let config = Self.msmp(shhs ? ModelConfig.attnSleepSHHS : ModelConfig())
        #expect(config.dModel == (shhs ? 125 : 100))
        try config.validate()
        let model = try SleepModel(config: config, seed: 0)
        #expect(model.store.parameter(named: "mrcnn.features3.0.weight")?.shape == [8, 1, 200])
        #expect(model.store.parameter(named: "mrcnn.periods.inception.2.weight")?.shape == [4, 4, 5, 5])
        let x = SleepModelTests.batch(2, samples: config.inputSamples, seed: 1)
        let logits = try model.forward(x, batch: 2, training: true)
        #expect(logits.shape == Shape(2, 5))
        model.zeroGradients()
        try model.backward(Tensor(shape: Shape(2, 5), values: (0..<10).map { Float($0 % 3) - 1 }))
        #expect(model.store.gradient("mrcnn.periods.inception.1.weight")!.contains { $0 != 0 })
        #expect(model.store.gradient("mrcnn.features3.0.weight")!.contains { $0 != 0 })
        var bad = config
        bad.inceptionKernels = [1, 4]
        expectError(.invalidConfig, field: "inceptionKernels") { try bad.validate() }
    }

    /// Any feature extractor with any encoder: a few Adam steps on one batch lower the loss
    /// (1 and 2 threads: ThreadCountTests).
    @Test(arguments: [EncoderKind.transformer, .conformer])
    func msmpTrainsWithEitherEncoder(encoder: EncoderKind) throws {
        let config = Self.msmp(encoder: encoder)
        let x = SleepModelTests.batch(6, seed: 2)
        let labels: [Int32] = [0, 1, 2, 3, 4, 2]
        let model = try SleepModel(config: config, seed: 3)
        let adam = Adam(store: model.store, learningRate: 3e-3, weightDecay: 0, amsgrad: true)
        let ce = WeightedCrossEntropy()
        var losses: [Float] = []
        for _ in 0..<6 {
            let logits = try model.forward(x, batch: 6, training: true)
            losses.append(try labels.withUnsafeBufferPointer { try ce.forward(logits: logits, labels: $0, classWeights: [1, 1, 1, 1, 1]) })
            model.zeroGradients()
            try model.backward(ce.logitsGradient)
            adam.step()
        }
        #expect(losses.last! < losses.first!, "\(losses)")
    }

    @Test func configFilesLoadAndDifferOnlyInBatch() throws {
        let dir = SHHSModelTests.configsDirectory
        let ex3 = try ExperimentConfig.load(from: dir.appendingPathComponent("ex3-msmp.json"))
        let ex4 = try ExperimentConfig.load(from: dir.appendingPathComponent("ex4-msmp-batch32.json"))
        #expect(ex3.model.featureExtractor == .msmp && ex3.model.encoder == .transformer && ex3.model.dModel == 100)
        #expect(ex3.model == ex4.model)
        #expect(ex3.training.batchSize == 128 && ex4.training.batchSize == 32)
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".json") {
            _ = try ExperimentConfig.load(from: dir.appendingPathComponent(name))
        }
    }
}
