import Testing
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import Synthesis

/// Hypnograms of `subjects` subjects × 2 nights of `hours` hours under `seed`.
private func nights(subjects: Int, hours: Double, seed: UInt64 = 1) -> [[Stage]] {
    var result: [[Stage]] = []
    for s in 0..<subjects {
        for night in 1...2 {
            let profile = SynthCohort.nightProfile(subject: s, night: night, seed: seed)
            var rng = SeededGenerator(seed: seed, stream: UInt64(2 * s + night))
            result.append(SynthHypnogram.generate(epochs: Int(hours * 120), profile: profile, using: &rng))
        }
    }
    return result
}

/// Share (0…1) of each stage over all epochs, indexed by Stage.rawValue.
private func shares(_ hypnograms: [[Stage]]) -> [Double] {
    var counts = [Int](repeating: 0, count: Stage.count)
    for h in hypnograms { for s in h { counts[Int(s.rawValue)] += 1 } }
    let total = Double(counts.reduce(0, +))
    return counts.map { Double($0) / total }
}

@Test func eightHourNightsHaveRealisticStageShares() {
    // Sleep-EDF-20 as prepared for AttnSleep: W 19.6, N1 6.6, N2 42.1, N3 13.5, REM 18.2 %.
    let all = nights(subjects: 20, hours: 8)
    let share = shares(all)
    #expect(share.enumerated().allSatisfy { $0.offset == 2 || $0.element < share[2] }, "N2 largest: \(share)")
    #expect((0.38...0.52).contains(share[2]), "N2 \(share[2])")
    #expect((0.03...0.11).contains(share[1]), "N1 \(share[1])")
    #expect((0.12...0.25).contains(share[0]), "W \(share[0])")
    #expect((0.08...0.20).contains(share[3]), "N3 \(share[3])")
    #expect((0.12...0.24).contains(share[4]), "REM \(share[4])")
    for h in all {
        #expect(h.count == 960)
        #expect(Set(h).count == Stage.count, "every stage in every 8-h night")
    }
}

@Test(arguments: [0.5, 1.0, 2.0])
func shortNightsKeepEveryStageAndSensibleShares(hours: Double) {
    let all = nights(subjects: 10, hours: hours)
    for h in all { #expect(Set(h).count == Stage.count, "every stage in a \(hours)-h night: \(h.map(\.name))") }
    let share = shares(all)
    #expect(share.enumerated().allSatisfy { $0.offset == 2 || $0.element < share[2] }, "N2 largest: \(share)")
    #expect(share[1] < 0.12, "N1 rare: \(share)")
}

@Test(arguments: [12, 120, 960])
func wakeMarginsFrameTheSleepPeriod(epochs: Int) {
    let margin = SynthHypnogram.wakeMargin(epochs: epochs)
    #expect(margin == min(60, max(1, Int((Double(epochs) * 0.1).rounded()))))
    for h in nights(subjects: 5, hours: Double(epochs) / 120) {
        #expect(h.count == epochs)
        #expect(h.prefix(margin).allSatisfy { $0 == .wake })
        #expect(h.suffix(margin).allSatisfy { $0 == .wake })
        // Sleep onset is N1; the last epoch before the final wake margin is sleep.
        #expect(h[margin] == .n1)
        #expect(h[epochs - margin - 1] != .wake)
    }
}

@Test func cyclesPutN3EarlyAndREMLate() {
    var n3 = (early: 0, late: 0), rem = (early: 0, late: 0)
    for h in nights(subjects: 10, hours: 8) {
        let margin = SynthHypnogram.wakeMargin(epochs: h.count)
        let sleep = Array(h[margin..<(h.count - margin)])
        let third = sleep.count / 3
        n3.early += sleep.prefix(third).filter { $0 == .n3 }.count
        n3.late += sleep.suffix(third).filter { $0 == .n3 }.count
        rem.early += sleep.prefix(third).filter { $0 == .rem }.count
        rem.late += sleep.suffix(third).filter { $0 == .rem }.count
    }
    #expect(n3.early > 3 * n3.late, "N3 early/late: \(n3)")
    #expect(rem.late > 2 * rem.early, "REM early/late: \(rem)")
}

@Test func stagesPersistAndFollowPlausibleTransitions() {
    var same = 0, steps = 0, wakeToDeep = 0, runsOfN2 = 0
    for h in nights(subjects: 10, hours: 8) {
        for i in 1..<h.count {
            steps += 1
            if h[i] == h[i - 1] { same += 1 }
            if h[i - 1] == .wake, h[i] == .n3 { wakeToDeep += 1 }
            if h[i] == .n2, h[i - 1] != .n2 { runsOfN2 += 1 }
        }
    }
    // Real hypnograms keep the stage in ~85–90 % of steps; sleep deepens through N1/N2.
    let persistence = Double(same) / Double(steps)
    #expect((0.82...0.95).contains(persistence), "persistence \(persistence)")
    #expect(wakeToDeep == 0)
    #expect(runsOfN2 > 0)
}

@Test func sameGeneratorStateGivesSameHypnogram() {
    let profile = SynthProfile.subject(3, seed: 9)
    var a = SeededGenerator(seed: 4), b = SeededGenerator(seed: 4), c = SeededGenerator(seed: 5)
    let ha = SynthHypnogram.generate(epochs: 960, profile: profile, using: &a)
    let hb = SynthHypnogram.generate(epochs: 960, profile: profile, using: &b)
    let hc = SynthHypnogram.generate(epochs: 960, profile: profile, using: &c)
    #expect(ha == hb)
    #expect(ha != hc)
    #expect(SynthHypnogram.generate(epochs: 0, profile: profile, using: &a).isEmpty)
}
