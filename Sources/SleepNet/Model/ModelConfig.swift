import Foundation
import Basics

/// Which network turns an epoch of signal into a feature sequence.
public enum FeatureExtractorKind: String, Codable, Sendable, CaseIterable {
    /// AttnSleep's multi-resolution CNN with adaptive feature recalibration.
    case mrcnn
    /// The first multi-scale multi-period extension (kept so its configs and checkpoints
    /// run as before): a third, middle-resolution branch (`branch3`), and one multi-period
    /// block (FFT periods, 2-D inception convolutions) over the whole recalibrated
    /// sequence, so a period can wrap across the border of two branches' time scales.
    case msmp
    /// Multi-scale multi-period CNN, the seed's replacement of the MRCNN (Ex3): three
    /// branches; after recalibration, each branch's stretch of the sequence is folded by
    /// its own periods (its own FFT) and convolved by its own 2-D inception module.
    case msmpPerBranch
}

/// Which encoder models the temporal context of the feature sequence.
public enum EncoderKind: String, Codable, Sendable, CaseIterable {
    /// AttnSleep's transformer encoder with causal-convolution attention.
    case transformer
    /// Conformer blocks (half-step FFN, self-attention, convolution module, half-step FFN, LayerNorm).
    case conformer
}

/// Which axis the Conformer's convolution module runs along (the tokens are
/// AttnSleep's recalibrated channels, each holding dModel time steps).
public enum ConformerConvolutionAxis: String, Codable, Sendable, CaseIterable {
    /// Along the time steps of each channel (dModel long), the channels as the
    /// convolutions' channels, as AttnSleep's causal convolutions run (Ex2).
    case time
    /// Along the tokens (afrChannels long, a channel index, not time), the time steps as
    /// channels: the first Ex2, kept so its configs and checkpoints run as before.
    case tokens
}

/// A max-pooling step: kernel, stride, padding (in samples).
public struct PoolConfig: Codable, Sendable, Equatable {
    public var kernel: Int
    public var stride: Int
    public var padding: Int

    public init(kernel: Int, stride: Int, padding: Int) {
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }
}

/// One branch of the multi-resolution CNN: a wide strided convolution, a pool,
/// two narrow convolutions and a last pool.
public struct ConvBranchConfig: Codable, Sendable, Equatable {
    public var kernel: Int
    public var stride: Int
    public var padding: Int
    public var firstPool: PoolConfig
    /// Kernel and padding of the two convolutions after the first pool.
    public var convKernel: Int
    public var convPadding: Int
    public var lastPool: PoolConfig

    public init(kernel: Int, stride: Int, padding: Int, firstPool: PoolConfig,
                convKernel: Int, convPadding: Int, lastPool: PoolConfig) {
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.firstPool = firstPool
        self.convKernel = convKernel
        self.convPadding = convPadding
        self.lastPool = lastPool
    }

    /// Length of the branch output for `samples` input samples.
    public func outputLength(samples: Int) -> Int {
        var l = (samples + 2 * padding - kernel) / stride + 1
        l = (l + 2 * firstPool.padding - firstPool.kernel) / firstPool.stride + 1
        l = l + 2 * convPadding - convKernel + 1
        l = l + 2 * convPadding - convKernel + 1
        return (l + 2 * lastPool.padding - lastPool.kernel) / lastPool.stride + 1
    }
}

