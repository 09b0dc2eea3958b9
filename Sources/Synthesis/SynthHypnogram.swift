import Foundation
import Basics
import Cohorts
import Preparation

/// The stage sequence of one synthetic night: wake margins around a sleep
/// period of ~90-min cycles, labels from a Markov chain conditioned on the
/// phase of the cycle.
///
/// Structure, as in prepared Sleep-EDF nights:
/// - `wakeMargin(epochs:)` epochs of wake before sleep onset and after the final
///   awakening (30 min for nights of 5 h and more, 10 % of a shorter night).
/// - The sleep period is cut into cycles of about 90 min (nights shorter than a
///   cycle keep one, compressed). Each cycle passes through phases N1 → N2 → N3
///   → N2 → REM; the phase lengths follow the cycle's place in the night: N3
///   decays over the night (concentrated in the first cycles), REM lengthens.
///   A short night is a compressed full night, so its stage shares stay sensible.
/// - Within a phase the label is a Markov chain that mostly stays in the phase's
///   stage but makes brief excursions (lightening to N1, awakenings, N2 between
///   slow-wave epochs) and returns; some cycles begin with a longer awakening.
///
/// Shares measured over 20 subjects × 2 nights of 8 h: W 17 %, N1 7 %, N2 45 %,
/// N3 13 %, REM 18 % (Sleep-EDF-20: 20 / 7 / 42 / 13 / 18 %); nights of 0.5–2 h
/// have ~23 % W (the margins are relatively longer) and keep every stage.
public enum SynthHypnogram {
    /// Epochs per sleep cycle (90 min).
    public static let cycleEpochs = 180
    /// Longest wake margin, epochs (30 min, as the reference preparation keeps).
    public static let maxWakeMargin = 60

    /// Wake epochs before sleep onset (and again after the final awakening) in a
    /// night of `epochs` epochs: 30 min, or 10 % of a shorter night, at least 1.
    public static func wakeMargin(epochs: Int) -> Int {
        guard epochs > 2 else { return 0 }
        return min(maxWakeMargin, max(1, Int((Double(epochs) * 0.1).rounded())))
    }

    /// The stages of a night of `epochs` 30-s epochs for a sleeper with `profile`.
    public static func generate(epochs: Int, profile: SynthProfile,
                                using rng: inout SeededGenerator) -> [Stage] {
        guard epochs > 0 else { return [] }
        var stages = [Stage](repeating: .wake, count: epochs)
        let margin = wakeMargin(epochs: epochs)
        let sleepStart = margin, sleepEnd = epochs - margin
        let sleepLength = sleepEnd - sleepStart
        guard sleepLength > 0 else { return stages }

        // Cycle boundaries: near-equal cycles with ±12 % jitter.
        let cycleCount = max(1, Int((Double(sleepLength) / Double(cycleEpochs)).rounded()))
        let weights = (0..<cycleCount).map { _ in min(1.3, max(0.7, 1 + 0.12 * rng.nextGaussian())) }
        let bounds = apportion(sleepLength, weights: weights)

        var phases: [(stage: Stage, length: Int)] = []
        var cycleStart = 0
        for c in 0..<cycleCount {
            let length = bounds[c]
            let a = Double(cycleStart) / Double(sleepLength)
            let b = Double(cycleStart + length) / Double(sleepLength)
            phases += cyclePhases(index: c, length: length, from: a, to: b, profile: profile, using: &rng)
            cycleStart += length
        }

        // Label the phases with the excursion chain.
        var i = sleepStart
        for phase in phases {
            // Sleep deepens through N2: a slow-wave phase reached from wake or N1 starts in N2.
            let previous = i > sleepStart ? stages[i - 1] : .wake
            var state = phase.stage == .n3 && (previous == .wake || previous == .n1) ? .n2 : phase.stage
            let position = Double(i - sleepStart) / Double(sleepLength)
            for _ in 0..<phase.length {
                stages[i] = state
                i += 1
                state = step(from: state, phase: phase.stage, position: position,
                             profile: profile, using: &rng)
            }
        }
        // Sleep onset and the last sleep epoch are sleep by definition of the margins.
        if stages[sleepStart] == .wake { stages[sleepStart] = .n1 }
        if stages[sleepEnd - 1] == .wake { stages[sleepEnd - 1] = .n1 }
        return stages
    }

