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

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        let rows = x.count / inFeatures
        input = x
        output.resize(outputShape(x.shape))
        let w = store.value(weight)
        // y (rows, out) = x (rows, in) · Wᵀ (in, out)
        sgemm(transA: false, transB: true, m: rows, n: outFeatures, k: inFeatures,
              alpha: 1, a: x.data, lda: inFeatures,
              b: w, ldb: inFeatures,
              beta: 0, c: output.data, ldc: outFeatures)
        if let bias {
            let bv = store.value(bias), y = output.data, O = outFeatures
            for r in 0..<rows { for o in 0..<O { y[r * O + o] += bv[o] } }
        }
        return output
    }

    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("Linear.backward before forward") }
        let rows = x.count / inFeatures, I = inFeatures, O = outFeatures
        inputGradient.resize(x.shape)
        // dx (rows, in) = dy (rows, out) · W (out, in)
        sgemm(transA: false, transB: false, m: rows, n: I, k: O,
              alpha: 1, a: dy.data, lda: O,
              b: store.value(weight), ldb: I,
              beta: 0, c: inputGradient.data, ldc: I)
        // dW (out, in) += dyᵀ (out, rows) · x (rows, in)
        sgemm(transA: true, transB: false, m: O, n: I, k: rows,
              alpha: 1, a: dy.data, lda: O,
              b: x.data, ldb: I,
              beta: 1, c: store.gradient(weight), ldc: I)
        if let bias {
            let db = store.gradient(bias), g = dy.data
            for o in 0..<O {
                var s: Float = 0
                for r in 0..<rows { s += g[r * O + o] }
                db[o] += s
            }
        }
        return inputGradient
    }
}
