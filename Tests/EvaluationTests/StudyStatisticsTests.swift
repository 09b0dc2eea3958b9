import Foundation
import Testing
import Basics
import Evaluation
import TestSupport

/// Holm, paired differences and the subject bootstrap against
/// Tests/Fixtures/metrics/study-statistics.json (scripts/make-study-statistics-fixtures.py:
/// statsmodels, scipy, numpy).
@Suite struct StudyStatisticsTests {
    struct HolmCase: Decodable { let p: [Double?]; let holm: [Double?] }
    struct PairedCase: Decodable {
        let fold: [Int]; let seed: [UInt64]; let arm, baseline: [Double]
        let mean, median: Double; let method: String; let statistic, p: Double
    }
    struct BootstrapCase: Decodable {
        let subjects: [String]; let seeds: [UInt64]
        let arm, baseline: [String: [String: [[Int]]]]
        let estimate: [String: Double]
    }
    struct File: Decodable { let holm: [HolmCase]; let paired: [PairedCase]; let bootstrap: BootstrapCase }

    static let file: File = {
        let url = TestFixtures.root.appendingPathComponent("metrics/study-statistics.json")
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url))
    }()

    // MARK: Holm

    @Test func holmMatchesStatsmodels() {
        #expect(Self.file.holm.count == 9)
        for c in Self.file.holm {
            let adjusted = HolmCorrection.adjusted(c.p)
            #expect(adjusted.count == c.holm.count)
            for (mine, theirs) in zip(adjusted, c.holm) {
                #expect((mine == nil) == (theirs == nil), "\(c.p)")
                if let mine, let theirs { #expect(abs(mine - theirs) < 1e-12, "\(c.p): \(mine) vs statsmodels \(theirs)") }
            }
        }
    }

    @Test func holmIsMonotoneCappedAndNeverBelowTheRawP() {
        var rng = SeededGenerator(seed: 5)
        for size in [1, 2, 3, 8, 20] {
            let raw = (0..<size).map { _ in rng.nextUnitDouble() * 0.2 }
            let adjusted = HolmCorrection.adjusted(raw).map { $0! }
            for i in raw.indices {
                #expect(adjusted[i] >= raw[i] && adjusted[i] <= 1)
                for j in raw.indices where raw[i] < raw[j] { #expect(adjusted[i] <= adjusted[j]) }
            }
            // The smallest p is multiplied by the family size (Bonferroni's factor).
            let smallest = raw.indices.min { raw[$0] < raw[$1] }!
            #expect(abs(adjusted[smallest] - min(1, raw[smallest] * Double(size))) < 1e-15)
        }
    }

    // MARK: Paired differences

    @Test func pairedDifferencesMatchNumpyAndScipy() {
        #expect(Self.file.paired.count == 4)
        for c in Self.file.paired {
            var arm: [FoldSeed: Double] = [:], baseline: [FoldSeed: Double] = [:]
            for i in c.fold.indices {
                arm[FoldSeed(fold: c.fold[i], seed: c.seed[i])] = c.arm[i]
                baseline[FoldSeed(fold: c.fold[i], seed: c.seed[i])] = c.baseline[i]
            }
            let d = PairedDifferences(arm: arm, baseline: baseline)
            #expect(d.pairs.count == c.fold.count && d.unpaired == 0)
            #expect(abs(d.mean! - c.mean) < 1e-12 && abs(d.median! - c.median) < 1e-12)
            #expect(d.wilcoxon.method.rawValue == c.method, "\(c.fold.count) pairs")
            #expect(abs(d.wilcoxon.statistic - c.statistic) < 1e-9)
            #expect(abs(d.wilcoxon.pValue! - c.p) < 1e-9 * max(1, c.p), "p \(d.wilcoxon.pValue!) vs scipy \(c.p)")
            // Ordered by seed, then fold; each difference is arm − baseline.
            #expect(d.pairs.map { FoldSeed(fold: $0.fold, seed: $0.seed) } == arm.keys.sorted())
            #expect(d.pairs.allSatisfy { $0.difference == $0.arm - $0.baseline })
        }
    }

    @Test func pairsMissingOnOneSideAreLeftOut() {
        let arm = [FoldSeed(fold: 0, seed: 1): 0.8, FoldSeed(fold: 1, seed: 1): 0.7, FoldSeed(fold: 2, seed: 1): 0.9]
        let baseline = [FoldSeed(fold: 0, seed: 1): 0.75, FoldSeed(fold: 2, seed: 1): 0.8, FoldSeed(fold: 0, seed: 2): 0.5]
        let d = PairedDifferences(arm: arm, baseline: baseline)
        #expect(d.pairs.map(\.fold) == [0, 2] && d.unpaired == 2)
        #expect(abs(d.mean! - 0.075) < 1e-15 && abs(d.median! - 0.075) < 1e-15)
        let none = PairedDifferences(arm: arm, baseline: [:])
        #expect(none.pairs.isEmpty && none.mean == nil && none.median == nil && none.wilcoxon.pValue == nil)
    }

    // MARK: Subject bootstrap

    static func matrices(_ maps: [String: [String: [[Int]]]]) -> [UInt64: [String: ConfusionMatrix]] {
        var out: [UInt64: [String: ConfusionMatrix]] = [:]
        for (seed, subjects) in maps {
            out[UInt64(seed)!] = subjects.mapValues { ConfusionMatrix(rows: $0)! }
        }
        return out
    }

    @Test func bootstrapEstimateMatchesNumpyAndTheIntervalHoldsIt() throws {
        let c = Self.file.bootstrap
        let b = try SubjectBootstrap(subjects: c.subjects, arm: Self.matrices(c.arm), baseline: Self.matrices(c.baseline),
                                     replicates: 2000, seed: 3)
        #expect(b.seeds == c.seeds && b.subjects == c.subjects)
        for score in SubjectBootstrap.Score.allCases {
            let interval = b[score]
            let expected = try #require(c.estimate[score.rawValue])
            #expect(abs(interval.estimate! - expected) < 1e-12, "\(score): \(interval.estimate!) vs numpy \(expected)")
            #expect(interval.definedReplicates == 2000)
            let low = try #require(interval.low), high = try #require(interval.high)
            #expect(low < expected && expected < high, "\(score): \(low) … \(high)")
            // The arm is 5 points better per subject: the interval is clearly above zero.
            #expect(low > 0, "\(score)")
        }
    }

    @Test func bootstrapIsDeterministicForASeed() throws {
        let c = Self.file.bootstrap
        let make = { (seed: UInt64) in
            try SubjectBootstrap(subjects: c.subjects, arm: Self.matrices(c.arm), baseline: Self.matrices(c.baseline),
                                 replicates: 500, seed: seed)
        }
        #expect(try make(7) == make(7))
        #expect(try make(7).macroF1.low != make(8).macroF1.low)
    }

    /// Subjects whose arm beats the baseline by a subject-dependent margin (so that
    /// the difference varies between subjects): `count` of them, 2 seeds.
    static func varyingSubjects(_ count: Int) -> (subjects: [String], arm: [UInt64: [String: ConfusionMatrix]],
                                                  baseline: [UInt64: [String: ConfusionMatrix]]) {
        var rng = SeededGenerator(seed: 99)
        let subjects = (0..<count).map { String(format: "s%03d", $0) }
        var arm: [UInt64: [String: ConfusionMatrix]] = [:], baseline: [UInt64: [String: ConfusionMatrix]] = [:]
        for seed: UInt64 in [0, 1] {
            for subject in subjects {
                let margin = rng.nextUnitDouble() * 0.2 - 0.05
                for (side, skill) in [(0, 0.7), (1, 0.7 + margin)] {
                    var m = ConfusionMatrix()
                    for epoch in 0..<400 {
                        let truth = Stage(rawValue: Int32(epoch % 5))!
                        let right = rng.nextUnitDouble() < skill
                        m.add(truth: truth, predicted: right ? truth : Stage(rawValue: Int32((epoch + 1) % 5))!)
                    }
                    if side == 0 { baseline[seed, default: [:]][subject] = m } else { arm[seed, default: [:]][subject] = m }
                }
            }
        }
        return (subjects, arm, baseline)
    }

    @Test func bootstrapNarrowsWithMoreSubjects() throws {
        func width(_ count: Int) throws -> Double {
            let data = Self.varyingSubjects(count)
            let b = try SubjectBootstrap(subjects: data.subjects, arm: data.arm, baseline: data.baseline, replicates: 1000, seed: 1)
            return try #require(b.accuracy.high) - #require(b.accuracy.low)
        }
        let few = try width(8), many = try width(96)
        // The width shrinks like 1/√n: √12 ≈ 3.5 times narrower; ask for half.
        #expect(many < few / 2, "8 subjects: \(few), 96 subjects: \(many)")
    }

    @Test func oneSubjectGivesAPointAndTwoSubjectsTheirExtremes() throws {
        func matrix(_ correct: Int, _ wrong: Int) -> ConfusionMatrix {
            ConfusionMatrix(rows: [[correct, wrong, 0, 0, 0], [wrong, correct, 0, 0, 0], [0, 0, 10, 0, 0],
                                   [0, 0, 0, 10, 0], [0, 0, 0, 0, 10]])!
        }
        // One subject: every replicate is that subject.
        let one = try SubjectBootstrap(subjects: ["a"], arm: [0: ["a": matrix(30, 10)]], baseline: [0: ["a": matrix(20, 20)]],
                                       replicates: 50, seed: 0)
        let accuracy = try #require(one.accuracy.estimate)
        #expect(abs(accuracy - 20.0 / 110) < 1e-15)  // 90 of 110 right against 70 of 110
        #expect(one.accuracy.low == accuracy && one.accuracy.high == accuracy)

        // Two subjects: a replicate is {a, a}, {a, b} or {b, b}, each of the first
        // and last with probability 1/4, so the 2.5 % and 97.5 % percentiles of
        // 2000 replicates are the smallest and the largest of the three differences.
        let arm: [UInt64: [String: ConfusionMatrix]] = [0: ["a": matrix(30, 10), "b": matrix(20, 5)]]
        let baseline: [UInt64: [String: ConfusionMatrix]] = [0: ["a": matrix(20, 20), "b": matrix(20, 5)]]
        let two = try SubjectBootstrap(subjects: ["a", "b"], arm: arm, baseline: baseline, replicates: 2000, seed: 0)
        func difference(_ subjects: [String]) -> Double {
            var a = ConfusionMatrix(), b = ConfusionMatrix()
            for s in subjects { a.add(arm[0]![s]!); b.add(baseline[0]![s]!) }
            return Metrics(confusion: a).accuracy! - Metrics(confusion: b).accuracy!
        }
        let candidates = [difference(["a", "a"]), difference(["a", "b"]), difference(["b", "b"])]
        #expect(abs(two.accuracy.low! - candidates.min()!) < 1e-15)
        #expect(abs(two.accuracy.high! - candidates.max()!) < 1e-15)
        #expect(abs(two.accuracy.estimate! - candidates[1]) < 1e-15)
    }

    @Test func undefinedReplicatesAreLeftOut() throws {
        // The baseline predicts W everywhere on a W-only subject: kappa is undefined
        // whenever only that subject is drawn.
        let wOnly = ConfusionMatrix(rows: [[10, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])!
        let mixed = ConfusionMatrix(rows: [[5, 1, 0, 0, 0], [1, 5, 0, 0, 0], [0, 0, 5, 0, 0], [0, 0, 0, 5, 0], [0, 0, 0, 0, 5]])!
        let b = try SubjectBootstrap(subjects: ["w", "m"], arm: [0: ["w": wOnly, "m": mixed]],
                                     baseline: [0: ["w": wOnly, "m": mixed]], replicates: 400, seed: 2)
        #expect(b.kappa.definedReplicates < 400 && b.kappa.definedReplicates > 200)
        #expect(b.accuracy.definedReplicates == 400)
        #expect(b.kappa.low == 0 && b.kappa.high == 0)
    }

    @Test func bootstrapRejectsBadInput() {
        let m = ConfusionMatrix(rows: [[5, 1, 0, 0, 0], [1, 5, 0, 0, 0], [0, 0, 5, 0, 0], [0, 0, 0, 5, 0], [0, 0, 0, 0, 5]])!
        expectError(.invalidValue, field: "subjects") {
            _ = try SubjectBootstrap(subjects: [], arm: [0: [:]], baseline: [0: [:]])
        }
        expectError(.invalidValue, field: "seeds") {
            _ = try SubjectBootstrap(subjects: ["a"], arm: [0: ["a": m]], baseline: [1: ["a": m]])
        }
        expectError(.invalidValue, field: "arm seed 0") {
            _ = try SubjectBootstrap(subjects: ["a"], arm: [0: ["b": m]], baseline: [0: ["a": m]])
        }
        expectError(.invalidValue, field: "replicates") {
            _ = try SubjectBootstrap(subjects: ["a"], arm: [0: ["a": m]], baseline: [0: ["a": m]], replicates: 0)
        }
    }
}