    /// The phases of cycle `index` of `length` epochs, spanning the fraction
    /// [a, b) of the sleep period.
    private static func cyclePhases(index: Int, length: Int, from a: Double, to b: Double,
                                    profile p: SynthProfile,
                                    using rng: inout SeededGenerator) -> [(stage: Stage, length: Int)] {
        func jitter() -> Double { exp(0.2 * rng.nextGaussian()) }
        // Mean over [a, b) of the time course of each stage's share of a cycle:
        // N3 ∝ exp(−t/0.3) (≈ 16 % of the night), REM 9 % → 39 % (≈ 24 %).
        let n3Course = 0.17 * (exp(-a / 0.3) - exp(-b / 0.3)) / max(b - a, 1e-9)
        let remCourse = 0.09 + 0.30 * (a + b) / 2
        let f1 = min(0.2, (index == 0 ? 0.08 : 0.035) * p.n1Share * jitter())
        let f3 = min(0.5, n3Course * p.n3Share * jitter())
        let fR = min(0.45, remCourse * p.remShare * jitter())
        let f2 = max(0.15, 1 - f1 - f3 - fR)
        // A longer awakening (2–8 min) opens some later cycles, more in poor sleepers.
        var fW = 0.0
        if index > 0, rng.nextUnitDouble() < min(0.8, 0.3 * p.arousal) {
            fW = (4 + 12 * rng.nextUnitDouble()) / Double(max(length, 1))
        }
        let shares = [fW, f1, 0.55 * f2, f3, 0.45 * f2, fR]
        let stages: [Stage] = [.wake, .n1, .n2, .n3, .n2, .rem]
        var lengths = apportion(length, weights: shares)
        // Every cycle keeps some N1 and REM, the first some N3, if it has room.
        for required in [1, 5] + (index == 0 ? [3] : []) where lengths[required] == 0 {
            if let donor = [4, 2].first(where: { lengths[$0] > 1 }) {
                lengths[donor] -= 1
                lengths[required] += 1
            }
        }
        return zip(stages, lengths).filter { $0.1 > 0 }.map { (stage: $0.0, length: $0.1) }
    }

    /// One step of the excursion chain inside a phase whose stage is `phase`.
    /// `position` (0…1 through the sleep period) raises awakenings late in the night.
    private static func step(from state: Stage, phase: Stage, position: Double,
                             profile p: SynthProfile, using rng: inout SeededGenerator) -> Stage {
        let u = rng.nextUnitDouble()
        let arousal = p.arousal * (0.7 + 0.6 * position)
        if state == phase {
            // Excursion probabilities per epoch, in order of the targets.
            let targets: [(Stage, Double)]
            switch phase {
            case .wake: targets = [(.n1, 0.05)]
            case .n1: targets = [(.n2, 0.10), (.wake, 0.06 * arousal)]
            case .n2: targets = [(.n1, 0.012 * arousal), (.wake, 0.02 * arousal), (.n3, 0.008)]
            case .n3: targets = [(.n2, 0.05), (.wake, 0.003 * arousal)]
            case .rem: targets = [(.wake, 0.025 * arousal), (.n1, 0.015 * arousal), (.n2, 0.008)]
            }
            var acc = 0.0
            for (target, probability) in targets {
                acc += probability
                if u < acc { return target }
            }
            return state
        }
        // In an excursion: return (through N1 from wake), or stay.
        let home: Stage = phase == .n3 && state != .n2 ? .n2 : phase
        switch state {
        case .wake:
            if u < 0.3 { return .n1 }
            if u < 0.4, phase != .n3 { return phase }
            return .wake
        case .n1:
            if u < 0.45 { return home }
            if u < 0.5 { return .wake }
            return .n1
        default:
            return u < 0.4 ? home : state
        }
    }

    /// Splits `total` into integer parts proportional to `weights` (largest
    /// remainder), parts summing to `total`.
    static func apportion(_ total: Int, weights: [Double]) -> [Int] {
        let sum = weights.reduce(0, +)
        guard total > 0, sum > 0 else { return weights.map { _ in 0 } }
        let exact = weights.map { Double(total) * $0 / sum }
        var parts = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted {
            let ra = exact[$0] - Double(parts[$0]), rb = exact[$1] - Double(parts[$1])
            return ra != rb ? ra > rb : $0 < $1
        }
        for k in 0..<(total - parts.reduce(0, +)) { parts[order[k % order.count]] += 1 }
        return parts
    }
}
