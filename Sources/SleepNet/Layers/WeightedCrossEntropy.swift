import Foundation
import Basics

/// Cross-entropy with class weights, PyTorch's `CrossEntropyLoss(weight=w)`:
/// loss = Σᵢ w_yᵢ·(−log softmax(zᵢ)_yᵢ) / Σᵢ w_yᵢ.
///
///     // logits (B, K), labels (B) -> loss (scalar); gradient (B, K)
public final class WeightedCrossEntropy {
    /// Gradient of the last loss with respect to the logits, (B, K).
    public let logitsGradient = Tensor()

    public init() {}

    /// Computes the loss and its gradient. Labels must lie in 0..<K and
    /// `classWeights` must have K entries (checked: an error names both).
    public func forward(logits: Tensor, labels: UnsafeBufferPointer<Int32>, classWeights: [Float]) throws -> Float {
        let B = logits.shape[0], K = logits.count / max(1, B)
        guard labels.count == B else {
            throw SleepfoldError(.shapeMismatch, field: "loss labels", found: "\(labels.count) labels",
                                 expected: "\(B), one per row of logits")
        }
        guard classWeights.count == K else {
            throw SleepfoldError(.shapeMismatch, field: "loss class weights", found: "\(classWeights.count)",
                                 expected: "\(K), one per class")
        }
        for (i, y) in labels.enumerated() where y < 0 || Int(y) >= K {
            throw SleepfoldError(.invalidConfig, field: "loss labels[\(i)]", found: "\(y)", expected: "a class in 0..<\(K)")
        }
        logitsGradient.resize(logits.shape)
        let z = logits.data, g = logitsGradient.data
        var weightSum = 0.0
        for i in 0..<B { weightSum += Double(classWeights[Int(labels[i])]) }
        var loss = 0.0
        for i in 0..<B {
            let row = z + i * K, grow = g + i * K
            var m = -Float.infinity
            for j in 0..<K { m = max(m, row[j]) }
            var s = 0.0
            for j in 0..<K { s += Double(exp(row[j] - m)) }
            let logSum = Double(m) + log(s)
            let y = Int(labels[i]), w = Double(classWeights[y])
            loss += w * (logSum - Double(row[y]))
            let scale = weightSum > 0 ? w / weightSum : 0
            for j in 0..<K {
                let p = exp(Double(row[j]) - logSum)
                grow[j] = Float(scale * (p - (j == y ? 1 : 0)))
            }
        }
        return weightSum > 0 ? Float(loss / weightSum) : 0
    }
}
