import Foundation
import SleepNet
import Testing
import TestSupport
import Basics
import Recordings
import Evaluation

/// AttnSleep's SHHS variant: 3750-sample epochs (125 Hz), kernel 6 in the coarse
/// branch, d_model 100 (the reference's SHHS model).
@Suite struct SHHSModelTests {
    static var configsDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs")
    }

    @Test func configFilesAreTheSHHSVariant() throws {
        let full = try ExperimentConfig.load(from: Self.configsDirectory.appendingPathComponent("shhs-attnsleep.json"))
        #expect(full.model == ModelConfig.attnSleepSHHS)
        #expect(full.training.batchSize == 128)
        let small = try ExperimentConfig.load(from: Self.configsDirectory.appendingPathComponent("shhs-small.json"))
        #expect(small.model.inputSamples == 3750 && small.model.branch2 == ModelConfig.attnSleepSHHS.branch2)
        #expect(small.model.featureLength == 100 && small.model.dModel == 100)
    }

    /// The coarse branch's kernel-6 convolutions (padding 3) grow the sequence by one
    /// sample each: 3750 samples → 79 (fine) + 21 (coarse) = 100 features per channel.
    @Test func branchLengthsAddUpToDModel100() throws {
        let c = ModelConfig.attnSleepSHHS
        #expect(c.branch1.outputLength(samples: 3750) == 79)
        #expect(c.branch2.outputLength(samples: 3750) == 21)
        var sleepEDFKernel = c
        sleepEDFKernel.branch2.convKernel = 7
        #expect(sleepEDFKernel.featureLength == 99)
        expectError(.invalidConfig, field: "dModel") { try sleepEDFKernel.validate() }
        let model = try SleepModel(config: c, seed: 0)
        #expect(model.store.parameter(named: "mrcnn.features2.5.weight")?.shape == [128, 64, 6])
        #expect(model.store.parameter(named: "mrcnn.features2.8.weight")?.shape == [128, 128, 6])
        #expect(model.store.parameter(named: "tce.layers.0.feed_forward.w_1.weight")?.shape == [120, 100])
        #expect(model.store.parameter(named: "fc.weight")?.shape == [5, 3000])
    }

    /// The kernel-6 convolution with SHHS's padding, alone.
    @Test func evenKernelConvolutionBackwardMatchesFiniteDifferences() throws {
        let store = ParameterStore()
        let conv = Conv1d(store: store, name: "conv", inChannels: 4, outChannels: 3, kernel: 6, padding: 3)
        store.allocate(seed: 1)
        let x = randomTensor(Shape(2, 4, 13), seed: 2)
        let checker = GradientChecker(seed: 3) { conv.forward(x) }
        #expect(conv.output.shape == Shape(2, 3, 14))
        store.zeroGradients()
        conv.forward(x)
        let dx = conv.backward(checker.upstream).array
        checker.check("dx", values: x.buffer, analytic: dx)
        checker.check("dweight", values: store.value("conv.weight")!, analytic: Array(store.gradient("conv.weight")!))
    }

    /// The whole SHHS network (narrow; fixed dropout masks) on 3750-sample epochs, and
    /// Sleep-EDF's for comparison: gradients of the changed parts — the coarse branch's
    /// kernel-6 convolutions, the d_model-100 encoder and the head — match central
    /// differences of the logits (away from max-pool kinks, which narrow widths make common).
    @Test(arguments: [true, false])
    func networkGradientsMatchFiniteDifferences(shhs: Bool) throws {
        var c = shhs ? ModelConfig.attnSleepSHHS : ModelConfig()
        c.cnnFirstChannels = 4
        c.cnnChannels = 6
        c.afrChannels = 3
        c.seReduction = 2
        c.heads = 2
        c.dFF = 8
        c.encoderLayers = 1
        c.cnnDropout = 0.5
        c.encoderDropout = 0.1
        let model = try SleepModel(config: c, seed: 4)
        // Weights of order 0.5, not the init's 0.02: behind BatchNorm a step h acts relative
        // to the weights' norm, and tiny weights would need steps below float32's resolution.
        randomizeParameters(model.store, seed: 5)
        let x = SleepModelTests.batch(3, samples: c.inputSamples, seed: 6)
        // The same dropout masks in every forward.
        let checker = GradientChecker(seed: 7) {
            model.reseedDropout(11)
            return try! model.forward(x, batch: 3, training: true)
        }
        model.zeroGradients()
        model.reseedDropout(11)
        _ = try model.forward(x, batch: 3, training: true)
        try model.backward(checker.upstream)
        for name in ["mrcnn.features2.5.weight", "mrcnn.features2.8.weight", "mrcnn.features2.0.weight",
                     "tce.layers.0.feed_forward.w_1.weight", "tce.layers.0.self_attn.convs.1.weight", "tce.layers.0.self_attn.linear.weight", "fc.weight"] {
            let values = try #require(model.store.value(name), "\(name)")
            checker.checkAwayFromKinks(name, values: values, analytic: Array(model.store.gradient(name)!))
        }
    }
}
