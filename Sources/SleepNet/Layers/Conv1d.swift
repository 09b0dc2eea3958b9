import Basics
import MatrixAMX
import Sgemm
/// 1-D convolution as im2col + GEMM, PyTorch's `nn.Conv1d` (cross-correlation).
///
/// Supports stride, dilation, groups (depthwise included), an optional bias and
/// asymmetric zero padding; `causal: true` pads `dilation·(kernel−1)` on the
/// left only, which equals AttnSleep's CausalConv1d (pad both sides, drop the
/// last outputs).
///
///     // inp (B, C, L) -> out (B, F, Lo),  Lo = (L + padL + padR − dil·(K−1) − 1) / stride + 1
///     // weight (F, C/groups, K), bias (F)
public final class Conv1d {
    public let inChannels, outChannels, kernel, stride, dilation, groups: Int
    public let padLeft, padRight: Int
    public let hasBias: Bool
    /// False for a layer that reads the network input: no input gradient is formed.
    public var needsInputGradient: Bool

    let store: ParameterStore
    let weight: TensorView
    let bias: TensorView?

    /// Output of the last forward, (B, F, Lo).
    public let output = Tensor()
    /// Input gradient of the last backward, (B, C, L).
    public let inputGradient = Tensor()
    var input: Tensor?
    let col = Tensor()      // (lanes, C/groups · K, Lo): im2col scratch per thread
    let colGrad = Tensor()  // same, for the column gradient
    let phaseSplit = Tensor() // (lanes, G·C·stride·R): a strided forward's input split by phase
    let partialWeightGradient = Tensor()  // (chunks, F · C/groups · K)
    let packedWeight = Tensor()           // W (F, C·K) as sgemm's packed A
    let packedWeightTransposed = Tensor() // Wᵀ (C·K, F) as sgemm's packed A

    /// On sleepfold's own sgemm (one group, kernel > 1, stride and dilation 1): the
    /// forward GEMM takes the weights packed once per pass and packs the input's
    /// columns straight from the input, with no im2col matrix, and the backward's
    /// dcol GEMM takes Wᵀ packed once per pass; the same numbers as im2col +
    /// `sgemm` (which false forces; the tests compare both). A strided forward (the
    /// CNN's first layers) packs from its input split by phase, where each panel row
    /// is contiguous (gathering every stride-th input into the panels was slower
    /// than im2col + `sgemm`'s packing: Benchmarks/pytorch/README.md, "Speed steps
    /// 2026-12-05"). The backward's dW GEMM keeps im2col. The evaluation's Winograd
    /// path likewise writes long rows' transformed input as packed panels.
    public var packsDirectly = true

    /// The forward packs its columns straight from the input (any stride).
    private var forwardRunsDirect: Bool {
        packsDirectly && groups == 1 && !isPointwise && dilation == 1 && GEMMBackend.current.isOwn
    }

    /// The backward packs Wᵀ once (stride 1).
    private var runsDirect: Bool { forwardRunsDirect && stride == 1 }

