import SleepNet
import Testing
import Basics
import Recordings
import Evaluation

/// One convolution configuration for the gradient sweep.
struct ConvCase: Sendable, CustomStringConvertible {
    var inChannels, outChannels, kernel: Int
    var stride = 1, padding = 0, dilation = 1, groups = 1
    var bias = false, causal = false
    var length = 11

    var description: String {
        "C\(inChannels)→F\(outChannels) K\(kernel) s\(stride) p\(padding) d\(dilation) g\(groups)"
            + (bias ? " bias" : "") + (causal ? " causal" : "") + " L\(length)"
    }
}

@Suite struct Conv1dTests {
    static let cases: [ConvCase] = [
        ConvCase(inChannels: 1, outChannels: 4, kernel: 5, stride: 2, padding: 2, length: 17),
        ConvCase(inChannels: 3, outChannels: 4, kernel: 3, padding: 1, bias: true),
        ConvCase(inChannels: 4, outChannels: 6, kernel: 3, padding: 2, dilation: 2),
        ConvCase(inChannels: 4, outChannels: 4, kernel: 3, padding: 1, groups: 4, bias: true),
        ConvCase(inChannels: 6, outChannels: 4, kernel: 2, stride: 2, groups: 2),
        ConvCase(inChannels: 3, outChannels: 3, kernel: 4, bias: true, causal: true),
        ConvCase(inChannels: 2, outChannels: 3, kernel: 3, dilation: 2, bias: true, causal: true),
        ConvCase(inChannels: 5, outChannels: 3, kernel: 1, bias: true),
        ConvCase(inChannels: 2, outChannels: 3, kernel: 6, stride: 3, padding: 3, length: 20),
    ]

    @Test(arguments: cases)
    func backwardMatchesFiniteDifferences(_ c: ConvCase) throws {
        let store = ParameterStore()
        let conv = Conv1d(store: store, name: "conv", inChannels: c.inChannels, outChannels: c.outChannels,
                          kernel: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation,
                          groups: c.groups, bias: c.bias, causal: c.causal)
        store.allocate(seed: 1)
        let x = randomTensor(Shape(2, c.inChannels, c.length), seed: 2)
        let checker = GradientChecker(seed: 3) { conv.forward(x) }
        let expectedLength = c.causal
            ? c.length
            : (c.length + 2 * c.padding - c.dilation * (c.kernel - 1) - 1) / c.stride + 1
        #expect(conv.output.shape == Shape(2, c.outChannels, expectedLength))
        store.zeroGradients()
        conv.forward(x)
        let dx = conv.backward(checker.upstream).array
        checker.check("dx", values: x.buffer, analytic: dx)
        checker.check("dweight", values: store.value("conv.weight")!, analytic: Array(store.gradient("conv.weight")!))
        if c.bias {
            checker.check("dbias", values: store.value("conv.bias")!, analytic: Array(store.gradient("conv.bias")!))
        }
    }

    /// Against a direct sum over the kernel (PyTorch's definition), with causal padding.
    @Test func causalForwardMatchesDirectSum() throws {
        let store = ParameterStore()
        let conv = Conv1d(store: store, name: "c", inChannels: 2, outChannels: 3, kernel: 3, dilation: 2, causal: true)
        store.allocate(seed: 4)
        let x = randomTensor(Shape(2, 2, 9), seed: 5)
        let y = conv.forward(x)
        let w = store.value("c.weight")!, b = store.value("c.bias")!
        for n in 0..<2 { for f in 0..<3 { for t in 0..<9 {
            var s = Double(b[f])
            for c in 0..<2 { for k in 0..<3 {
                let i = t + 2 * k - 4
                if i >= 0 { s += Double(w[(f * 2 + c) * 3 + k]) * Double(x.data[(n * 2 + c) * 9 + i]) }
            } }
            #expect(abs(Float(s) - y.data[(n * 3 + f) * 9 + t]) < 1e-5)
        } } }
    }

