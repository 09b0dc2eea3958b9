import Foundation
import Basics

/// Adam as PyTorch's `torch.optim.Adam(lr, betas, eps, weight_decay, amsgrad)`:
/// L2 weight decay added to the gradient (not decoupled), bias-corrected
/// moments, and with AMSGrad the running maximum of the second moment.
///
/// The moments live in three blocks laid out as the parameter block. A
/// parameter that never receives a gradient is never touched, not even by
/// weight decay (PyTorch skips parameters whose `.grad` is None).
public final class Adam {
    public var learningRate: Float
    public let beta1, beta2, epsilon, weightDecay: Float
    public let amsgrad: Bool
    /// Steps taken so far.
    public private(set) var stepCount = 0

    let store: ParameterStore
    /// First moment (exp_avg), one block.
    public let firstMoment: UnsafeMutablePointer<Float>
    /// Second moment (exp_avg_sq), one block.
    public let secondMoment: UnsafeMutablePointer<Float>
    /// Running maximum of the second moment (max_exp_avg_sq), one block.
    public let maxSecondMoment: UnsafeMutablePointer<Float>
    private let ranges: [Range<Int>]

    /// An optimiser over every parameter of `store` that receives gradients.
    public init(store: ParameterStore, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0, amsgrad: Bool = false) {
        self.store = store
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        let n = max(1, store.parameterCount)
        firstMoment = .allocate(capacity: n)
        secondMoment = .allocate(capacity: n)
        maxSecondMoment = .allocate(capacity: n)
        firstMoment.update(repeating: 0, count: n)
        secondMoment.update(repeating: 0, count: n)
        maxSecondMoment.update(repeating: 0, count: n)
        // Consecutive trainable parameters merge into one range.
        var rs: [Range<Int>] = []
        for p in store.parameters where p.receivesGradient {
            let r = p.view.offset..<(p.view.offset + p.view.count)
            if let last = rs.last, last.upperBound == r.lowerBound {
                rs[rs.count - 1] = last.lowerBound..<r.upperBound
            } else {
                rs.append(r)
            }
        }
        ranges = rs
    }

    /// An optimiser with a training config's settings (lr of epoch 1).
    public convenience init(store: ParameterStore, config c: TrainingConfig) {
        self.init(store: store, learningRate: c.learningRate, beta1: c.beta1, beta2: c.beta2,
                  epsilon: c.epsilon, weightDecay: c.weightDecay, amsgrad: c.amsgrad)
    }

    deinit {
        firstMoment.deallocate()
        secondMoment.deallocate()
        maxSecondMoment.deallocate()
    }

    /// One update of every trainable parameter from `store.gradients`.
    public func step() {
        stepCount += 1
        let t = Double(stepCount)
        let bc1 = 1 - pow(Double(beta1), t)
        let bc2 = 1 - pow(Double(beta2), t)
        let stepSize = Float(Double(learningRate) / bc1)
        let bc2Sqrt = Float(bc2.squareRoot())
        let b1 = beta1, b2 = beta2, oneMinusB1 = 1 - beta1, oneMinusB2 = 1 - beta2
        let wd = weightDecay, eps = epsilon, ams = amsgrad
        let p = store.values, g = store.gradients
        let m = firstMoment, v = secondMoment, vmax = maxSecondMoment
        // One element's update; the settings are constants in each loop below,
        // so every loop is branch-free and vectorises.
        @inline(__always)
        func update(_ i: Int, decay: Bool, smallWeight: Bool, ams: Bool) {
            var grad = g[i]
            if decay { grad += wd * p[i] }
            // exp_avg.lerp_(grad, 1 − β1), PyTorch's lerp formula for weight < 0.5.
            m[i] = smallWeight ? m[i] + oneMinusB1 * (grad - m[i]) : grad - (grad - m[i]) * b1
            v[i] = v[i] * b2 + oneMinusB2 * grad * grad
            let second: Float
            if ams {
                vmax[i] = max(vmax[i], v[i])
                second = vmax[i]
            } else {
                second = v[i]
            }
            let denom = second.squareRoot() / bc2Sqrt + eps
            p[i] = p[i] - stepSize * (m[i] / denom)
        }
        let decay = wd != 0, smallWeight = oneMinusB1 < 0.5
        for range in ranges {
            parallelChunks(range.count, chunk: 32768) { sub in
                let r = (range.lowerBound + sub.lowerBound)..<(range.lowerBound + sub.upperBound)
                switch (decay, smallWeight, ams) {
                case (true, true, true): for i in r { update(i, decay: true, smallWeight: true, ams: true) }
                case (true, true, false): for i in r { update(i, decay: true, smallWeight: true, ams: false) }
                case (false, true, true): for i in r { update(i, decay: false, smallWeight: true, ams: true) }
                case (false, true, false): for i in r { update(i, decay: false, smallWeight: true, ams: false) }
                default: for i in r { update(i, decay: decay, smallWeight: smallWeight, ams: ams) }
                }
            }
        }
    }

    /// The moments (each laid out as the parameter block), step count and learning
    /// rate, copied out for a fold state.
    func savedState() -> (first: [Float], second: [Float], maxSecond: [Float], step: Int, learningRate: Float) {
        let n = store.parameterCount
        return (Array(UnsafeBufferPointer(start: firstMoment, count: n)),
                Array(UnsafeBufferPointer(start: secondMoment, count: n)),
                Array(UnsafeBufferPointer(start: maxSecondMoment, count: n)), stepCount, learningRate)
    }

    /// Puts back what `savedState` copied out; the caller has checked the sizes
    /// (each `store.parameterCount`). The next `step()` is then the one that would
    /// have followed, bit for bit (bias corrections come from `stepCount`).
    func restore(first: [Float], second: [Float], maxSecond: [Float], step: Int, learningRate: Float) {
        let n = store.parameterCount
        precondition(first.count == n && second.count == n && maxSecond.count == n, "moments of another model")
        firstMoment.update(from: first, count: n)
        secondMoment.update(from: second, count: n)
        maxSecondMoment.update(from: maxSecond, count: n)
        stepCount = step
        self.learningRate = learningRate
    }
}
