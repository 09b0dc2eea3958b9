import Basics
import Cohorts
import EDF
import Preparation
/// What `sleepfold synth` generates: how many subjects, nights per subject,
/// hours per night, and the seed every value is drawn from.
public struct SynthOptions: Sendable, Equatable {
    /// Number of subjects, 1 … `maxSubjects`.
    public var subjects: Int
    /// Nights per subject, 1 or 2 (Sleep-EDF-20 has two for most subjects).
    public var nights: Int
    /// Length of each night in hours, wake margins included (`hoursRange`).
    public var hours: Double
    /// Run seed; the same seed gives bit-identical recordings.
    public var seed: UInt64

    /// The largest cohort `validate()` accepts.
    public static let maxSubjects = 9_999
    /// Accepted night lengths in hours: at least 12 epochs (6 min), at most a day.
    public static let hoursRange: ClosedRange<Double> = 0.1...24

    public init(subjects: Int, nights: Int = 2, hours: Double = 8, seed: UInt64 = 0) {
        self.subjects = subjects
        self.nights = nights
        self.hours = hours
        self.seed = seed
    }

    /// Epochs of 30 s in one night: `hours` · 120, rounded.
    public var epochsPerNight: Int {
        guard hours.isFinite, hours > 0, hours <= Self.hoursRange.upperBound else { return 0 }
        return Int((hours * 120).rounded())
    }

    /// Throws a `SleepfoldError` (`.invalidValue`) whose field is the first option out
    /// of range (`--subjects`, `--nights`, `--hours`).
    public func validate() throws(SleepfoldError) {
        guard (1...Self.maxSubjects).contains(subjects) else {
            throw SleepfoldError(.invalidValue, field: "--subjects", found: String(subjects),
                                 expected: "an integer in 1...\(Self.maxSubjects)")
        }
        guard nights == 1 || nights == 2 else {
            throw SleepfoldError(.invalidValue, field: "--nights", found: String(nights), expected: "1 or 2")
        }
        guard hours.isFinite, Self.hoursRange.contains(hours) else {
            throw SleepfoldError(.invalidValue, field: "--hours", found: String(hours),
                                 expected: "a number of hours in \(Self.hoursRange.lowerBound)...\(Self.hoursRange.upperBound)")
        }
    }
}
