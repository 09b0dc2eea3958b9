import Dispatch
import Basics
import Recordings
import Cohorts
import EDF
import Preparation

/// The synthetic cohort of `sleepfold synth`: recordings named and shaped like
/// prepared Sleep-EDF nights, drawn from a seed.
///
/// Naming: subject k (0-based) has id `String(format: "%02d", k)` — "00", "01", …,
/// "99", then "100", "101", … (at least two digits, never padded further, so
/// an id does not depend on the cohort size). Night N (1 or 2) of subject "ss" is
/// the recording `SC4ssNE0`, e.g. `SC4001E0`, `SC4002E0`, `SC41231E0` (subject
/// "123", night 1): the subject is every digit between "SC4" and the last digit
/// before "E0", the night that last digit — the Sleep-EDF pattern for the first
/// hundred subjects.
///
/// Reproducibility: subject k's traits, and each of its nights, come from their
/// own random streams of the seed, so a recording is bit-identical whatever the
/// number of subjects or nights generated with it, and whichever thread makes it.
public enum SynthCohort {
    /// Subject id of subject index `index` ("00", "01", …, "100", …).
    public static func subjectID(_ index: Int) -> String {
        let digits = String(max(0, index))
        return digits.count < 2 ? "0" + digits : digits
    }

    /// Recording id of night `night` of subject `subject`, e.g. "SC4001E0".
    public static func recordingID(subject: Int, night: Int) -> String {
        "SC4\(subjectID(subject))\(night)E0"
    }

    /// The traits subject `subject` has on night `night` under `seed` (the
    /// subject's profile with that night's variation).
    public static func nightProfile(subject: Int, night: Int, seed: UInt64) -> SynthProfile {
        var rng = SeededGenerator(seed: seed, stream: SynthStreams.hypnogram(subject: subject, night: night))
        return SynthProfile.subject(subject, seed: seed).varied(using: &rng)
    }

    /// One night: night `night` (1…`options.nights`) of subject `subject`
    /// (0..<`options.subjects`). Throws `SleepfoldError` (`.invalidValue`) for options out of range.
    public static func night(subject: Int, night: Int, options: SynthOptions) throws -> Recording {
        try options.validate()
        guard (0..<options.subjects).contains(subject) else {
            throw SleepfoldError(.invalidValue, field: "subject", found: String(subject),
                                 expected: "a subject index in 0..<\(options.subjects)")
        }
        guard (1...options.nights).contains(night) else {
            throw SleepfoldError(.invalidValue, field: "night", found: String(night), expected: "a night in 1...\(options.nights)")
        }
        return make(subject: subject, night: night, options: options)
    }

    /// The whole cohort, subject by subject, nights in order (SC4001E0, SC4002E0,
    /// SC4011E0, …), generated on all cores. Holds every night in memory (about
    /// 11.5 MB per 8-h night); write large cohorts night by night with
    /// `night(subject:night:options:)` instead.
    public static func generate(_ options: SynthOptions) throws -> [Recording] {
        try options.validate()
        let jobs = (0..<options.subjects).flatMap { s in (1...options.nights).map { (subject: s, night: $0) } }
        var results = [Recording?](repeating: nil, count: jobs.count)
        results.withUnsafeMutableBufferPointer { slots in
            // Each job writes only its own slot; no two jobs share a random stream.
            nonisolated(unsafe) let slots = slots
            DispatchQueue.concurrentPerform(iterations: jobs.count) { j in
                slots[j] = make(subject: jobs[j].subject, night: jobs[j].night, options: options)
            }
        }
        return results.compactMap { $0 }
    }

    /// Generates one night of validated options.
    static func make(subject: Int, night: Int, options: SynthOptions) -> Recording {
        var rng = SeededGenerator(seed: options.seed, stream: SynthStreams.hypnogram(subject: subject, night: night))
        let profile = SynthProfile.subject(subject, seed: options.seed).varied(using: &rng)
        let stages = SynthHypnogram.generate(epochs: options.epochsPerNight, profile: profile, using: &rng)
        var signalRNG = SeededGenerator(seed: options.seed, stream: SynthStreams.signal(subject: subject, night: night))
        let x = SynthSignal.generate(stages: stages, profile: profile, using: &signalRNG)
        return Recording(id: recordingID(subject: subject, night: night), subject: subjectID(subject),
                         night: night, sampleRate: SynthSignal.sampleRate,
                         samplesPerEpoch: SynthSignal.samplesPerEpoch, x: x,
                         labels: stages.map(\.rawValue))
    }
}
