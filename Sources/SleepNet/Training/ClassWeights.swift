import Foundation
import Basics

/// Loss weights per class from the training labels, by the AttnSleep
/// reference's formula (`calc_class_weight`):
///
///     w_k = round(max(1, ln(μ_k · N / n_k)) · μ_k, 2)
///
/// with N the number of training epochs, n_k those of class k and
/// μ = factors / classes. The reference hard-codes factors (1.5, 2, 1.5, 1, 1.5)
/// for Sleep-EDF-20; here they are a parameter with those defaults. A class
/// absent from the training labels gets the floor weight round(μ_k, 2).
public enum ClassWeights {
    public static let referenceFactors: [Double] = [1.5, 2, 1.5, 1, 1.5]

    public static func reference(counts: [Int], factors: [Double] = referenceFactors) -> [Float] {
        precondition(counts.count == factors.count, "one factor per class")
        let total = Double(counts.reduce(0, +))
        let k = Double(counts.count)
        return zip(counts, factors).map { n, factor in
            let mu = factor / k
            let score = n > 0 ? log(mu * total / Double(n)) : 1
            return Float((max(1, score) * mu * 100).rounded() / 100)
        }
    }

    /// Class counts of labels 0..<classes.
    public static func counts<S: Sequence>(_ labels: S, classes: Int = 5) -> [Int] where S.Element == Int32 {
        var counts = [Int](repeating: 0, count: classes)
        for y in labels where y >= 0 && Int(y) < classes { counts[Int(y)] += 1 }
        return counts
    }
}
