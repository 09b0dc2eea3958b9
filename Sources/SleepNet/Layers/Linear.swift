import Basics
import MatrixAMX
/// Fully connected layer over the last dimension, PyTorch's `nn.Linear`.
///
///     // inp (N, …, in) -> out (N, …, out),  y = x Wᵀ + b;  weight (out, in), bias (out)
///     // inp (B, T, D) with T·D = in -> out (B, out) (flattened)
public final class Linear {
    public let inFeatures, outFeatures: Int
    public let hasBias: Bool

    let store: ParameterStore
    let weight: TensorView
    let bias: TensorView?

    public let output = Tensor()
    public let inputGradient = Tensor()
    private var input: Tensor?
    private let partialWeightGradient = Tensor()  // (chunks, out · in)
    /// The bf16 evaluation on AMX tiles (made on first use), when the model evaluates
    /// in bf16 (`ParameterStore.evaluationPrecision`) and the CPU has AMX-BF16.
    private var amx: AMXLinear?

    /// Registers `name.weight` (kaiming-uniform(a=√5) = uniform(±1/√in)) and `name.bias`.
    public init(store: ParameterStore, name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true,
         receivesGradient: Bool = true) {
        self.store = store
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        hasBias = bias
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = store.registerParameter(name + ".weight", shape: [outFeatures, inFeatures],
                                         initializer: .uniform(bound: bound), receivesGradient: receivesGradient)
        self.bias = bias
            ? store.registerParameter(name + ".bias", shape: [outFeatures], initializer: .uniform(bound: bound),
                                      receivesGradient: receivesGradient)
            : nil
    }

    /// Output shape: the input's with the last dimension replaced, or (rows, out)
    /// when the last dimension is not `inFeatures` (the input is flattened per row).
    private func outputShape(_ s: Shape) -> Shape {
        if s[s.rank - 1] != inFeatures { return Shape(s.count / inFeatures, outFeatures) }
        switch s.rank {
        case 1: return Shape(outFeatures)
        case 2: return Shape(s[0], outFeatures)
        case 3: return Shape(s[0], s[1], outFeatures)
        default: return Shape(s[0], s[1], s[2], outFeatures)
        }
    }

    /// Rows per GEMM call and per weight-gradient partial sum: fixed, so
    /// results do not depend on the thread count.
    static let rowChunk = 256

    /// `forward(_:)`, or in evaluation (`training: false`) of a model that evaluates in
    /// bf16, with bf16 products on AMX tiles (no backward then).
    @discardableResult
    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        guard !training && store.evaluationPrecision == .bfloat16 && AMX.isUsable else { return forward(x) }
        let rows = x.count / inFeatures, I = inFeatures, O = outFeatures
        let plan = amx ?? AMXLinear(inFeatures: I, outFeatures: O)
        // Later slices and chunks of one forward run on the weights the first rounded.
        if amx == nil || !store.valuesSettled { plan.setWeights(store.value(weight)) }
        amx = plan
        input = x
        output.resize(outputShape(x.shape))
        let xp = UnsafePointer(x.data), yp = output.data
        let bv = bias.map { UnsafePointer(store.value($0)) }
        let chunk = Self.rowChunk, chunks = (rows + chunk - 1) / chunk, lanes = laneCount(chunks)
        plan.reserveLanes(lanes)
        parallelLanes(chunks, lanes: lanes) { lane, c in
            let r0 = c * chunk, n = min(rows, r0 + chunk) - r0
            countedAsGEMM(flops: 2 * n * O * I) { plan.forward(rows: xp + r0 * I, count: n, into: yp + r0 * O, lane: lane) }
            if let bv {
                for row in r0..<(r0 + n) { for o in 0..<O { yp[row * O + o] += bv[o] } }
            }
        }
        return output
    }

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        let rows = x.count / inFeatures, I = inFeatures, O = outFeatures
        input = x
        output.resize(outputShape(x.shape))
        let w = store.value(weight), xp = x.data, yp = output.data
        let bv = bias.map { store.value($0) }
        parallelChunks(rows, chunk: Self.rowChunk) { r in
            // y (rows, out) = x (rows, in) · Wᵀ (in, out)
            sgemm(transA: false, transB: true, m: r.count, n: O, k: I,
                  alpha: 1, a: xp + r.lowerBound * I, lda: I,
                  b: w, ldb: I,
                  beta: 0, c: yp + r.lowerBound * O, ldc: O)
            if let bv {
                for row in r { for o in 0..<O { yp[row * O + o] += bv[o] } }
            }
        }
        return output
    }

    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("Linear.backward before forward") }
        let rows = x.count / inFeatures, I = inFeatures, O = outFeatures
        let chunk = Self.rowChunk, chunks = (rows + chunk - 1) / chunk
        inputGradient.resize(x.shape)
        partialWeightGradient.resize(Shape(chunks, O * I))
        let w = store.value(weight), xp = x.data, g = dy.data, dxp = inputGradient.data
        let partial = partialWeightGradient.data
        parallelFor(chunks) { c in
            let r0 = c * chunk, n = min(rows, r0 + chunk) - r0
            // dx (rows, in) = dy (rows, out) · W (out, in)
            sgemm(transA: false, transB: false, m: n, n: I, k: O,
                  alpha: 1, a: g + r0 * O, lda: O,
                  b: w, ldb: I,
                  beta: 0, c: dxp + r0 * I, ldc: I)
            // dW_c (out, in) = dyᵀ (out, rows_c) · x (rows_c, in)
            sgemm(transA: true, transB: false, m: O, n: I, k: n,
                  alpha: 1, a: g + r0 * O, lda: O,
                  b: xp + r0 * I, ldb: I,
                  beta: 0, c: partial + c * O * I, ldc: I)
        }
        // dW += Σ chunks in order.
        let dw = store.gradient(weight)
        parallelChunks(O * I, chunk: 4096) { r in
            for c in 0..<chunks {
                let src = partial + c * O * I
                for i in r { dw[i] += src[i] }
            }
        }
        if let bias {
            let db = store.gradient(bias)
            parallelFor(O) { o in
                var s: Float = 0
                for r in 0..<rows { s += g[r * O + o] }
                db[o] += s
            }
        }
        return inputGradient
    }
}
