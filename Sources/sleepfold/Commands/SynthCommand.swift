import ArgumentParser
import Dispatch
import Foundation
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import Synthesis
import Evaluation
import Reports
import SleepNet
import Shared

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a synthetic single-channel sleep-EEG cohort (AttnSleep NPZ files, SC4ssNE0.npz).",
        discussion: """
        Stages follow a Markov chain with ~90-min sleep cycles; the signal is pink noise plus \
        stage components (alpha, theta, spindles, K-complexes, delta, sawtooth waves, eye \
        movements) that vary per subject, so subject-wise cross-validation matters.
        """)

    @Option(help: "Number of subjects.")
    var subjects: Int

    @Option(help: "Nights per subject (1 or 2).")
    var nights: Int = 2

    @Option(help: "Hours per night (the real data keep about 8 h).")
    var hours: Double = 8

    @Option(help: "Seed: the same seed writes the same bytes.")
    var seed: UInt64 = 0

    @Option(help: "Directory to write the recordings to (created if missing).")
    var out: String

    @Option(help: "npz: AttnSleep NPZ files (SC4ssNE0.npz); nsrr: SHHS-style EDF + NSRR XML pairs (shhsV-2000ss.edf, …-nsrr.xml) for `prepare --annotations`; profusion: the same EDF with Compumedics Profusion XML (…-profusion.xml).")
    var format: SynthFormat = .npz

    @Option(help: "EEG sample rate of --format nsrr and profusion files in Hz (SHHS: 125).")
    var rate: Double = 125

    func run() throws {
        let options = SynthOptions(subjects: subjects, nights: nights, hours: hours, seed: seed)
        try options.validate()
        let directory = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if format == .nsrr || format == .profusion {
            guard rate > 0 && rate <= 1000 else {
                throw SleepfoldError(.invalidValue, field: "--rate", found: "\(rate)", expected: "a rate in (0, 1000] Hz")
            }
            let annotations: SynthNSRR.Annotations = format == .nsrr ? .nsrr : .profusion
            let nights = try Self.writeNSRR(options, rate: rate, annotations: annotations, to: directory)
            print("wrote \(nights) SHHS-style nights (EDF at \(formatHz(rate)) Hz + \(format == .nsrr ? "NSRR" : "Profusion") XML) "
                  + "of \(subjects) subjects to \(directory.path)")
            return
        }
        try Self.write(options, to: directory)
        let cohort = try Cohort.scan(directory, checkSignal: false)
        var counts = [Int](repeating: 0, count: Stage.count)
        for r in cohort.recordings { for s in 0..<Stage.count { counts[s] += r.classCounts[s] } }
        let total = max(1, counts.reduce(0, +))
        let shares = Stage.allCases.map { "\($0.name) \(String(format: "%.1f", 100 * Double(counts[Int($0.rawValue)]) / Double(total)))%" }
        print("wrote \(subjects * nights) recordings of \(subjects) subjects (\(total) epochs: \(shares.joined(separator: ", "))) to \(directory.path)")
    }

    /// SHHS-style pairs, in parallel; visit = night.
    static func writeNSRR(_ options: SynthOptions, rate: Double, annotations: SynthNSRR.Annotations,
                          to directory: URL) throws -> Int {
        let jobs = (0..<options.subjects).flatMap { s in (1...options.nights).map { (s, $0) } }
        let failures = FailureBox()
        DispatchQueue.concurrentPerform(iterations: jobs.count) { i in
            let (subject, night) = jobs[i]
            do {
                let recording = try SynthCohort.night(subject: subject, night: night, options: options)
                _ = try SynthNSRR.write(recording, subject: subject, visit: night, rate: rate, annotations: annotations,
                                        to: directory)
            } catch {
                failures.add(error)
            }
        }
        if let first = failures.first { throw first }
        return jobs.count
    }

    /// Generates and writes the nights in parallel, one night in memory per core.
    static func write(_ options: SynthOptions, to directory: URL) throws {
        let jobs = (0..<options.subjects).flatMap { s in (1...options.nights).map { (s, $0) } }
        let failures = FailureBox()
        DispatchQueue.concurrentPerform(iterations: jobs.count) { i in
            let (subject, night) = jobs[i]
            do {
                let recording = try SynthCohort.night(subject: subject, night: night, options: options)
                try recording.write(to: directory.appendingPathComponent("\(recording.id).npz"))
            } catch {
                failures.add(error)
            }
        }
        if let first = failures.first { throw first }
    }
}

/// Collects errors from concurrent jobs.
final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [any Error] = []
    func add(_ error: any Error) { lock.lock(); errors.append(error); lock.unlock() }
    var first: (any Error)? { lock.lock(); defer { lock.unlock() }; return errors.first }
}

/// `synth --format`.
enum SynthFormat: String, ExpressibleByArgument, CaseIterable {
    case npz, nsrr, profusion
}

private func formatHz(_ rate: Double) -> String {
    rate == rate.rounded() ? String(Int(rate)) : String(rate)
}