    /// Registers `name.weight` (and `name.bias`) in `store`.
    ///
    /// `initWeight` defaults to PyTorch's kaiming-uniform(a=√5), i.e.
    /// uniform(±1/√fan_in); the bias is uniform(±1/√fan_in).
    public init(
        store: ParameterStore, name: String, inChannels: Int, outChannels: Int, kernel: Int,
        stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1, bias: Bool = true,
        causal: Bool = false, weightInit: Initializer? = nil, receivesGradient: Bool = true
    ) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0, "groups must divide channels")
        self.store = store
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.dilation = dilation
        self.groups = groups
        if causal {
            padLeft = dilation * (kernel - 1)
            padRight = 0
        } else {
            padLeft = padding
            padRight = padding
        }
        hasBias = bias
        needsInputGradient = true
        let fanIn = inChannels / groups * kernel
        let bound = 1 / Float(fanIn).squareRoot()
        weight = store.registerParameter(
            name + ".weight", shape: [outChannels, inChannels / groups, kernel],
            initializer: weightInit ?? .uniform(bound: bound), receivesGradient: receivesGradient)
        self.bias = bias
            ? store.registerParameter(name + ".bias", shape: [outChannels], initializer: .uniform(bound: bound),
                                      receivesGradient: receivesGradient)
            : nil
    }

    /// Output tile m of the Winograd F(m, kernel) path that an evaluation
    /// `forward(_:training: false)` takes; 0 (default): im2col + GEMM.
    /// Used only for stride 1, dilation 1, one group. It rounds differently (a
    /// few 1e-6 of the output scale): harmless for inference, but in training
    /// max-pool near-ties and Adam amplify it past the PyTorch parity tolerance
    /// (two steps: 4e-4 against 1e-4), so training's forward stays on im2col +
    /// GEMM (its backward can take Winograd: `inputGradientWinogradTile`,
    /// `weightGradientWinogradTile`).
    public var winogradTile = 0 {
        didSet { if winogradTile != winograd?.m { winograd = nil } }
    }
    private var winograd: WinogradConvolution?

    /// The bf16 evaluation of this layer on AMX tiles (made on first use): taken
    /// instead of Winograd or im2col when the model evaluates in bf16
    /// (`ParameterStore.evaluationPrecision`), the CPU has AMX-BF16, and the layer
    /// is one group without dilation.
    private var amx: AMXConvolution?
    private var evaluatesOnAMX: Bool {
        store.evaluationPrecision == .bfloat16 && dilation == 1 && groups == 1 && AMX.isUsable
    }

    /// Output tile m of Winograd F(m, kernel) for the training backward's input
    /// gradient; 0 (default): Wᵀ · dy GEMM + col2im. The input gradient is a
    /// stride-1 convolution of dy with the flipped, transposed weights, so it
    /// takes the evaluation path's Winograd code. Unlike the forward, its
    /// rounding (a few 1e-6 of the gradient's scale) decides no max-pool
    /// winner and stays within the PyTorch parity tolerances (AttnSleepParityTests).
    /// Used only for stride 1, dilation 1, one group, kernel > 1.
    public var inputGradientWinogradTile = 0 {
        didSet { if inputGradientWinogradTile != inputGradientWinograd?.m { inputGradientWinograd = nil } }
    }
    private var inputGradientWinograd: WinogradConvolution?
    let flippedWeight = Tensor()   // W' (C, F, K): W'[c, f, k] = W[f, c, K − 1 − k]

    /// Tile n (output-gradient steps) of Winograd F(kernel, n) for the training
    /// backward's weight gradient (`WinogradWeightGradient`); 0 (default): dy ·
    /// colᵀ GEMMs on im2col. Like the input gradient's, its rounding decides no
    /// max-pool winner. Used only for stride 1, dilation 1, one group, kernel > 1.
    public var weightGradientWinogradTile = 0 {
        didSet { if weightGradientWinogradTile != weightGradientWinograd?.n { weightGradientWinograd = nil } }
    }
    private var weightGradientWinograd: WinogradWeightGradient?

    /// True when the backward forms the weight gradient by Winograd.
    private var weightGradientByWinograd: Bool {
        weightGradientWinogradTile > 0 && backwardWinogradFits
    }

    /// True when the backward forms the input gradient by Winograd.
    private var inputGradientByWinograd: Bool {
        needsInputGradient && inputGradientWinogradTile > 0 && backwardWinogradFits
    }

    /// A layer shape the backward's Winograd paths take: stride 1, dilation 1,
    /// one group, kernel > 1, and rows (input and output) at least
    /// `winogradBackwardMinimumLength` long in the last forward.
    private var backwardWinogradFits: Bool {
        guard let x = input else { return false }
        return stride == 1 && dilation == 1 && groups == 1 && kernel > 1
            && min(x.shape[2], outputLength(x.shape[2])) >= winogradBackwardMinimumLength
    }

    /// Rows (input and output length) shorter than this keep the backward's
    /// GEMMs even with Winograd tiles set: the transforms run 16 tiles at a time,
    /// and on short rows they cost more than the products they save.
    public var winogradBackwardMinimumLength = 0

    /// Output length for an input of length `length`.
    public func outputLength(_ length: Int) -> Int {
        (length + padLeft + padRight - dilation * (kernel - 1) - 1) / stride + 1
    }

    /// True when the input itself is the im2col matrix (kernel 1, stride 1, no padding).
    var isPointwise: Bool { kernel == 1 && stride == 1 && padLeft == 0 && padRight == 0 }

    /// Samples whose weight gradients are summed together before the chunk
    /// sums are added up in order: fixed, so sums do not depend on threads.
    static let gradientChunk = 8

    /// inp (B, C, L) -> out (B, F, Lo), by im2col + GEMM (what `backward` needs).
    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        forwardIm2col(x, epilogue: nil)
    }

    /// inp (B, C, L) -> out (B, F, Lo). In evaluation (`training: false`) with a
    /// `winogradTile`, by Winograd (no backward then); otherwise as `forward(_:)`.
    @discardableResult
    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        forward(x, training: training, epilogue: nil)
    }

    /// `forward(_:training:)`, then `epilogue(out_b, b)` on each sample's output
    /// (F, Lo) while it is still in cache (from any thread; it may write only
    /// out_b and memory of its own for sample b).
    ///
    /// `rowEpilogue(out_b[f], f)` runs on each output row first (Winograd: right
    /// after the row is formed, while it is in L1; else as part of the sample's epilogue).
    func forward(_ x: Tensor, training: Bool,
                 rowEpilogue: ((UnsafeMutablePointer<Float>, Int) -> Void)? = nil,
                 epilogue: ((UnsafeMutablePointer<Float>, Int) -> Void)?) -> Tensor {
        if !training && evaluatesOnAMX { return forwardAMX(x, rowEpilogue: rowEpilogue, epilogue: epilogue) }
        guard !training && winogradTile > 0 && stride == 1 && dilation == 1 && groups == 1 && kernel > 1 else {
            guard let rowEpilogue else { return forwardIm2col(x, epilogue: epilogue) }
            let F = outChannels, Lo = outputLength(x.shape[2])
            return forwardIm2col(x, epilogue: { yb, b in
                for f in 0..<F { rowEpilogue(yb + f * Lo, f) }
                epilogue?(yb, b)
            })
        }
        let plan = winograd ?? WinogradConvolution(outputTile: winogradTile, kernel: kernel)
        winograd = plan
        precondition(x.shape[1] == inChannels, "Conv1d: input has \(x.shape[1]) channels, expected \(inChannels)")
        input = x
        plan.forward(x, weight: store.value(weight), bias: bias.map { UnsafePointer(store.value($0)) },
                     outChannels: outChannels, padLeft: padLeft, outLength: outputLength(x.shape[2]), into: output,
                     packsInput: packsDirectly, weightsSettled: store.valuesSettled, rowEpilogue: rowEpilogue,
                     epilogue: epilogue)
        return output
    }

    /// inp (B, C, L) -> out (B, F, Lo) in bf16 on AMX tiles, fp32 sums; then per sample
    /// the bias and `rowEpilogue` on each row, and `epilogue` (the sample's output is in L2).
    private func forwardAMX(_ x: Tensor, rowEpilogue: ((UnsafeMutablePointer<Float>, Int) -> Void)?,
                            epilogue: ((UnsafeMutablePointer<Float>, Int) -> Void)?) -> Tensor {
        let B = x.shape[0], C = inChannels, L = x.shape[2], F = outChannels, Lo = outputLength(L)
        precondition(x.shape[1] == C, "Conv1d: input has \(x.shape[1]) channels, expected \(C)")
        let plan = amx ?? AMXConvolution(inChannels: C, outChannels: F, kernel: kernel, stride: stride,
                                         padLeft: padLeft, padRight: padRight)
        // Later slices and chunks of one forward run on the weights the first rounded.
        if amx == nil || !store.valuesSettled { plan.setWeights(store.value(weight)) }
        amx = plan
        input = x
        output.resize(Shape(B, F, Lo))
        let lanes = laneCount(B)
        plan.reserveLanes(lanes, inputLength: L)
        let bvals = bias.map { UnsafePointer(store.value($0)) }
        let xp = UnsafePointer(x.data), yp = output.data
        let flops = 2 * F * C * kernel * Lo
        parallelLanes(B, lanes: lanes) { lane, b in
            let yb = yp + b * F * Lo
            countedAsGEMM(flops: flops) { plan.forward(sample: xp + b * C * L, length: L, into: yb, lane: lane) }
            for f in 0..<F {
                let row = yb + f * Lo
                if let bvals {
                    let v = bvals[f]
                    for t in 0..<Lo { row[t] += v }
                }
                rowEpilogue?(row, f)
            }
            epilogue?(yb, b)
        }
        return output
    }

    /// inp (B, C, L) -> out (B, F, Lo), then `epilogue(out_b, b)` on each sample's output.
    private func forwardIm2col(_ x: Tensor, epilogue: ((UnsafeMutablePointer<Float>, Int) -> Void)?) -> Tensor {
        let B = x.shape[0], C = inChannels, L = x.shape[2]
        precondition(x.shape[1] == C, "Conv1d: input has \(x.shape[1]) channels, expected \(C)")
        let F = outChannels, K = kernel, Lo = outputLength(L)
        let Cg = C / groups, Fg = F / groups, CgK = Cg * K
        if forwardRunsDirect { return forwardDirect(x, epilogue: epilogue) }
        input = x
        output.resize(Shape(B, F, Lo))
        let pointwise = isPointwise
        let group = groups == 1 && !pointwise ? Self.sampleGroup(batch: B, outLength: Lo) : 1
        if group > 1 { return forwardGrouped(x, group: group, epilogue: epilogue) }
        let lanes = laneCount(B)
        if !pointwise { col.resize(Shape(lanes, CgK, Lo)) }
        let w = store.value(weight)
        let bvals = bias.map { store.value($0) }
        let xp = x.data, yp = output.data, colBase = col.data
        // Samples are independent: each is computed the same way on any lane.
        parallelLanes(B, lanes: lanes) { lane, b in
            let xb = xp + b * C * L
            let yb = yp + b * F * Lo
            let colLane = colBase + lane * CgK * Lo
            for g in 0..<groups {
                let xg = xb + g * Cg * L
                let colPtr = columns(xg, channels: Cg, length: L, outLength: Lo, scratch: colLane)
                // y_g (Fg, Lo) = W_g (Fg, CgK) · col (CgK, Lo)
                sgemm(transA: false, transB: false, m: Fg, n: Lo, k: CgK,
                      alpha: 1, a: w + g * Fg * CgK, lda: CgK,
                      b: colPtr, ldb: Lo,
                      beta: 0, c: yb + g * Fg * Lo, ldc: Lo)
            }
            if let bv = bvals {
                for f in 0..<F {
                    let row = yb + f * Lo
                    let v = bv[f]
                    for t in 0..<Lo { row[t] += v }
                }
            }
            epilogue?(yb, b)
        }
        return output
    }

    /// Samples per GEMM for short outputs: a power of two with at most 512
    /// columns in all, and at least 8 groups for a batch of 64 or more; 1
    /// (one GEMM per sample) when Lo > 256. From the shapes only, never the threads.
    static func sampleGroup(batch B: Int, outLength Lo: Int) -> Int {
        var g = 1
        while 2 * g * Lo <= 512 { g *= 2 }
        var cap = 1
        while 2 * cap <= max(1, B / 8) { cap *= 2 }
        return max(1, min(g, cap))
    }

    /// `forward` for one group, several samples per GEMM (tiny per-sample
    /// GEMMs waste most of their time outside the kernel):
    ///
    ///     // col (C·K, G·Lo): sample q's im2col in columns q·Lo ..< (q+1)·Lo
    ///     // Y (F, G·Lo) = W (F, C·K) · col, then y_b = Y[:, q·Lo ..< (q+1)·Lo] + bias, epilogue
    private func forwardGrouped(_ x: Tensor, group: Int,
                                epilogue: ((UnsafeMutablePointer<Float>, Int) -> Void)?) -> Tensor {
        let B = x.shape[0], C = inChannels, L = x.shape[2]
        let F = outChannels, CK = C * kernel, Lo = outputLength(L)
        let N = group * Lo, chunks = (B + group - 1) / group
        let lanes = laneCount(chunks)
        col.resize(Shape(lanes, CK + F, N))    // im2col, then the GEMM's output
        let w = store.value(weight)
        let bvals = bias.map { store.value($0) }
        let xp = x.data, yp = output.data, colBase = col.data
        parallelLanes(chunks, lanes: lanes) { lane, chunk in
            let colLane = colBase + lane * (CK + F) * N, yLane = colLane + CK * N
            let s0 = chunk * group, n = min(B, s0 + group) - s0
            for q in 0..<n {
                im2col(xp + (s0 + q) * C * L, channels: C, length: L, outLength: Lo,
                       into: colLane + q * Lo, rowStride: N)
            }
            sgemm(transA: false, transB: false, m: F, n: n * Lo, k: CK,
                  alpha: 1, a: w, lda: CK,
                  b: colLane, ldb: N,
                  beta: 0, c: yLane, ldc: N)
            for q in 0..<n {
                let yb = yp + (s0 + q) * F * Lo
                for f in 0..<F {
                    let src = yLane + f * N + q * Lo, dst = yb + f * Lo
                    let v = bvals?[f] ?? 0
                    for t in 0..<Lo { dst[t] = src[t] + v }
                }
                epilogue?(yb, s0 + q)
            }
        }
        return output
    }

    /// dout (B, F, Lo) -> dinp (B, C, L); accumulates dW (F, C/g, K) and db (F).
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        backward(dy, prologue: nil)
    }

    /// `backward` that first runs `prologue(dout_b, b)` on each sample's output
    /// gradient (F, Lo), in place, before that sample's GEMMs read it (from any
    /// thread; it may write only dout_b): the last step of a layer after this
    /// one, done while the sample is in cache. The bias gradient sums the result.
    @discardableResult
    func backward(_ dy: Tensor, prologue: ((UnsafeMutablePointer<Float>, Int) -> Void)?) -> Tensor {
        guard let x = input else { preconditionFailure("Conv1d.backward before forward") }
        let B = x.shape[0], L = x.shape[2]
        let winogradInput = inputGradientByWinograd, winogradWeights = weightGradientByWinograd
        let chunk = Self.gradientChunk, chunks = (B + chunk - 1) / chunk
        let gemmInput = needsInputGradient && !winogradInput
        if runsDirect {
            backwardDirect(dy, input: x, formsWeightGradient: !winogradWeights, formsInputGradient: gemmInput,
                           prologue: prologue)
        } else {
            backwardGEMM(dy, input: x, formsWeightGradient: !winogradWeights, formsInputGradient: gemmInput,
                         prologue: prologue)
        }
        var weightChunks = chunks
        if winogradWeights {
            let plan = weightGradientWinograd ?? WinogradWeightGradient(tile: weightGradientWinogradTile, kernel: kernel)
            weightGradientWinograd = plan
            let samples = plan.samplesPerChunk(batch: B, outLength: outputLength(L))
            weightChunks = (B + samples - 1) / samples
            partialWeightGradient.resize(Shape(weightChunks, outChannels * inChannels * kernel))
            plan.chunkGradients(x: x, dy: dy, padLeft: padLeft, samplesPerChunk: samples,
                                into: partialWeightGradient.data)
        }
        finishGradients(dy, chunks: weightChunks)
        if winogradInput { inputGradientWinogradPass(dy, inputLength: L) }
        return inputGradient
    }

    /// The backward's per-sample loop on im2col + `sgemm`: prologue, then the
    /// chunk's partial dW and (`formsInputGradient`) dx by GEMMs.
    private func backwardGEMM(_ dy: Tensor, input x: Tensor, formsWeightGradient weightGrad: Bool,
                              formsInputGradient inputGrad: Bool,
                              prologue: ((UnsafeMutablePointer<Float>, Int) -> Void)?) {
        let B = x.shape[0], C = inChannels, L = x.shape[2]
        let F = outChannels, K = kernel, Lo = outputLength(L)
        let Cg = C / groups, Fg = F / groups, CgK = Cg * K
        let weightCount = F * CgK
        let chunk = Self.gradientChunk, chunks = (B + chunk - 1) / chunk
        let lanes = laneCount(chunks)
        let pointwise = isPointwise
        let w = store.value(weight)
        if inputGrad { inputGradient.resize(Shape(B, C, L)) }
        if !pointwise {
            col.resize(Shape(lanes, CgK, Lo))
            colGrad.resize(Shape(lanes, CgK, Lo))
        }
        if weightGrad { partialWeightGradient.resize(Shape(chunks, weightCount)) }
        let xp = x.data, dyp = dy.data, dxp = inputGradient.data
        let colBase = col.data, dcolBase = colGrad.data, partial = partialWeightGradient.data
        parallelLanes(chunks, lanes: lanes) { lane, c in
            let dw = partial + c * weightCount
            let colLane = colBase + lane * CgK * Lo, dcolLane = dcolBase + lane * CgK * Lo
            for b in (c * chunk)..<min(B, (c + 1) * chunk) {
                let xb = xp + b * C * L
                let dyb = dyp + b * F * Lo
                prologue?(dyb, b)
                if inputGrad && !pointwise { (dxp + b * C * L).update(repeating: 0, count: C * L) }
                for g in 0..<groups {
                    let xg = xb + g * Cg * L
                    let dyg = dyb + g * Fg * Lo
                    if weightGrad {
                        let colPtr = columns(xg, channels: Cg, length: L, outLength: Lo, scratch: colLane)
                        // dW_g (Fg, CgK) (+)= dy_g (Fg, Lo) · colᵀ (Lo, CgK), summed over the chunk's samples in order
                        sgemm(transA: false, transB: true, m: Fg, n: CgK, k: Lo,
                              alpha: 1, a: dyg, lda: Lo,
                              b: colPtr, ldb: Lo,
                              beta: b == c * chunk ? 0 : 1, c: dw + g * Fg * CgK, ldc: CgK)
                    }
                    guard inputGrad else { continue }
                    let dxg = dxp + b * C * L + g * Cg * L
                    if pointwise {
                        // dx_g (Cg, L) = W_gᵀ (Cg, Fg) · dy_g (Fg, L)
                        sgemm(transA: true, transB: false, m: Cg, n: Lo, k: Fg,
                              alpha: 1, a: w + g * Fg * CgK, lda: CgK,
                              b: dyg, ldb: Lo,
                              beta: 0, c: dxg, ldc: L)
                    } else {
                        // dcol (CgK, Lo) = W_gᵀ (CgK, Fg) · dy_g (Fg, Lo)
                        sgemm(transA: true, transB: false, m: CgK, n: Lo, k: Fg,
                              alpha: 1, a: w + g * Fg * CgK, lda: CgK,
                              b: dyg, ldb: Lo,
                              beta: 0, c: dcolLane, ldc: Lo)
                        col2im(dcolLane, channels: Cg, length: L, outLength: Lo, into: dxg)
                    }
                }
            }
        }
    }

    /// dinp (B, C, L) = conv(dout (B, F, Lo)) with W' (C, F, K), W'[c, f, k] =
    /// W[f, c, K − 1 − k], and padding K − 1 − padLeft on the left, by Winograd:
    ///
    ///     // dx[c, i] = Σ_f Σ_k W[f, c, k] · dy[f, i + padLeft − k] = Σ_f Σ_k' W'[c, f, k'] · dy[f, i − (K − 1 − padLeft) + k']
    ///
    /// dout is read after the prologue (the whole backward loop ran before).
    private func inputGradientWinogradPass(_ dy: Tensor, inputLength L: Int) {
        let C = inChannels, F = outChannels, K = kernel
        let plan = inputGradientWinograd ?? WinogradConvolution(outputTile: inputGradientWinogradTile, kernel: K)
        inputGradientWinograd = plan
        flippedWeight.resize(Shape(C, F, K))
        let w = UnsafePointer(store.value(weight)), wf = flippedWeight.data
        parallelFor(C) { c in
            for f in 0..<F {
                let src = w + (f * C + c) * K, dst = wf + (c * F + f) * K
                for k in 0..<K { dst[k] = src[K - 1 - k] }
            }
        }
        plan.forward(dy, weight: UnsafePointer(wf), bias: nil, outChannels: C, padLeft: K - 1 - padLeft,
                     outLength: L, into: inputGradient, epilogue: nil)
    }

    /// dW += Σ of the chunks' partial weight gradients, in chunk order; db += Σ dy.
    func finishGradients(_ dy: Tensor, chunks: Int) {
        let B = dy.shape[0], F = outChannels, Lo = dy.shape[2]
        let weightCount = F * (inChannels / groups) * kernel
        let partial = partialWeightGradient.data, dyp = dy.data
        let dw = store.gradient(weight)
        parallelChunks(weightCount, chunk: 4096) { range in
            for c in 0..<chunks {
                let src = partial + c * weightCount
                for i in range { dw[i] += src[i] }
            }
        }
        if let bias {
            let db = store.gradient(bias)
            parallelFor(F) { f in
                var s: Float = 0
                for b in 0..<B {
                    let row = dyp + (b * F + f) * Lo
                    for t in 0..<Lo { s += row[t] }
                }
                db[f] += s
            }
        }
    }

    /// Terms summed into each output: C/groups · kernel products (and the bias).
    public var termsPerOutput: Int { inChannels / groups * kernel }

    /// Σ |w·x| over the products summed into output (b, f, t) of the last
    /// forward, plus |bias|: the scale of that output's float rounding (any
    /// order of the sum is within about `termsPerOutput`·ε of this of any other).
    public func absoluteTermSum(sample b: Int, channel f: Int, position t: Int) -> Float {
        guard let x = input else { preconditionFailure("Conv1d.absoluteTermSum before forward") }
        let C = inChannels, L = x.shape[2], K = kernel
        let Cg = C / groups, g = f / (outChannels / groups)
        let w = store.value(weight) + f * Cg * K
        var s = Double(abs(bias.map { store.value($0)[f] } ?? 0))
        for c in 0..<Cg {
            let xc = x.data + (b * C + g * Cg + c) * L
            for k in 0..<K {
                let i = t * stride + k * dilation - padLeft
                if i >= 0 && i < L { s += Double(abs(w[c * K + k] * xc[i])) }
            }
        }
        return Float(s)
    }

    /// Range of output positions t whose input index t·stride + off lies in [0, L).
    @inline(__always)
    func validRange(offset off: Int, length L: Int, outLength Lo: Int) -> (Int, Int) {
        // t ≥ ceil(−off / stride), t ≤ floor((L − 1 − off) / stride)
        var lo = 0
        if off < 0 { lo = (-off + stride - 1) / stride }
        var hi = Lo
        if L - 1 - off < 0 { hi = 0 } else { hi = min(Lo, (L - 1 - off) / stride + 1) }
        return (lo, max(lo, hi))
    }

    /// The im2col matrix (C/groups·K, Lo) of one group's input: the input itself
    /// for a pointwise layer, else im2col into `scratch`.
    @inline(__always)
    func columns(_ xg: UnsafeMutablePointer<Float>, channels: Int, length L: Int, outLength Lo: Int,
                 scratch: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        if isPointwise { return UnsafePointer(xg) }
        im2col(xg, channels: channels, length: L, outLength: Lo, into: scratch)
        return UnsafePointer(scratch)
    }

    /// col[(c·K + k), t] = x[c, t·stride + k·dilation − padLeft] (0 outside).
    /// Rows are `rowStride` apart (default Lo).
    func im2col(_ x: UnsafePointer<Float>, channels: Int, length L: Int, outLength Lo: Int,
                        into col: UnsafeMutablePointer<Float>, rowStride: Int? = nil) {
        let K = kernel, s = stride, ld = rowStride ?? Lo
        for c in 0..<channels {
            let xc = x + c * L
            for k in 0..<K {
                let row = col + (c * K + k) * ld
                let off = k * dilation - padLeft
                let (lo, hi) = validRange(offset: off, length: L, outLength: Lo)
                if lo > 0 { row.update(repeating: 0, count: lo) }
                if s == 1 {
                    if hi > lo { row.advanced(by: lo).update(from: xc + lo + off, count: hi - lo) }
                } else {
                    for t in lo..<hi { row[t] = xc[t * s + off] }
                }
                if hi < Lo { row.advanced(by: hi).update(repeating: 0, count: Lo - hi) }
            }
        }
    }

    /// dx[c, t·stride + k·dilation − padLeft] += dcol[(c·K + k), t].
    func col2im(_ dcol: UnsafePointer<Float>, channels: Int, length L: Int, outLength Lo: Int,
                        into dx: UnsafeMutablePointer<Float>) {
        let K = kernel, s = stride
        for c in 0..<channels {
            let dxc = dx + c * L
            for k in 0..<K {
                let row = dcol + (c * K + k) * Lo
                let off = k * dilation - padLeft
                let (lo, hi) = validRange(offset: off, length: L, outLength: Lo)
                for t in lo..<hi { dxc[t * s + off] += row[t] }
            }
        }
    }
}
