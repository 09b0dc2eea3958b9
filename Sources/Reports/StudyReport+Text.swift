import Foundation
import Basics
import Evaluation

/// Wording and number formats study.md and study.html share, so that both say
/// the same thing in the same units.
extension StudyReport {
    /// What each selection means, in one phrase.
    static func describe(_ selection: Selection) -> String {
        switch selection {
        case .validation:
            "honest: the epoch with the best macro-F1 on held-out training subjects"
        case .last:
            "the model after the last training epoch"
        case .testOracle:
            "the same training as validation, the epoch picked on the test fold itself (leaks test data)"
        case .paper:
            "the paper's protocol: trained without a validation hold-out, the epoch picked on the test fold (leaks test data)"
        }
    }

    /// Human name of a score.
    static func describe(_ score: Score) -> String {
        switch score {
        case .accuracy: "accuracy"
        case .macroF1: "macro-F1"
        case .kappa: "kappa"
        }
    }

    /// One line saying what an arm is, e.g. "attnsleep, batch 128, 0.52 M parameters,
    /// 1.84 GFLOP per training sample, 3 seeds (config demo-small)".
    static func describe(_ arm: Arm) -> String {
        var text = "\(arm.model), batch \(arm.batchSize), \(parameters(arm.parameters)) parameters, "
        text += "\(flops(arm.flopsPerSample)) per training sample, \(arm.runs.count) seed\(arm.runs.count == 1 ? "" : "s")"
        if case .string(let name)? = arm.config["name"] { text += " (config \(name))" }
        return text
    }

    /// A parameter count in millions ("0.52 M").
    static func parameters(_ count: Int) -> String {
        String(format: "%.2f M", Double(count) / 1e6)
    }

    /// FLOPs in GFLOP ("1.84 GFLOP"), or MFLOP below 0.1 GFLOP.
    static func flops(_ value: Double) -> String {
        value < 1e8 ? String(format: "%.2f MFLOP", value / 1e6) : String(format: "%.2f GFLOP", value / 1e9)
    }

    /// A fraction in percent with one decimal ("82.3"), kappa with three decimals; "–" when undefined.
    static func format(_ value: Double?, _ score: Score) -> String {
        guard let value, value.isFinite else { return "–" }
        return score == .kappa ? String(format: "%.3f", value) : String(format: "%.1f", value * 100)
    }

    /// A mean ± sd over seeds in the score's units ("81.0 ± 0.4"); the sd left out when undefined.
    static func format(_ statistic: SeedStatistic, _ score: Score) -> String {
        guard statistic.mean != nil else { return "–" }
        guard statistic.sd != nil else { return format(statistic.mean, score) }
        return "\(format(statistic.mean, score)) ± \(format(statistic.sd, score))"
    }

    /// A difference with its sign: percentage points with two decimals ("+1.25"),
    /// kappa with three ("-0.012"); "–" when undefined.
    static func signed(_ value: Double?, _ score: Score) -> String {
        guard let value, value.isFinite else { return "–" }
        return score == .kappa ? String(format: "%+.3f", value) : String(format: "%+.2f", value * 100)
    }

    /// A mean ± sd of differences over seeds, in the units of `signed(_:_:)` ("+1.25 ± 0.40").
    static func signed(_ statistic: SeedStatistic, _ score: Score) -> String {
        guard statistic.mean != nil else { return "–" }
        guard let sd = statistic.sd, sd.isFinite else { return signed(statistic.mean, score) }
        return "\(signed(statistic.mean, score)) ± " + (score == .kappa ? String(format: "%.3f", sd) : String(format: "%.2f", sd * 100))
    }

    /// A p-value with four decimals, "< 0.0001" below that; "–" when undefined.
    static func pValue(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return value < 1e-4 ? "< 0.0001" : String(format: "%.4f", value)
    }

    /// Seconds as "1 h 02 min", "12 min 05 s" or "8.5 s"; "–" when unknown.
    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "–" }
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return String(format: "%d min %02d s", whole / 60, whole % 60) }
        return String(format: "%d h %02d min", whole / 3600, (whole % 3600) / 60)
    }

    /// The selections at least one arm has, in `Selection.allCases` order.
    var presentSelections: [Selection] {
        Selection.allCases.filter { selection in arms.contains { $0.pooled[selection] != nil } }
    }

    /// The comparisons of one selection and score, in arm order.
    func comparisons(_ selection: Selection, _ score: Score) -> [Comparison] {
        comparisons.filter { $0.selection == selection && $0.metric == score }
    }
}
