import Basics

/// Weight initialisation of AttnSleep's plain Conv1d layers (not the causal ones).
let attnSleepConvInit = Initializer.normal(mean: 0, std: 0.02)
/// Weight initialisation of AttnSleep's BatchNorm layers.
let attnSleepBatchNormInit = Initializer.normal(mean: 1, std: 0.02)

/// One branch of the multi-resolution CNN (`mrcnn.features1` / `features2`).
///
///     // inp (B, 1, S) -> out (B, cnnChannels, Lb)
///     // 0 conv · 1 BN · 2 GELU · 3 pool · 4 dropout · 5 conv · 6 BN · 7 GELU · 8 conv · 9 BN · 10 GELU · 11 pool
/// (each conv with the BN and GELU after it runs as one block, so do the pool and dropout 3–4).
final class ConvBranch {
    let block0: ConvBatchNorm1d, pool3: MaxPool1d   // 0 conv · 1 BN · 2 GELU; 3 pool · 4 dropout
    let block5: ConvBatchNorm1d                      // 5 conv · 6 BN · 7 GELU
    let block8: ConvBatchNorm1d, pool11: MaxPool1d   // 8 conv · 9 BN · 10 GELU; 11 pool
    /// Profiler scope names, built once: each block by its first module's PyTorch index.
    let names: (block0: String, pool3: String, block5: String, block8: String, pool11: String)

    /// The branch's shape, for its output length.
    let config: ConvBranchConfig

    init(store: ParameterStore, name: String, config b: ConvBranchConfig, first: Int, channels: Int, dropout: Float) {
        config = b
        names = (name + ".0", name + ".3", name + ".5", name + ".8", name + ".11")
        let conv0 = Conv1d(store: store, name: name + ".0", inChannels: 1, outChannels: first, kernel: b.kernel,
                           stride: b.stride, padding: b.padding, bias: false, weightInit: attnSleepConvInit)
        conv0.needsInputGradient = false
        block0 = ConvBatchNorm1d(conv: conv0, batchNorm: BatchNorm1d(
            store: store, name: name + ".1", channels: first, weightInit: attnSleepBatchNormInit, activation: .gelu))
        pool3 = MaxPool1d(kernel: b.firstPool.kernel, stride: b.firstPool.stride, padding: b.firstPool.padding,
                          dropout: dropout)
        let conv5 = Conv1d(store: store, name: name + ".5", inChannels: first, outChannels: channels,
                           kernel: b.convKernel, padding: b.convPadding, bias: false, weightInit: attnSleepConvInit)
        block5 = ConvBatchNorm1d(conv: conv5, batchNorm: BatchNorm1d(
            store: store, name: name + ".6", channels: channels, weightInit: attnSleepBatchNormInit, activation: .gelu))
        let conv8 = Conv1d(store: store, name: name + ".8", inChannels: channels, outChannels: channels,
                           kernel: b.convKernel, padding: b.convPadding, bias: false, weightInit: attnSleepConvInit)
        block8 = ConvBatchNorm1d(conv: conv8, batchNorm: BatchNorm1d(
            store: store, name: name + ".9", channels: channels, weightInit: attnSleepBatchNormInit, activation: .gelu))
        pool11 = MaxPool1d(kernel: b.lastPool.kernel, stride: b.lastPool.stride, padding: b.lastPool.padding)
        // Evaluation runs the two stride-1 convolutions (99 of AttnSleep's 117
        // forward MFLOP per sample) by Winograd F(4, k): 11/32 of the GEMM work for k = 8.
        // F(4, 8) was the fastest of F(3…6, 8) at 1 and 2 threads (Benchmarks/pytorch/README.md,
        // "Winograd output tile").
        conv5.winogradTile = 4
        conv8.winogradTile = 4
        // Training's backward forms their input and weight gradients the same way
        // (the forward stays im2col + GEMM: its rounding would decide max-pool ties).
        conv5.inputGradientWinogradTile = 4
        conv8.inputGradientWinogradTile = 4
        conv5.weightGradientWinogradTile = 4
        conv8.weightGradientWinogradTile = 4
        // Not on the long-kernel branch's 31-step rows (8 tiles): there the
        // transforms cost more than the products they save (measured, 1 thread).
        conv5.winogradBackwardMinimumLength = 64
        conv8.winogradBackwardMinimumLength = 64
    }

