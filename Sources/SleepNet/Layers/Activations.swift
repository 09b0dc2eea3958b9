import Foundation
import Basics
import Elementwise

/// GELU, exact (erf) form: y = x·Φ(x) = ½x(1 + erf(x/√2)).
///
///     // inp (any shape) -> out (same)
public final class GELU {
    public let output = Tensor()
    public let inputGradient = Tensor()
    private var input: Tensor?

    public init() {}

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        input = x
        output.resize(x.shape)
        let xp = x.data, yp = output.data
        parallelChunks(x.count, chunk: 16384) { r in
            for i in r { yp[i] = gelu(xp[i]) }
        }
        return output
    }

    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("GELU.backward before forward") }
        inputGradient.resize(x.shape)
        let xp = x.data, gp = dy.data, dxp = inputGradient.data
        parallelChunks(x.count, chunk: 16384) { r in
            for i in r { dxp[i] = gp[i] * geluDerivative(xp[i]) }
        }
        return inputGradient
    }
}

/// ½x(1 + erf(x/√2)).
@inline(__always)
func gelu(_ x: Float) -> Float { geluValue(x) }

/// Φ(x) + x·φ(x).
@inline(__always)
func geluDerivative(_ x: Float) -> Float { geluAndDerivative(x).derivative }

/// ReLU: y = max(x, 0); the gradient passes where y > 0 (PyTorch's rule at 0).
///
///     // inp (any shape) -> out (same)
public final class ReLU {
    public let output = Tensor()
    public let inputGradient = Tensor()

    public init() {}

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        output.resize(x.shape)
        let xp = x.data, yp = output.data
        parallelChunks(x.count, chunk: 16384) { r in for i in r { yp[i] = max(xp[i], 0) } }
        return output
    }

    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        inputGradient.resize(output.shape)
        let yp = output.data, gp = dy.data, dxp = inputGradient.data
        parallelChunks(output.count, chunk: 16384) { r in for i in r { dxp[i] = yp[i] > 0 ? gp[i] : 0 } }
        return inputGradient
    }
}

/// Logistic sigmoid 1/(1 + e^−x).
@inline(__always)
func sigmoid(_ x: Float) -> Float {
    1 / (1 + exp(-x))
}