/// Hyper-parameters of a sleep-staging network. The defaults are AttnSleep's
/// Sleep-EDF network (100 Hz, 3000 samples); `ModelConfig.attnSleepSHHS` is the
/// SHHS variant. Decoding fills every absent field with its default.
public struct ModelConfig: Codable, Sendable, Equatable {
    public var featureExtractor: FeatureExtractorKind = .mrcnn
    public var encoder: EncoderKind = .transformer
    /// Samples in one input epoch.
    public var inputSamples = 3000
    public var classes = 5
    /// Fine-resolution branch (`mrcnn.features1`).
    public var branch1 = ConvBranchConfig(
        kernel: 50, stride: 6, padding: 24, firstPool: PoolConfig(kernel: 8, stride: 2, padding: 4),
        convKernel: 8, convPadding: 4, lastPool: PoolConfig(kernel: 4, stride: 4, padding: 2))
    /// Coarse-resolution branch (`mrcnn.features2`).
    public var branch2 = ConvBranchConfig(
        kernel: 400, stride: 50, padding: 200, firstPool: PoolConfig(kernel: 4, stride: 2, padding: 2),
        convKernel: 7, convPadding: 3, lastPool: PoolConfig(kernel: 2, stride: 2, padding: 1))
    /// Middle-resolution branch of the multi-scale CNNs (`mrcnn.features3`, `msmp` and `msmpPerBranch`):
    /// 3000 samples → 20, so the three branches give 80 + 20 = 100 features.
    public var branch3 = ConvBranchConfig(
        kernel: 200, stride: 25, padding: 100, firstPool: PoolConfig(kernel: 4, stride: 2, padding: 2),
        convKernel: 7, convPadding: 3, lastPool: PoolConfig(kernel: 4, stride: 3, padding: 0))
    /// Frequencies (periods) the multi-period block folds by (per branch for `msmpPerBranch`).
    public var periods = 2
    /// Kernel sizes of the multi-period block's 2-D inception convolutions (odd; multi-scale CNNs only).
    public var inceptionKernels = [1, 3, 5]
    /// Channels after the first convolution of each branch.
    public var cnnFirstChannels = 64
    /// Channels of the branch outputs.
    public var cnnChannels = 128
    /// Channels after adaptive feature recalibration = tokens of the encoder.
    public var afrChannels = 30
    /// Squeeze-and-excitation reduction.
    public var seReduction = 16
    /// Width of each token: must equal the concatenated branch lengths.
    public var dModel = 80
    public var heads = 5
    public var dFF = 120
    public var encoderLayers = 2
    /// Kernel of the causal convolutions in the encoder.
    public var causalKernel = 7
    /// Kernel of the Conformer's depthwise convolution (odd: same padding). Along time it
    /// must fit the dModel steps; 7 matches AttnSleep's causal convolutions on that axis.
    public var conformerKernel = 7
    /// The axis of the Conformer's convolution module. `.tokens` by default only so that
    /// configs and checkpoints written before the field existed (the first Ex2, all of
    /// whose fields are explicit) decode to the network they describe; Ex2 is `.time`.
    public var conformerConvolution = ConformerConvolutionAxis.tokens
    /// Width factor of the Conformer's feed-forward modules (hidden = conformerExpansion · dModel).
    public var conformerExpansion = 4
    /// Dropout in the CNN (after the first pool of each branch and after concatenation).
    public var cnnDropout: Float = 0.5
    /// Dropout in the encoder (attention weights, sublayer outputs, feed-forward).
    public var encoderDropout: Float = 0.1

    /// AttnSleep for Sleep-EDF (the defaults).
    public init() {}

    /// AttnSleep's SHHS variant: 3750 samples (125 Hz), kernel 6 in branch 2, d_model 100.
    public static var attnSleepSHHS: ModelConfig {
        var c = ModelConfig()
        c.inputSamples = 3750
        c.branch2.convKernel = 6
        c.dModel = 100
        return c
    }

    /// True for the multi-scale multi-period CNNs (a third branch, multi-period folding).
    public var isMultiScale: Bool {
        switch featureExtractor {
        case .mrcnn: false
        case .msmp, .msmpPerBranch: true
        }
    }

    /// The feature sequence length the CNN produces (branch 1 + branch 2, + branch 3 for
    /// the multi-scale CNNs).
    public var featureLength: Int { branches.map { $0.config.outputLength(samples: inputSamples) }.reduce(0, +) }

    /// The branches the feature extractor has, in the order their outputs are concatenated.
    var branches: [(name: String, config: ConvBranchConfig)] {
        [("branch1", branch1), ("branch2", branch2)] + (isMultiScale ? [("branch3", branch3)] : [])
    }

    /// Checks that the sizes fit together; the error (`.invalidConfig`) names
    /// `source` as its file and the field.
    public func validate(source: String = "model config") throws {
        try validate(source: source, fieldPrefix: "")
    }