    /// Samples per evaluation chunk for inputs of length S (0: the whole batch
    /// at once), from the branch's shape: see `forward`.
    func evaluationChunk(inputLength S: Int) -> Int {
        let firstOutput = block0.conv.outChannels * block0.conv.outputLength(S)
        return 4 * firstOutput >= Self.chunkedActivationBytes ? Self.evaluationChunkSamples : 0
    }
    /// Evaluation runs a branch whose first block writes at least this much per
    /// sample (the fine branch: 64 × 501 floats, 128 KB) chunk by chunk.
    static let chunkedActivationBytes = 64 * 1024
    /// 16 samples: a chunk's activations between layers (about 0.5 MB per
    /// sample in the fine branch) stay in L2 and L3 instead of going through
    /// memory; smaller chunks make the Winograd GEMMs narrower. Measured 1 thread:
    /// Benchmarks/pytorch/README.md, "Evaluation locality".
    static let evaluationChunkSamples = 16
    private let chunkInput = Tensor()

    /// inp (B, 1, S) -> rows of `out` (B·cnnChannels rows, `rowStride` apart, Lb long):
    /// the last pool writes the branch's part of the concatenation in place.
    /// Evaluation of a branch with large activations runs it on chunks of
    /// `evaluationChunk` samples, first layer to last pool (same bits: every
    /// sample's sums run in the same order whatever its neighbours).
    func forward(_ x: Tensor, training: Bool, rng: inout SeededGenerator,
                 into out: UnsafeMutablePointer<Float>, rowStride: Int) {
        let B = x.shape[0], G = evaluationChunk(inputLength: x.shape[2])
        guard !training, G > 0, B > G else {
            forwardLayers(x, training: training, rng: &rng, into: out, rowStride: rowStride)
            return
        }
        let perSample = x.count / B, rows = block8.conv.outChannels
        // The weights cannot change between the chunks of one forward: after the
        // first, the layers need not compare them with what they derived from them.
        let store = block8.conv.store, settled = store.valuesSettled
        defer { store.valuesSettled = settled }
        for s0 in stride(from: 0, to: B, by: G) {
            let n = min(G, B - s0)
            chunkInput.resize(Shape(n, x.shape[1], x.shape[2]))
            chunkInput.data.update(from: x.data + s0 * perSample, count: n * perSample)
            store.valuesSettled = settled || s0 > 0
            forwardLayers(chunkInput, training: false, rng: &rng, into: out + s0 * rows * rowStride, rowStride: rowStride)
        }
    }

    /// `forward` on all of x at once.
    private func forwardLayers(_ x: Tensor, training: Bool, rng: inout SeededGenerator,
                               into out: UnsafeMutablePointer<Float>, rowStride: Int) {
        var h = Profiler.measure(names.block0) { block0.forward(x, training: training) }
        h = Profiler.measure(names.pool3) {
            training ? pool3.forward(h, training: true, key: rng.next()) : pool3.forward(h)
        }
        h = Profiler.measure(names.block5) { block5.forward(h, training: training) }
        h = Profiler.measure(names.block8) { block8.forward(h, training: training) }
        Profiler.measure(names.pool11) { pool11.forward(h, training: training, into: out, rowStride: rowStride) }
    }

    /// dout rows (as `forward` wrote them) -> nothing (the input is data). Each
    /// block's output gradient is a pool's or a convolution's input gradient,
    /// read nowhere else, so the block may write over it.
    func backward(_ dy: UnsafePointer<Float>, rowStride: Int) {
        var g = Profiler.measure(names.pool11) { pool11.backward(dy, rowStride: rowStride) }
        g = Profiler.measure(names.block8) { block8.backward(g) }
        g = Profiler.measure(names.block5) { block5.backward(g) }
        g = Profiler.measure(names.pool3) { pool3.backward(g) }
        _ = Profiler.measure(names.block0) { block0.backward(g) }
    }
}

