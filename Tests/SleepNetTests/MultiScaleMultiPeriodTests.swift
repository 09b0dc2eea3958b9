import Foundation
import SleepNet
import Testing
import TestSupport
import Basics
import Recordings
import Evaluation

/// Conv2d, the multi-period blocks and the multi-scale multi-period feature extractors
/// (`msmpPerBranch`, Ex3; `msmp`, the first extension).
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

    /// The periodic input of `periodicInput`, one stretch per length, side by side in time.
    static func stretchedPeriodicInput(batch: Int, channels: Int, lengths: [Int]) -> Tensor {
        let parts = lengths.map { periodicInput(batch: batch, channels: channels, length: $0) }
        let L = lengths.reduce(0, +)
        let x = Tensor(shape: Shape(batch, channels, L))
        var start = 0
        for (part, Ls) in zip(parts, lengths) {
            for r in 0..<(batch * channels) { (x.data + r * L + start).update(from: part.data + r * Ls, count: Ls) }
            start += Ls
        }
        return x
    }

    @Test func branchwiseBlockBackwardMatchesFiniteDifferences() throws {
        let store = ParameterStore()
        let block = BranchwiseMultiPeriodBlock(store: store, name: "p", channels: 3, lengths: [13, 9, 11], periods: 2,
                                               kernels: [1, 3])
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 5)
        #expect(store.parameter(named: "p3.inception.1.weight")?.shape == [3, 3, 3, 3])
        let x = Self.stretchedPeriodicInput(batch: 2, channels: 3, lengths: [13, 9, 11])
        let checker = GradientChecker(seed: 6) { block.forward(x) }
        #expect(block.output.shape == Shape(2, 3, 33))
        store.zeroGradients()
        block.forward(x)
        let dx = block.backward(checker.upstream).array
        checker.check("dx", values: x.buffer, analytic: dx, h: 1e-3)
        for p in store.parameters {
            checker.check(p.name, values: store.value(p.name)!, analytic: Array(store.gradient(p.name)!), h: 1e-3)
        }
    }

    /// No fold crosses a branch border: changing one stretch of the input leaves the
    /// other stretches' outputs as they were, bit for bit. The single block over the
    /// whole sequence (the first extension) does not have this property.
    @Test func stretchesAreFoldedApart() throws {
        let store = ParameterStore()
        let branchwise = BranchwiseMultiPeriodBlock(store: store, name: "p", channels: 3, lengths: [13, 9, 11],
                                                    periods: 2, kernels: [1, 3])
        let whole = MultiPeriodBlock(store: store, name: "w", channels: 3, periods: 2, kernels: [1, 3])
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 5)
        let x = Self.stretchedPeriodicInput(batch: 1, channels: 3, lengths: [13, 9, 11])
        let before = (branchwise.forward(x).array, whole.forward(x).array)
        for c in 0..<3 { for t in 13..<22 { x.data[c * 33 + t] *= -0.5 } }   // stretch 2 only
        let after = (branchwise.forward(x).array, whole.forward(x).array)
        var outsideChanged = (branchwise: false, whole: false)
        for c in 0..<3 {
            for t in 0..<33 where t < 13 || t >= 22 {
                if before.0[c * 33 + t] != after.0[c * 33 + t] { outsideChanged.branchwise = true }
                if before.1[c * 33 + t] != after.1[c * 33 + t] { outsideChanged.whole = true }
            }
        }
        #expect(!outsideChanged.branchwise && outsideChanged.whole)
        #expect(zip(before.0, after.0).contains { $0 != $1 })
    }

    /// Forward and every gradient of the per-branch block against an independent NumPy
    /// implementation (scripts/make-multi-period-fixture.py: np.fft.rfft spectrum, direct
    /// 2-D convolutions, float64 central differences).
    @Test func branchwiseBlockMatchesTheNumPyReference() throws {
        let (file, source) = try ConformerReferenceTests.fixture("multi-period-per-branch-reference")
        let store = ParameterStore()
        let block = BranchwiseMultiPeriodBlock(store: store, name: "p", channels: 3, lengths: [13, 9], periods: 2,
                                               kernels: [1, 3])
        store.allocate(seed: 1)
        try ConformerReferenceTests.load(store, from: file, source: source)
        let input = try file.tensor("input", source: source)
        #expect(input.shape == [2, 3, 22])
        let y = block.forward(Tensor(shape: Shape(2, 3, 22), values: input.floats)).array
        let expected = try file.tensor("output", source: source).floats
        let worst = zip(y, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-5, "output: largest difference from the reference \(worst)")
        store.zeroGradients()
        let upstream = try file.tensor("upstream", source: source)
        let dx = block.backward(Tensor(shape: Shape(2, 3, 22), values: upstream.floats)).array
        expectClose("input", dx, try file.tensor("grad.input", source: source).floats)
        for p in store.parameters {
            expectClose(p.name, Array(store.gradient(p.name)!), try file.tensor("grad." + p.name, source: source).floats)
        }
    }

    /// Ex3's 2-D convolutions start as the reference starts AttnSleep's convolutions
    /// (weights N(0, 0.02)); the first extension's keep PyTorch's default.
    @Test(arguments: [FeatureExtractorKind.msmpPerBranch, .msmp])
    func inceptionInitialisation(kind: FeatureExtractorKind) throws {
        var config = Self.msmp(kind: kind)
        config.afrChannels = 30
        let store = try SleepModel(config: config, seed: 4).store
        let name = kind == .msmp ? "mrcnn.periods.inception.2.weight" : "mrcnn.periods2.inception.2.weight"
        let w = Array(store.value(name)!).map(Double.init)
        let mean = w.reduce(0, +) / Double(w.count)
        let std = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(w.count)).squareRoot()
        #expect(w.count == 30 * 30 * 25)
        // PyTorch's default: uniform(±1/√(30·25)), std 1/√(3·750) ≈ 0.021, bounded by 0.0365.
        if kind == .msmp {
            #expect(w.allSatisfy { abs($0) <= 1 / 750.0.squareRoot() + 1e-7 })
        } else {
            #expect(abs(std - 0.02) < 0.001 && w.contains { abs($0) > 1 / 750.0.squareRoot() }, "std \(std)")
        }
    }

    static func msmp(_ base: ModelConfig = ModelConfig(), kind: FeatureExtractorKind = .msmpPerBranch,
                     encoder: EncoderKind = .transformer) -> ModelConfig {
        var c = base
        c.featureExtractor = kind
        c.encoder = encoder
        c.cnnFirstChannels = 8
        c.cnnChannels = 16
        c.afrChannels = 4
        c.seReduction = 4
        c.dFF = 16
        c.dModel = c.featureLength
        return c
    }

    /// 100 Hz (3000 samples → 64 + 16 + 20 = 100 features) and 125 Hz (3750 → 125), either extractor.
    @Test(arguments: [false, true], [FeatureExtractorKind.msmpPerBranch, .msmp])
    func extractorShapes(shhs: Bool, kind: FeatureExtractorKind) throws {
        let config = Self.msmp(shhs ? ModelConfig.attnSleepSHHS : ModelConfig(), kind: kind)
        #expect(config.dModel == (shhs ? 125 : 100))
        try config.validate()
        let model = try SleepModel(config: config, seed: 0)
        #expect(model.store.parameter(named: "mrcnn.features3.0.weight")?.shape == [8, 1, 200])
        let periods = kind == .msmp ? ["mrcnn.periods"] : ["mrcnn.periods1", "mrcnn.periods2", "mrcnn.periods3"]
        for name in periods {
            #expect(model.store.parameter(named: name + ".inception.2.weight")?.shape == [4, 4, 5, 5])
        }
        #expect(model.store.parameters.filter { $0.name.hasPrefix("mrcnn.periods") }.count == 6 * periods.count)
        let x = SleepModelTests.batch(2, samples: config.inputSamples, seed: 1)
        let logits = try model.forward(x, batch: 2, training: true)
        #expect(logits.shape == Shape(2, 5))
        model.zeroGradients()
        try model.backward(Tensor(shape: Shape(2, 5), values: (0..<10).map { Float($0 % 3) - 1 }))
        for name in periods { #expect(model.store.gradient(name + ".inception.1.weight")!.contains { $0 != 0 }) }
        #expect(model.store.gradient("mrcnn.features3.0.weight")!.contains { $0 != 0 })
        var bad = config
        bad.inceptionKernels = [1, 4]
        expectError(.invalidConfig, field: "inceptionKernels") { try bad.validate() }
    }

    /// Any feature extractor with any encoder: a few Adam steps on one batch lower the loss
    /// (1 and 2 threads: ThreadCountTests).
    @Test(arguments: [EncoderKind.transformer, .conformer], [FeatureExtractorKind.msmpPerBranch, .msmp])
    func msmpTrainsWithEitherEncoder(encoder: EncoderKind, kind: FeatureExtractorKind) throws {
        var config = Self.msmp(kind: kind, encoder: encoder)
        if encoder == .conformer { config = ConformerModelTests.conformer(config) }
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

    /// Ex3 is the per-branch CNN, Ex4 the same at batch 32, Ex3b the first extension;
    /// the same holds for the narrow versions in configs/small.
    @Test(arguments: ["", "small/"])
    func configFilesLoadAndDifferOnlyInBatch(subdirectory: String) throws {
        let dir = SHHSModelTests.configsDirectory.appendingPathComponent(subdirectory)
        let ex3 = try ExperimentConfig.load(from: dir.appendingPathComponent("ex3-msmp.json"))
        let ex3b = try ExperimentConfig.load(from: dir.appendingPathComponent("ex3b-msmp-extension.json"))
        let ex4 = try ExperimentConfig.load(from: dir.appendingPathComponent("ex4-msmp-batch32.json"))
        #expect(ex3.model.featureExtractor == .msmpPerBranch && ex3.model.encoder == .transformer && ex3.model.dModel == 100)
        var first = ex3.model
        first.featureExtractor = .msmp
        #expect(ex3b.model == first && ex3b.training == ex3.training)
        #expect(ex3.model == ex4.model)
        #expect(ex3.training.batchSize == 4 * ex4.training.batchSize)
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".json") {
            _ = try ExperimentConfig.load(from: dir.appendingPathComponent(name))
        }
    }
}
