import Basics
/// Squeeze-and-excitation gate: each channel scaled by
/// sigmoid(W2·relu(W1·mean_t(x))), AttnSleep's SELayer (`se.fc.0`, `se.fc.2`, no biases).
///
///     // inp (B, C, L) -> out (B, C, L);  fc.0 (C/r, C), fc.2 (C, C/r)
public final class SqueezeExcitation {
    public let channels, reduced: Int

    let fc1: Linear
    let relu = ReLU()
    let fc2: Linear

    public let output = Tensor()
    public let inputGradient = Tensor()
    private let squeezed = Tensor()   // (B, C) channel means
    private let gate = Tensor()       // (B, C) sigmoid outputs
    private let dGatePre = Tensor()   // (B, C)
    private var input: Tensor?

    public init(store: ParameterStore, name: String, channels: Int, reduction: Int) {
        self.channels = channels
        reduced = max(1, channels / reduction)
        fc1 = Linear(store: store, name: name + ".fc.0", inFeatures: channels, outFeatures: reduced, bias: false)
        fc2 = Linear(store: store, name: name + ".fc.2", inFeatures: reduced, outFeatures: channels, bias: false)
    }

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        let B = x.shape[0], C = channels, L = x.shape[2]
        input = x
        squeezed.resize(Shape(B, C))
        let xp = x.data, sp = squeezed.data
        for bc in 0..<(B * C) {
            var s: Float = 0
            let row = xp + bc * L
            for t in 0..<L { s += row[t] }
            sp[bc] = s / Float(L)
        }
        let pre = fc2.forward(relu.forward(fc1.forward(squeezed)))
        gate.resize(Shape(B, C))
        let gp = gate.data
        for i in 0..<(B * C) { gp[i] = sigmoid(pre.data[i]) }
        output.resize(x.shape)
        let yp = output.data
        for bc in 0..<(B * C) {
            let g = gp[bc], row = xp + bc * L, out = yp + bc * L
            for t in 0..<L { out[t] = row[t] * g }
        }
        return output
    }

    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("SqueezeExcitation.backward before forward") }
        let B = x.shape[0], C = channels, L = x.shape[2]
        dGatePre.resize(Shape(B, C))
        let xp = x.data, gp = gate.data, dyp = dy.data, dpre = dGatePre.data
        for bc in 0..<(B * C) {
            var s: Float = 0
            let row = xp + bc * L, g = dyp + bc * L
            for t in 0..<L { s += g[t] * row[t] }
            dpre[bc] = s * gp[bc] * (1 - gp[bc])
        }
        let ds = fc1.backward(relu.backward(fc2.backward(dGatePre)))
        inputGradient.resize(x.shape)
        let dxp = inputGradient.data, dsp = ds.data
        for bc in 0..<(B * C) {
            let g = gp[bc], add = dsp[bc] / Float(L)
            let gr = dyp + bc * L, out = dxp + bc * L
            for t in 0..<L { out[t] = gr[t] * g + add }
        }
        return inputGradient
    }
}