/// Adaptive feature recalibration: AttnSleep's SEBasicBlock (`mrcnn.AFR.0`).
///
///     // inp (B, Cin, L) -> out (B, Cout, L)
///     // relu( se(bn2(conv2(relu(bn1(conv1(x)))))) + bn(downsample(x)) )
final class SEBasicBlock {
    let conv1: Conv1d, bn1: BatchNorm1d  // bn1 runs with its ReLU fused
    let conv2: Conv1d, bn2: BatchNorm1d
    let se: SqueezeExcitation
    let down0: Conv1d, down1: BatchNorm1d
    let output = Tensor()
    let inputGradient = Tensor()
    private let sumGradient = Tensor()
    /// Profiler scope names: the block, then its modules (PyTorch's names).
    let names: (block: String, conv1: String, bn1: String, conv2: String, bn2: String, se: String,
                down0: String, down1: String)

    init(store: ParameterStore, name: String, inChannels: Int, outChannels: Int, reduction: Int) {
        names = (name, name + ".conv1", name + ".bn1", name + ".conv2", name + ".bn2", name + ".se",
                 name + ".downsample.0", name + ".downsample.1")
        // The reference passes stride (1) where the kernel size goes: kernel 1.
        conv1 = Conv1d(store: store, name: name + ".conv1", inChannels: inChannels, outChannels: outChannels,
                       kernel: 1, weightInit: attnSleepConvInit)
        bn1 = BatchNorm1d(store: store, name: name + ".bn1", channels: outChannels, weightInit: attnSleepBatchNormInit,
                          activation: .relu)
        conv2 = Conv1d(store: store, name: name + ".conv2", inChannels: outChannels, outChannels: outChannels,
                       kernel: 1, weightInit: attnSleepConvInit)
        bn2 = BatchNorm1d(store: store, name: name + ".bn2", channels: outChannels, weightInit: attnSleepBatchNormInit)
        se = SqueezeExcitation(store: store, name: name + ".se", channels: outChannels, reduction: reduction)
        down0 = Conv1d(store: store, name: name + ".downsample.0", inChannels: inChannels, outChannels: outChannels,
                       kernel: 1, bias: false, weightInit: attnSleepConvInit)
        down1 = BatchNorm1d(store: store, name: name + ".downsample.1", channels: outChannels,
                            weightInit: attnSleepBatchNormInit)
    }

    func forward(_ x: Tensor, training: Bool) -> Tensor {
        Profiler.measure(names.block) {
            var h = Profiler.measure(names.conv1) { conv1.forward(x, training: training) }
            h = Profiler.measure(names.bn1) { bn1.forward(h, training: training) }
            h = Profiler.measure(names.conv2) { conv2.forward(h, training: training) }
            h = Profiler.measure(names.bn2) { bn2.forward(h, training: training) }
            h = Profiler.measure(names.se) { se.forward(h) }
            var r = Profiler.measure(names.down0) { down0.forward(x, training: training) }
            r = Profiler.measure(names.down1) { down1.forward(r, training: training) }
            // The residual sum and ReLU are the block's self time.
            output.resize(h.shape)
            let a = h.data, b = r.data, y = output.data
            for i in 0..<output.count { y[i] = max(a[i] + b[i], 0) }
            return output
        }
    }

    func backward(_ dy: Tensor) -> Tensor {
        Profiler.measure(names.block) {
            sumGradient.resize(output.shape)
            let y = output.data, g = dy.data, d = sumGradient.data
            for i in 0..<output.count { d[i] = y[i] > 0 ? g[i] : 0 }
            var dxMain = Profiler.measure(names.se) { se.backward(sumGradient) }
            dxMain = Profiler.measure(names.bn2) { bn2.backward(dxMain) }
            dxMain = Profiler.measure(names.conv2) { conv2.backward(dxMain) }
            dxMain = Profiler.measure(names.bn1) { bn1.backward(dxMain) }
            dxMain = Profiler.measure(names.conv1) { conv1.backward(dxMain) }
            var dxSkip = Profiler.measure(names.down1) { down1.backward(sumGradient) }
            dxSkip = Profiler.measure(names.down0) { down0.backward(dxSkip) }
            inputGradient.resize(dxMain.shape)
            let a = dxMain.data, b = dxSkip.data, o = inputGradient.data
            for i in 0..<inputGradient.count { o[i] = a[i] + b[i] }
            return inputGradient
        }
    }
}

