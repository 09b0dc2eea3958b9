import Testing
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import Synthesis

/// Per-stage band powers of a small cohort (4 subjects, one 2-h night each).
private func cohortBandPowers(seed: UInt64) throws -> StageBandPowers {
    let cohort = try SynthCohort.generate(SynthOptions(subjects: 4, nights: 1, hours: 2, seed: seed))
    return StageBandPowers(recordings: cohort)
}

@Test(arguments: [1, 2, 3] as [UInt64])
func stagesHaveTheSpectralSignatureOfSleepEEG(seed: UInt64) throws {
    let table = try cohortBandPowers(seed: seed)
    #expect(table.epochCounts.allSatisfy { $0 > 0 })
    func abs(_ s: Stage, _ b: FrequencyBand) -> Double { table.absolute(s, b) ?? .nan }
    func rel(_ s: Stage, _ b: FrequencyBand) -> Double { table.relative(s, b) ?? .nan }
    let others: [Stage] = [.wake, .n1, .n2, .rem]
    let report = "\n" + table.table()

    // Slow waves dominate N3, in absolute power, several times N2's.
    for s in others {
        #expect(abs(.n3, .slowDelta) > 2.5 * abs(s, .slowDelta), "delta N3 vs \(s.name)\(report)")
        #expect(abs(.n3, .delta) > 2.5 * abs(s, .delta), "delta N3 vs \(s.name)\(report)")
    }
    // Alpha is a wake rhythm.
    for s in [Stage.n1, .n2, .n3, .rem] {
        #expect(rel(.wake, .alpha) > 1.3 * rel(s, .alpha), "alpha W vs \(s.name)\(report)")
    }
    // Spindles make sigma an N2 feature.
    for s in [Stage.n1, .n3, .rem] {
        #expect(rel(.n2, .sigma) > 1.3 * rel(s, .sigma), "sigma N2 vs \(s.name)\(report)")
    }
    // Theta marks N1 and REM against wake.
    #expect(rel(.n1, .theta) > 2 * rel(.wake, .theta), "\(report)")
    #expect(rel(.rem, .theta) > 2 * rel(.wake, .theta), "\(report)")
    // Muscle: high frequencies are a wake feature; REM is atonic.
    for s in [Stage.n1, .n2, .n3, .rem] {
        #expect(abs(.wake, .high) > 2 * abs(s, .high), "muscle W vs \(s.name)\(report)")
    }
}

/// The 0.5–2 Hz part of one 30-s epoch (zero-phase: FFT, band mask, inverse FFT).
private func slowWaves(_ epoch: ArraySlice<Float>) throws -> [Float] {
    let n = 4096
    let fft = try #require(FFT(size: n))
    let mean = epoch.reduce(0, +) / Float(epoch.count)
    var re = epoch.map { Double($0 - mean) } + [Double](repeating: 0, count: n - epoch.count)
    var im = [Double](repeating: 0, count: n)
    fft.forward(real: &re, imag: &im)
    for k in 0..<n {
        let f = Double(min(k, n - k)) * 100 / Double(n)
        if f < 0.5 || f > 2 { re[k] = 0; im[k] = 0 }
        im[k] = -im[k]  // inverse FFT as conj(FFT(conj(X))) / n
    }
    fft.forward(real: &re, imag: &im)
    return (0..<epoch.count).map { Float(re[$0] / Double(n)) }
}

@Test func n3MeetsTheSlowWaveCriterionAndLighterStagesRarely() throws {
    // Scoring rule for N3: ≥ 20 % of the epoch holds 0.5–2 Hz waves over 75 µV
    // peak to peak. Checked on 2-s windows of the 0.5–2 Hz signal.
    let cohort = try SynthCohort.generate(SynthOptions(subjects: 4, nights: 1, hours: 2, seed: 8))
    var meets = [Int](repeating: 0, count: Stage.count), count = meets
    for rec in cohort {
        for (e, label) in rec.labels.enumerated() {
            let slow = try slowWaves(rec.x[(e * 3000)..<((e + 1) * 3000)])
            var large = 0, windows = 0
            for start in stride(from: 0, through: 2800, by: 100) {
                let window = slow[start..<(start + 200)]
                windows += 1
                if window.max()! - window.min()! > 75 { large += 1 }
            }
            count[Int(label)] += 1
            if Double(large) >= 0.2 * Double(windows) { meets[Int(label)] += 1 }
        }
    }
    let share = zip(meets, count).map { Double($0) / Double(max($1, 1)) }
    #expect(share[3] > 0.95, "share of epochs meeting the N3 rule, W…REM: \(share)")
    #expect(share[1] < 0.1 && share[4] < 0.1, "\(share)")
    // N2 (deep N2, K-complexes) and wake (eye artefacts) sometimes do: that is what
    // makes N2/N3 and W/N3 confusable at Fpz-Cz.
    #expect(share[2] < 0.4 && share[0] < 0.4, "\(share)")
}

@Test func customHypnogramsGetTheirStagesSignal() throws {
    // A night of 20 N3 epochs then 20 REM epochs: delta drops at the switch,
    // without a jump, and the signal has the requested length.
    let stages = [Stage](repeating: .n3, count: 20) + [Stage](repeating: .rem, count: 20)
    var rng = SeededGenerator(seed: 2)
    let x = SynthSignal.generate(stages: stages, profile: SynthProfile.subject(0, seed: 2), using: &rng)
    #expect(x.count == 40 * SynthSignal.samplesPerEpoch)
    let rec = Recording(id: "custom", subject: "00", night: 1, sampleRate: SynthSignal.sampleRate,
                        samplesPerEpoch: SynthSignal.samplesPerEpoch, x: x, labels: stages.map(\.rawValue))
    let table = StageBandPowers(recordings: [rec])
    let n3 = try #require(table.absolute(.n3, .slowDelta)), rem = try #require(table.absolute(.rem, .slowDelta))
    #expect(n3 > 4 * rem)
    var empty = SeededGenerator(seed: 2)
    #expect(SynthSignal.generate(stages: [], profile: SynthProfile.subject(0, seed: 2), using: &empty).isEmpty)
}