    /// Σ|w·x| (+ |bias|) of one output, the scale of its rounding, against a direct sum
    /// over the kernel; every case of the sweep (stride, dilation, groups, padding).
    @Test(arguments: cases)
    func absoluteTermSumMatchesADirectSum(_ c: ConvCase) throws {
        let store = ParameterStore()
        let conv = Conv1d(store: store, name: "conv", inChannels: c.inChannels, outChannels: c.outChannels,
                          kernel: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation,
                          groups: c.groups, bias: c.bias, causal: c.causal)
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 4)
        let x = randomTensor(Shape(2, c.inChannels, c.length), seed: 2)
        let y = conv.forward(x)
        let Lo = y.shape[2], Cg = c.inChannels / c.groups, Fg = c.outChannels / c.groups
        let padLeft = c.causal ? c.dilation * (c.kernel - 1) : c.padding
        let w = store.value("conv.weight")!
        #expect(conv.termsPerOutput == Cg * c.kernel)
        for b in 0..<2 { for f in 0..<c.outChannels { for t in 0..<Lo {
            var sum = c.bias ? Double(abs(store.value("conv.bias")![f])) : 0
            for ci in 0..<Cg { for k in 0..<c.kernel {
                let i = t * c.stride + k * c.dilation - padLeft
                guard i >= 0 && i < c.length else { continue }
                let term = Double(w[(f * Cg + ci) * c.kernel + k]) * Double(x.data[(b * c.inChannels + f / Fg * Cg + ci) * c.length + i])
                sum += abs(term)
            } }
            let got = conv.absoluteTermSum(sample: b, channel: f, position: t)
            #expect(abs(Double(got) - sum) <= 1e-6 * max(1, sum), "(\(b), \(f), \(t)): \(got) vs \(sum)")
            // The output itself is no larger than its terms' absolute sum.
            #expect(abs(Double(y.data[(b * c.outChannels + f) * Lo + t])) <= sum * (1 + 1e-6) + 1e-6)
        } } }
    }

    /// Backward accumulates (+=) into parameter gradients.
    @Test func backwardAccumulatesParameterGradients() throws {
        let store = ParameterStore()
        let conv = Conv1d(store: store, name: "c", inChannels: 2, outChannels: 2, kernel: 3, padding: 1)
        store.allocate(seed: 6)
        let x = randomTensor(Shape(1, 2, 5), seed: 7), dy = randomTensor(Shape(1, 2, 5), seed: 8)
        conv.forward(x)
        conv.backward(dy)
        let once = Array(store.gradient("c.weight")!)
        conv.backward(dy)
        let twice = Array(store.gradient("c.weight")!)
        for i in 0..<once.count { #expect(abs(twice[i] - 2 * once[i]) <= 1e-6 * max(1, abs(once[i]))) }
    }

    /// A batch of 32 short outputs runs several samples per GEMM; each sample
    /// must come out as when it is convolved alone (batch 1: one GEMM).
    @Test func groupedSamplesMatchOneByOne() throws {
        let store = ParameterStore()
        let conv = Conv1d(store: store, name: "c", inChannels: 3, outChannels: 5, kernel: 7, bias: true, causal: true)
        store.allocate(seed: 9)
        randomizeParameters(store, seed: 10)
        let B = 32, C = 3, F = 5, L = 40
        let x = randomTensor(Shape(B, C, L), seed: 11)
        let grouped = ComputeThreads.with(count: 1) { conv.forward(x).array }
        // Groups are cut from the batch alone: 2 threads give the same bits.
        let groupedTwoThreads = ComputeThreads.with(count: 2) { conv.forward(x).array }
        #expect(groupedTwoThreads == grouped)
        let one = Tensor(shape: Shape(1, C, L))
        var worst: Float = 0
        for b in 0..<B {
            one.data.update(from: x.data + b * C * L, count: C * L)
            let y = conv.forward(one).array
            for i in 0..<(F * L) { worst = max(worst, abs(grouped[b * F * L + i] - y[i])) }
        }
        #expect(worst <= 1e-6, "grouped against one by one: max difference \(worst)")
    }
}