/// AttnSleep's multi-resolution CNN (`mrcnn`): two branches, concatenated in
/// time, dropout, adaptive feature recalibration. The multi-scale multi-period
/// CNNs add a middle-resolution branch (`features3`, concatenated last), and then
/// fold the recalibrated sequence by its periods: `msmpPerBranch` each branch's
/// stretch by its own (`periods1…3`, N(0, 0.02) weights as the reference's
/// convolutions), `msmp` the whole sequence at once (`periods`, PyTorch's default).
///
///     // inp (B, 1, S) -> out (B, afrChannels, dModel)
final class MultiResolutionCNN {
    let features1: ConvBranch
    let features2: ConvBranch
    let features3: ConvBranch?
    /// The branches' outputs concatenated in time (B, cnnChannels, L1 + L2 (+ L3)):
    /// each branch's last pool writes its stretch of every row in place.
    let joined = Tensor()
    let channels: Int
    /// Each branch's stretch of a joined row in the last forward.
    private var lengths: [Int] = []
    let dropout: Dropout
    let afr: SEBasicBlock
    let periods: MultiPeriodBlock?
    let branchPeriods: BranchwiseMultiPeriodBlock?

    init(store: ParameterStore, config c: ModelConfig) {
        channels = c.cnnChannels
        features1 = ConvBranch(store: store, name: "mrcnn.features1", config: c.branch1, first: c.cnnFirstChannels,
                               channels: c.cnnChannels, dropout: c.cnnDropout)
        features2 = ConvBranch(store: store, name: "mrcnn.features2", config: c.branch2, first: c.cnnFirstChannels,
                               channels: c.cnnChannels, dropout: c.cnnDropout)
        features3 = c.isMultiScale
            ? ConvBranch(store: store, name: "mrcnn.features3", config: c.branch3, first: c.cnnFirstChannels,
                         channels: c.cnnChannels, dropout: c.cnnDropout)
            : nil
        dropout = Dropout(probability: c.cnnDropout)
        afr = SEBasicBlock(store: store, name: "mrcnn.AFR.0", inChannels: c.cnnChannels, outChannels: c.afrChannels,
                           reduction: c.seReduction)
        periods = c.featureExtractor == .msmp
            ? MultiPeriodBlock(store: store, name: "mrcnn.periods", channels: c.afrChannels, periods: c.periods,
                               kernels: c.inceptionKernels)
            : nil
        branchPeriods = c.featureExtractor == .msmpPerBranch
            ? BranchwiseMultiPeriodBlock(
                store: store, name: "mrcnn.periods", channels: c.afrChannels,
                lengths: c.branches.map { $0.config.outputLength(samples: c.inputSamples) },
                periods: c.periods, kernels: c.inceptionKernels, weightInit: attnSleepConvInit)
            : nil
    }

    /// The branches in the order their outputs are concatenated.
    var branches: [ConvBranch] { [features1, features2] + (features3.map { [$0] } ?? []) }

    func forward(_ x: Tensor, training: Bool, rng: inout SeededGenerator) -> Tensor {
        lengths = branches.map { $0.config.outputLength(samples: x.shape[2]) }
        let L = lengths.reduce(0, +)
        joined.resize(Shape(x.shape[0], channels, L))
        var offset = 0
        for (branch, length) in zip(branches, lengths) {
            branch.forward(x, training: training, rng: &rng, into: joined.data + offset, rowStride: L)
            offset += length
        }
        let h = Profiler.measure("mrcnn.dropout") {
            dropout.forward(joined, training: training, key: training ? rng.next() : 0)
        }
        let recalibrated = afr.forward(h, training: training)
        if let periods { return Profiler.measure("mrcnn.periods") { periods.forward(recalibrated) } }
        if let branchPeriods { return Profiler.measure("mrcnn.periods") { branchPeriods.forward(recalibrated) } }
        return recalibrated
    }

    func backward(_ dy: Tensor) {
        var g = dy
        if let periods { g = Profiler.measure("mrcnn.periods") { periods.backward(g) } }
        if let branchPeriods { g = Profiler.measure("mrcnn.periods") { branchPeriods.backward(g) } }
        g = afr.backward(g)
        g = Profiler.measure("mrcnn.dropout") { dropout.backward(g) }
        // The branches read their stretches of the joined gradient in place.
        let L = g.shape[2]
        precondition(lengths.reduce(0, +) == L, "MultiResolutionCNN.backward: another shape than forward's")
        if let features3 { features3.backward(g.data + lengths[0] + lengths[1], rowStride: L) }
        features1.backward(g.data, rowStride: L)
        features2.backward(g.data + lengths[0], rowStride: L)
    }
}
