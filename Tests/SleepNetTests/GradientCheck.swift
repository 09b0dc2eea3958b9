import SleepNet
import Testing
import Basics

/// A tensor of uniform values in [−scale, scale) drawn from `seed`.
func randomTensor(_ shape: Shape, seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor(shape: shape, values: (0..<shape.count).map { _ in (rng.nextUnitFloat() * 2 - 1) * scale })
}

/// Fills every parameter of `store` with uniform values in [−scale, scale) (so
/// that gradients are not degenerate, e.g. BatchNorm weights away from 1).
func randomizeParameters(_ store: ParameterStore, seed: UInt64, scale: Float = 0.5) {
    var rng = SeededGenerator(seed: seed)
    for p in store.parameters {
        let v = store.value(p.name)!
        for i in 0..<v.count { v[i] = (rng.nextUnitFloat() * 2 - 1) * scale }
    }
}

/// Central-difference check of analytic gradients for a scalar loss
/// L = Σ out·R (R a fixed random upstream gradient), summed in Double.
struct GradientChecker {
    /// Runs the forward pass and returns its output.
    let forward: () -> Tensor
    /// Upstream gradient R, as many values as the output.
    let upstream: Tensor

    init(seed: UInt64, forward: @escaping () -> Tensor) {
        self.forward = forward
        let out = forward()
        upstream = randomTensor(out.shape, seed: seed)
    }

    func loss() -> Double {
        let out = forward()
        var s = 0.0
        for i in 0..<out.count { s += Double(out.data[i]) * Double(upstream.data[i]) }
        return s
    }

    /// Compares `analytic` (dL/dvalues) with central differences at up to
    /// `samples` indices: |numeric − analytic| ≤ atol + rtol·max|analytic|.
    func check(_ name: String, values: UnsafeMutableBufferPointer<Float>, analytic: [Float],
               h: Float = 1e-2, samples: Int = 48, rtol: Float = 1e-2, atol: Float = 2e-3,
               sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(values.count == analytic.count, "\(name): \(analytic.count) gradients for \(values.count) values",
                sourceLocation: sourceLocation)
        let scale = analytic.map { abs($0) }.max() ?? 0
        #expect(scale > 0, "\(name): gradient is all zero", sourceLocation: sourceLocation)
        let tol = atol + rtol * scale
        let step = max(1, values.count / samples)
        var worst: Float = 0
        for i in stride(from: 0, to: values.count, by: step) {
            let saved = values[i]
            values[i] = saved + h
            let plus = loss()
            values[i] = saved - h
            let minus = loss()
            values[i] = saved
            let numeric = Float((plus - minus) / Double(2 * h))
            worst = max(worst, abs(numeric - analytic[i]))
            #expect(abs(numeric - analytic[i]) <= tol,
                    "\(name)[\(i)]: numeric \(numeric) vs analytic \(analytic[i]) (tolerance \(tol))",
                    sourceLocation: sourceLocation)
        }
    }
}

extension GradientChecker {
    /// Like `check`, for values behind max-pools: where a step of h flips a pool's
    /// choice the loss has a kink and a central difference is no derivative. Such
    /// indices are recognised by central differences at h and h/2 that disagree, and
    /// skipped; at most a quarter of the sampled indices may be skipped.
    func checkAwayFromKinks(_ name: String, values: UnsafeMutableBufferPointer<Float>, analytic: [Float],
                            h: Float = 2e-3, samples: Int = 24, rtol: Float = 2e-2, atol: Float = 5e-3,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        let scale = analytic.map { abs($0) }.max() ?? 0
        #expect(scale > 0, "\(name): gradient is all zero", sourceLocation: sourceLocation)
        let tol = atol + rtol * scale
        func central(_ i: Int, _ step: Float) -> Float {
            let saved = values[i]
            values[i] = saved + step
            let plus = loss()
            values[i] = saved - step
            let minus = loss()
            values[i] = saved
            return Float((plus - minus) / Double(2 * step))
        }
        var checked = 0, skipped = 0
        for i in stride(from: 0, to: values.count, by: max(1, values.count / samples)) {
            let coarse = central(i, h), fine = central(i, h / 2)
            if abs(coarse - fine) > tol / 2 { skipped += 1; continue }
            checked += 1
            #expect(abs(fine - analytic[i]) <= tol,
                    "\(name)[\(i)]: numeric \(fine) vs analytic \(analytic[i]) (tolerance \(tol))", sourceLocation: sourceLocation)
        }
        #expect(skipped * 3 <= checked, "\(name): \(skipped) of \(checked + skipped) indices at kinks", sourceLocation: sourceLocation)
    }
}
