import SleepNet
import Testing
import Basics
import Recordings

/// The Winograd evaluation path of Conv1d against its im2col + GEMM path.
@Suite struct WinogradConvolutionTests {
    struct Case: Sendable, CustomStringConvertible {
        var inChannels, outChannels, kernel, padding, tile, batch, length: Int
        var bias = false, causal = false
        var description: String {
            "C\(inChannels)→F\(outChannels) K\(kernel) p\(padding) F(\(tile),\(kernel)) B\(batch) L\(length)"
                + (bias ? " bias" : "") + (causal ? " causal" : "")
        }
    }

    static let cases: [Case] = [
        Case(inChannels: 16, outChannels: 24, kernel: 8, padding: 4, tile: 3, batch: 5, length: 61),
        Case(inChannels: 64, outChannels: 32, kernel: 8, padding: 4, tile: 4, batch: 9, length: 252),  // AttnSleep conv5/conv8
        Case(inChannels: 64, outChannels: 32, kernel: 8, padding: 4, tile: 3, batch: 9, length: 252),
        // 63 tiles per sample padded to two packed panels, 4 samples per group, the last group short
        Case(inChannels: 64, outChannels: 40, kernel: 8, padding: 4, tile: 4, batch: 33, length: 251),
        Case(inChannels: 12, outChannels: 8, kernel: 7, padding: 3, tile: 3, batch: 20, length: 31, bias: true),
        // 20 tiles: 16 columns 16 wide and the last 4 8 wide, in both transforms
        Case(inChannels: 30, outChannels: 30, kernel: 7, padding: 0, tile: 4, batch: 6, length: 80, causal: true),
        Case(inChannels: 3, outChannels: 5, kernel: 5, padding: 0, tile: 4, batch: 3, length: 9, causal: true),
        Case(inChannels: 4, outChannels: 4, kernel: 3, padding: 1, tile: 2, batch: 2, length: 2),       // fewer outputs than a tile
        Case(inChannels: 7, outChannels: 9, kernel: 8, padding: 0, tile: 1, batch: 70, length: 40, bias: true),
    ]

    @Test(arguments: cases)
    func matchesIm2colPath(_ c: Case) throws {
        let store = ParameterStore()
        let conv = Conv1d(store: store, name: "c", inChannels: c.inChannels, outChannels: c.outChannels,
                          kernel: c.kernel, padding: c.padding, bias: c.bias, causal: c.causal)
        store.allocate(seed: 11)
        let x = randomTensor(Shape(c.batch, c.inChannels, c.length), seed: 12)
        let direct = conv.forward(x, training: false).array
        conv.winogradTile = c.tile
        let fast = conv.forward(x, training: false)
        #expect(fast.shape == Shape(c.batch, c.outChannels, direct.count / (c.batch * c.outChannels)))
        let scale = direct.map(abs).max() ?? 1
        var worst: Float = 0
        for (a, b) in zip(fast.array, direct) { worst = max(worst, abs(a - b)) }
        #expect(worst <= 1e-5 * scale, "max error \(worst) against output scale \(scale)")
        // Long rows' transformed input written as the sgemm's packed panels (own sgemm) or
        // packed by the sgemm from plain rows: the same panels, the same bits.
        let packed = fast.array
        conv.packsDirectly = false
        let plain = conv.forward(x, training: false).array
        #expect(plain == packed)
        conv.packsDirectly = true
        // The plain forward (and so the gradient checks) stays im2col + GEMM.
        #expect(conv.forward(x).array == direct)
    }

    /// With a BatchNorm epilogue (eval: affine + GELU), one and two threads give identical results.
    @Test func batchNormEpilogueAndThreadCountIndependence() throws {
        let store = ParameterStore()
        let conv = Conv1d(store: store, name: "c", inChannels: 8, outChannels: 16, kernel: 8, padding: 4, bias: false)
        let bn = BatchNorm1d(store: store, name: "bn", channels: 16, activation: .gelu)
        let block = ConvBatchNorm1d(conv: conv, batchNorm: bn)
        store.allocate(seed: 13)
        randomizeParameters(store, seed: 14)
        for i in 0..<16 { store.bufferValue("bn.running_var")![i] = 0.5 + Float(i) / 16 }
        let x = randomTensor(Shape(33, 8, 50), seed: 15)
        let direct = bn.forward(conv.forward(x, training: false), training: false).array
        conv.winogradTile = 3
        let one = ComputeThreads.with(count: 1) { block.forward(x, training: false).array }
        let two = ComputeThreads.with(count: 2) { block.forward(x, training: false).array }
        #expect(one == two)
        let scale = direct.map(abs).max() ?? 1
        var worst: Float = 0
        for (a, b) in zip(one, direct) { worst = max(worst, abs(a - b)) }
        #expect(worst <= 1e-5 * scale, "max error \(worst) against output scale \(scale)")
    }