    /// `validate`, with the fields named `fieldPrefix + name` (where the config sits in its file).
    func validate(source: String, fieldPrefix: String) throws {
        func fail(_ field: String, _ found: Any, _ expected: String) -> SleepfoldError {
            SleepfoldError(.invalidConfig, file: source, field: fieldPrefix + field, found: "\(found)", expected: expected)
        }
        let positives: [(String, Int)] = [
            ("inputSamples", inputSamples), ("classes", classes), ("cnnFirstChannels", cnnFirstChannels),
            ("cnnChannels", cnnChannels), ("afrChannels", afrChannels), ("seReduction", seReduction),
            ("dModel", dModel), ("heads", heads), ("dFF", dFF), ("encoderLayers", encoderLayers),
            ("causalKernel", causalKernel), ("conformerKernel", conformerKernel),
            ("conformerExpansion", conformerExpansion),
            ("branch1.kernel", branch1.kernel), ("branch1.stride", branch1.stride),
            ("branch1.convKernel", branch1.convKernel), ("branch1.firstPool.kernel", branch1.firstPool.kernel),
            ("branch1.firstPool.stride", branch1.firstPool.stride), ("branch1.lastPool.kernel", branch1.lastPool.kernel),
            ("branch1.lastPool.stride", branch1.lastPool.stride),
            ("branch2.kernel", branch2.kernel), ("branch2.stride", branch2.stride),
            ("branch2.convKernel", branch2.convKernel), ("branch2.firstPool.kernel", branch2.firstPool.kernel),
            ("branch2.firstPool.stride", branch2.firstPool.stride), ("branch2.lastPool.kernel", branch2.lastPool.kernel),
            ("branch2.lastPool.stride", branch2.lastPool.stride),
        ]
        for (field, value) in positives where value <= 0 { throw fail(field, value, "a positive integer") }
        if isMultiScale {
            if periods < 1 { throw fail("periods", periods, "a positive integer") }
            if inceptionKernels.isEmpty || inceptionKernels.contains(where: { $0 < 1 || $0 % 2 == 0 }) {
                throw fail("inceptionKernels", inceptionKernels, "odd positive kernel sizes (same padding), e.g. [1, 3, 5]")
            }
            let b = branch3
            let positives3: [(String, Int)] = [("branch3.kernel", b.kernel), ("branch3.stride", b.stride),
                                                ("branch3.convKernel", b.convKernel), ("branch3.firstPool.kernel", b.firstPool.kernel),
                                                ("branch3.firstPool.stride", b.firstPool.stride),
                                                ("branch3.lastPool.kernel", b.lastPool.kernel), ("branch3.lastPool.stride", b.lastPool.stride)]
            for (field, value) in positives3 where value <= 0 { throw fail(field, value, "a positive integer") }
        }
        try validateBounds(fail: fail)
        for (name, b) in branches {
            if b.padding < 0 || b.convPadding < 0 { throw fail(name + ".padding", b.padding, "≥ 0") }
            for (pname, p) in [("firstPool", b.firstPool), ("lastPool", b.lastPool)]
            where p.padding < 0 || p.padding > p.kernel / 2 {
                throw fail("\(name).\(pname).padding", p.padding, "between 0 and half the pool kernel (\(p.kernel / 2))")
            }
            for (pname, p) in [("firstPool", b.firstPool), ("lastPool", b.lastPool)] where p.kernel > MaxPool1d.maxKernel {
                throw fail("\(name).\(pname).kernel", p.kernel, "at most \(MaxPool1d.maxKernel)")
            }
            if b.outputLength(samples: inputSamples) <= 0 {
                throw fail("inputSamples", inputSamples, "long enough for \(name)")
            }
        }
        if dModel != featureLength {
            throw fail("dModel", dModel, "\(featureLength), the CNN's output length for \(inputSamples) samples")
        }
        if dModel % heads != 0 { throw fail("heads", heads, "a divisor of dModel (\(dModel))") }
        if encoder == .conformer && conformerKernel % 2 == 0 {
            throw fail("conformerKernel", conformerKernel, "an odd kernel (same padding keeps the sequence length)")
        }
        if encoder == .conformer && conformerConvolution == .time && conformerKernel > dModel {
            throw fail("conformerKernel", conformerKernel,
                       "at most dModel (\(dModel)), the time steps the convolution runs along, e.g. 7")
        }
        if featureExtractor == .msmpPerBranch {
            for (name, b) in branches where b.outputLength(samples: inputSamples) < 2 {
                throw fail("inputSamples", inputSamples,
                           "long enough for \(name) to give 2 steps (its own periods are folded)")
            }
        }
        for (field, p) in [("cnnDropout", cnnDropout), ("encoderDropout", encoderDropout)] where !(p >= 0 && p < 1) {
            throw fail(field, p, "a probability in [0, 1)")
        }
        // The model alone (a batch of one) must fit; callers that know the batch check it too.
        try validateMemory(batchSize: 1, source: source,
                           field: fieldPrefix.isEmpty ? "model" : String(fieldPrefix.dropLast()))
    }

