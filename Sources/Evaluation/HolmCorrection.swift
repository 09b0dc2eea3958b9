import Basics

/// Holm–Bonferroni adjusted p-values for a family of tests, as statsmodels'
/// `multipletests(pvals, method="holm")[1]` computes them.
///
/// Step-down: with the m defined p-values sorted ascending, p₍₁₎ ≤ … ≤ p₍ₘ₎, the
/// adjusted value of the i-th (1-based) is max over j ≤ i of (m − j + 1)·p₍ⱼ₎, capped
/// at 1. The running maximum makes the adjusted values monotone in the raw ones
/// (a smaller raw p never gets a larger adjusted p), and ties get equal values
/// whatever order the sort leaves them in.
///
/// A nil p-value (a test that could not be made, e.g. no non-zero difference)
/// stays nil and is not counted in m: the family is the tests actually made
/// (R's `p.adjust(method = "holm")` with NAs; statsmodels has no NaN handling).
public enum HolmCorrection {
    /// The adjusted p-values, in the order of `pValues`.
    ///
    /// - Precondition: every non-nil value is in 0…1 (they come from tests, not users).
    public static func adjusted(_ pValues: [Double?]) -> [Double?] {
        precondition(pValues.allSatisfy { $0.map { (0...1).contains($0) } ?? true }, "p-values in 0…1")
        let defined = pValues.indices.filter { pValues[$0] != nil }
        // Stable sort by value, so equal p-values keep their input order.
        let order = defined.enumerated()
            .sorted { (pValues[$0.element]!, $0.offset) < (pValues[$1.element]!, $1.offset) }
            .map(\.element)
        let m = order.count
        var result = [Double?](repeating: nil, count: pValues.count)
        var runningMax = 0.0
        for (rank, index) in order.enumerated() {
            let scaled = Double(m - rank) * pValues[index]!
            runningMax = max(runningMax, scaled)
            result[index] = min(1, runningMax)
        }
        return result
    }
}
