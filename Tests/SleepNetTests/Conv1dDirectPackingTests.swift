import SleepNet
import Testing
import Basics

/// Conv1d packing its GEMM operands straight from the input and the weights
/// (`packsDirectly`, on sleepfold's own sgemm) against im2col + `sgemm`: the same
/// bits, forward and backward, at 1 and 2 threads, over shapes that cut
/// samples, chunks, K blocks (C·K > 256, Lo > 256) and panels at their edges
/// (strided forwards pack from their input split by phase; dilated layers keep im2col).
@Suite(.enabled(if: GEMMBackend.current.isOwn, "direct packing runs on sleepfold's own sgemm only"))
struct Conv1dDirectPackingTests {
    static let cases: [ConvCase] = [
        // The CNN's first layer: Lo 300 > 256 (one sample per GEMM, two K blocks in dW).
        ConvCase(inChannels: 1, outChannels: 8, kernel: 50, stride: 6, padding: 24, length: 1800),
        // The long-kernel branch's first layer: C·K 400 (two K blocks), Lo 37, panels across samples.
        ConvCase(inChannels: 1, outChannels: 6, kernel: 400, stride: 50, padding: 200, length: 1800),
        // Strided, several channels, a kernel shorter than the stride on the right edge.
        ConvCase(inChannels: 3, outChannels: 5, kernel: 5, stride: 3, padding: 2, bias: true, length: 100),
        // C·K 320: two K blocks; two samples per GEMM.
        ConvCase(inChannels: 40, outChannels: 24, kernel: 8, padding: 4, length: 120),
        // Short outputs: many samples per GEMM, panels across samples.
        ConvCase(inChannels: 36, outChannels: 20, kernel: 7, padding: 3, bias: true, length: 13),
        ConvCase(inChannels: 5, outChannels: 9, kernel: 3, stride: 2, padding: 2, dilation: 2, bias: true, length: 70),
        ConvCase(inChannels: 3, outChannels: 4, kernel: 4, bias: true, causal: true, length: 300),
    ]

    struct Result: Equatable {
        var y: [Float], dx: [Float], dw: [Float], db: [Float]
    }

    static func run(_ c: ConvCase, direct: Bool, inputGradient: Bool, threads: Int) -> Result {
        let B = 9
        let store = ParameterStore()
        let conv = Conv1d(store: store, name: "conv", inChannels: c.inChannels, outChannels: c.outChannels,
                          kernel: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation,
                          bias: c.bias, causal: c.causal)
        conv.packsDirectly = direct
        conv.needsInputGradient = inputGradient
        store.allocate(seed: 1)
        randomizeParameters(store, seed: 4)
        let x = randomTensor(Shape(B, c.inChannels, c.length), seed: 2)
        let dy = randomTensor(Shape(B, c.outChannels, conv.outputLength(c.length)), seed: 3)
        return ComputeThreads.with(count: threads) {
            let y = conv.forward(x).array
            store.zeroGradients()
            let dx = conv.backward(dy)
            return Result(y: y, dx: inputGradient ? dx.array : [], dw: Array(store.gradient("conv.weight")!),
                          db: c.bias ? Array(store.gradient("conv.bias")!) : [])
        }
    }

    @Test(arguments: cases, [true, false])
    func directPackingMatchesIm2colBitForBit(_ c: ConvCase, inputGradient: Bool) {
        let reference = Self.run(c, direct: false, inputGradient: inputGradient, threads: 1)
        // Not vacuous: outputs and gradients are there and not all zero.
        #expect(reference.y.contains { $0 != 0 } && reference.dw.contains { $0 != 0 })
        #expect(!inputGradient || reference.dx.contains { $0 != 0 })
        for threads in [1, 2] {
            let direct = Self.run(c, direct: true, inputGradient: inputGradient, threads: threads)
            #expect(direct.y.elementsEqual(reference.y) { $0.bitPattern == $1.bitPattern }, "y, \(threads) threads")
            #expect(direct.dx.elementsEqual(reference.dx) { $0.bitPattern == $1.bitPattern }, "dx, \(threads) threads")
            #expect(direct.dw.elementsEqual(reference.dw) { $0.bitPattern == $1.bitPattern }, "dW, \(threads) threads")
            #expect(direct.db.elementsEqual(reference.db) { $0.bitPattern == $1.bitPattern }, "db, \(threads) threads")
        }
    }
}