    private enum CodingKeys: String, CodingKey {
        case featureExtractor, encoder, inputSamples, classes, branch1, branch2, cnnFirstChannels, cnnChannels
        case afrChannels, seReduction, dModel, heads, dFF, encoderLayers, causalKernel, cnnDropout, encoderDropout
        case conformerKernel, conformerExpansion, conformerConvolution, branch3, periods, inceptionKernels
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ModelConfig()
        featureExtractor = try c.decodeIfPresent(FeatureExtractorKind.self, forKey: .featureExtractor) ?? d.featureExtractor
        encoder = try c.decodeIfPresent(EncoderKind.self, forKey: .encoder) ?? d.encoder
        inputSamples = try c.decodeIfPresent(Int.self, forKey: .inputSamples) ?? d.inputSamples
        classes = try c.decodeIfPresent(Int.self, forKey: .classes) ?? d.classes
        branch1 = try c.decodeIfPresent(ConvBranchConfig.self, forKey: .branch1) ?? d.branch1
        branch2 = try c.decodeIfPresent(ConvBranchConfig.self, forKey: .branch2) ?? d.branch2
        cnnFirstChannels = try c.decodeIfPresent(Int.self, forKey: .cnnFirstChannels) ?? d.cnnFirstChannels
        cnnChannels = try c.decodeIfPresent(Int.self, forKey: .cnnChannels) ?? d.cnnChannels
        afrChannels = try c.decodeIfPresent(Int.self, forKey: .afrChannels) ?? d.afrChannels
        seReduction = try c.decodeIfPresent(Int.self, forKey: .seReduction) ?? d.seReduction
        dModel = try c.decodeIfPresent(Int.self, forKey: .dModel) ?? d.dModel
        heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? d.heads
        dFF = try c.decodeIfPresent(Int.self, forKey: .dFF) ?? d.dFF
        encoderLayers = try c.decodeIfPresent(Int.self, forKey: .encoderLayers) ?? d.encoderLayers
        causalKernel = try c.decodeIfPresent(Int.self, forKey: .causalKernel) ?? d.causalKernel
        conformerKernel = try c.decodeIfPresent(Int.self, forKey: .conformerKernel) ?? d.conformerKernel
        conformerExpansion = try c.decodeIfPresent(Int.self, forKey: .conformerExpansion) ?? d.conformerExpansion
        conformerConvolution = try c.decodeIfPresent(ConformerConvolutionAxis.self, forKey: .conformerConvolution)
            ?? d.conformerConvolution
        branch3 = try c.decodeIfPresent(ConvBranchConfig.self, forKey: .branch3) ?? d.branch3
        periods = try c.decodeIfPresent(Int.self, forKey: .periods) ?? d.periods
        inceptionKernels = try c.decodeIfPresent([Int].self, forKey: .inceptionKernels) ?? d.inceptionKernels
        cnnDropout = try c.decodeIfPresent(Float.self, forKey: .cnnDropout) ?? d.cnnDropout
        encoderDropout = try c.decodeIfPresent(Float.self, forKey: .encoderDropout) ?? d.encoderDropout
    }
}

extension SleepfoldError.Code {
    /// A model or training config, or an argument of the model core, outside what
    /// the model allows (`field` names it).
    public static let invalidConfig = Self("invalidConfig")
}