    /// The transformed weights are kept between forwards while the weights are
    /// unchanged; a weight changed in place (an optimizer step, a checkpoint loaded)
    /// must be seen by the next forward.
    @Test func changedWeightsAreTransformedAgain() throws {
        let store = ParameterStore()
        let conv = Conv1d(store: store, name: "c", inChannels: 16, outChannels: 24, kernel: 8, padding: 4, bias: true)
        store.allocate(seed: 21)
        conv.winogradTile = 4
        let x = randomTensor(Shape(6, 16, 90), seed: 22)
        let before = conv.forward(x, training: false).array
        #expect(conv.forward(x, training: false).array == before)
        let w = try #require(store.value("c.weight"))
        w[5] += 0.25
        w[w.count - 1] -= 0.5
        let after = conv.forward(x, training: false).array
        #expect(after != before)
        // The same weights in a conv that never saw the old ones give the same bits.
        let fresh = ParameterStore()
        let twin = Conv1d(store: fresh, name: "c", inChannels: 16, outChannels: 24, kernel: 8, padding: 4, bias: true)
        fresh.allocate(seed: 21)
        for (name, values) in [("c.weight", w), ("c.bias", try #require(store.value("c.bias")))] {
            let dst = try #require(fresh.value(name))
            for i in 0..<values.count { dst[i] = values[i] }
        }
        twin.winogradTile = 4
        #expect(twin.forward(x, training: false).array == after)
    }

    typealias Gradients = (dx: [Float], dw: [Float], db: [Float])

    /// One backward of `conv` (parameters "c.weight", "c.bias") from dy on `threads` threads.
    static func gradients(_ conv: Conv1d, _ store: ParameterStore, _ dy: Tensor, threads: Int, bias: Bool) -> Gradients {
        ComputeThreads.with(count: threads) {
            store.zeroGradients()
            let dx = conv.backward(dy).array
            let dw = Array(UnsafeBufferPointer(store.gradient("c.weight")!))
            let db = bias ? Array(UnsafeBufferPointer(store.gradient("c.bias")!)) : []
            return (dx, dw, db)
        }
    }

    /// Training's input gradient by Winograd (`inputGradientWinogradTile`) against
    /// Wᵀ · dy + col2im: within Winograd's rounding of the gradient's scale, the
    /// weight and bias gradients bit for bit the same (they do not take that path),
    /// and the same bits at one and two threads. Run on both GEMM backends' paths
    /// (the direct-packing one and im2col + `sgemm`).
    @Test(arguments: [Case(inChannels: 64, outChannels: 32, kernel: 8, padding: 4, tile: 4, batch: 9, length: 252),
                      Case(inChannels: 12, outChannels: 8, kernel: 7, padding: 3, tile: 3, batch: 20, length: 31, bias: true),
        // 20 tiles: 16 columns 16 wide and the last 4 8 wide, in both transforms
        Case(inChannels: 30, outChannels: 30, kernel: 7, padding: 0, tile: 4, batch: 6, length: 80, causal: true),
                      Case(inChannels: 3, outChannels: 5, kernel: 5, padding: 0, tile: 4, batch: 3, length: 9, causal: true),
                      Case(inChannels: 4, outChannels: 4, kernel: 3, padding: 1, tile: 2, batch: 2, length: 2)])
    func inputGradientMatchesTheGEMMPath(_ c: Case) throws {
        for direct in [true, false] {
            let store = ParameterStore()
            let conv = Conv1d(store: store, name: "c", inChannels: c.inChannels, outChannels: c.outChannels,
                              kernel: c.kernel, padding: c.padding, bias: c.bias, causal: c.causal)
            conv.packsDirectly = direct
            store.allocate(seed: 31)
            let x = randomTensor(Shape(c.batch, c.inChannels, c.length), seed: 32)
            let y = conv.forward(x).array
            let dy = randomTensor(conv.output.shape, seed: 33)
            func run(threads: Int) -> Gradients { Self.gradients(conv, store, dy, threads: threads, bias: c.bias) }
            let reference = run(threads: 1)
            conv.inputGradientWinogradTile = c.tile
            let one = run(threads: 1), two = run(threads: 2)
            #expect(one.dx == two.dx && one.dw == two.dw && one.db == two.db)
            #expect(one.dw == reference.dw && one.db == reference.db)
            #expect(one.dx.count == reference.dx.count)
            let scale = reference.dx.map(abs).max() ?? 1
            var worst: Float = 0
            for (a, b) in zip(one.dx, reference.dx) { worst = max(worst, abs(a - b)) }
            #expect(worst <= 1e-5 * scale, "\(c) direct \(direct): max error \(worst) against gradient scale \(scale)")
            // Winograd rounds differently: on the larger cases some bits differ (the path was taken).
            if c.inChannels * c.kernel >= 64 { #expect(one.dx != reference.dx, "\(c): the Winograd path was not taken") }
            // The forward stays im2col + GEMM in training.
            #expect(conv.forward(x).array == y)
        }
    }

    /// Training's weight gradient by Winograd (`weightGradientWinogradTile`)
    /// against dy · colᵀ on im2col: within Winograd's rounding; the input and bias gradients bit for bit the same; the same bits at
    /// one and two threads; with batches that do not fill the last chunk of samples.
    @Test(arguments: [Case(inChannels: 64, outChannels: 32, kernel: 8, padding: 4, tile: 4, batch: 9, length: 252),
                      Case(inChannels: 16, outChannels: 24, kernel: 8, padding: 4, tile: 2, batch: 5, length: 61),
                      Case(inChannels: 12, outChannels: 8, kernel: 7, padding: 3, tile: 3, batch: 20, length: 31, bias: true),
        // 20 tiles: 16 columns 16 wide and the last 4 8 wide, in both transforms
        Case(inChannels: 30, outChannels: 30, kernel: 7, padding: 0, tile: 4, batch: 6, length: 80, causal: true),
                      Case(inChannels: 3, outChannels: 5, kernel: 5, padding: 0, tile: 4, batch: 3, length: 9, causal: true),
                      Case(inChannels: 4, outChannels: 4, kernel: 3, padding: 1, tile: 2, batch: 2, length: 2)])
    func weightGradientMatchesTheGEMMPath(_ c: Case) throws {
        for direct in [true, false] {
            let store = ParameterStore()
            let conv = Conv1d(store: store, name: "c", inChannels: c.inChannels, outChannels: c.outChannels,
                              kernel: c.kernel, padding: c.padding, bias: c.bias, causal: c.causal)
            conv.packsDirectly = direct
            store.allocate(seed: 41)
            let x = randomTensor(Shape(c.batch, c.inChannels, c.length), seed: 42)
            conv.forward(x)
            let dy = randomTensor(conv.output.shape, seed: 43)
            func run(threads: Int) -> Gradients { Self.gradients(conv, store, dy, threads: threads, bias: c.bias) }
            let reference = run(threads: 1)
            conv.weightGradientWinogradTile = c.tile
            let one = run(threads: 1), two = run(threads: 2)
            #expect(one.dx == two.dx && one.dw == two.dw && one.db == two.db)
            #expect(one.dx == reference.dx && one.db == reference.db)
            let scale = reference.dw.map(abs).max() ?? 1
            var worst: Float = 0
            for (a, b) in zip(one.dw, reference.dw) { worst = max(worst, abs(a - b)) }
            // Each element sums B·Lo products whose signs mostly cancel: 5e-5 of the
            // largest gradient is about 1e-6 of the products' magnitude Σ|dy·x|.
            #expect(worst <= 5e-5 * scale, "\(c) direct \(direct): max error \(worst) against gradient scale \(scale)")
            if c.inChannels * c.kernel >= 64 { #expect(one.dw != reference.dw, "\(c): the Winograd path was not taken") }
            print("winograd dW \(c) direct \(direct): max error \(worst / scale) of the gradient's scale")
        }
    }
}
