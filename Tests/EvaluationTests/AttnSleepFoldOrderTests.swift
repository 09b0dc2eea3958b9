import Foundation
import Testing
import Basics
import Evaluation
import TestSupport

/// The paper's folds, checked subject by subject against Tests/Fixtures/folds/attnsleep-folds.json,
/// which scripts/make-attnsleep-fold-fixtures.py writes with numpy (`np.asarray(sorted)[order]`,
/// then `np.array_split`) from the reference JSON and SHHS list, not from sleepfold's code.
@Suite struct AttnSleepFoldOrderTests {
    /// One plan of the fixture: the cohort's sorted subjects and each fold's test subjects
    /// in numpy's order.
    struct Expected {
        var subjects: [String]
        var test: [[String]]
    }

    static func expected(_ cohort: String, folds k: Int) throws -> Expected {
        let url = try TestFixtures.url("folds/attnsleep-folds.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let plans = try #require(json["plans"] as? [[String: Any]])
        let plan = try #require(plans.first { $0["cohort"] as? String == cohort && $0["folds"] as? Int == k },
                                "no \(cohort) k=\(k) in the fixture")
        return Expected(subjects: try #require(plan["subjects"] as? [String]),
                        test: try #require(plan["test"] as? [[String]]))
    }

    /// "shhs1-200010" → "200010", the subject id `sleepfold prepare --annotations` gives.
    static func participant(_ recording: String) -> String {
        precondition(recording.hasPrefix("shhs1-"), recording)
        return String(recording.dropFirst(6))
    }

    @Test(arguments: [("sleep-edf-20", 20), ("sleep-edf-20", 10), ("sleep-edf-78", 10), ("sleep-edf-78", 20),
                      ("shhs", 20), ("shhs", 10)])
    func everyFoldTestsThePapersSubjects(cohort: String, k: Int) throws {
        let expected = try Self.expected(cohort, folds: k)
        // SHHS subjects are participant numbers, as prepare writes them into the manifest.
        let subjects = cohort == "shhs" ? expected.subjects.map(Self.participant) : expected.subjects
        let wanted = cohort == "shhs" ? expected.test.map { $0.map(Self.participant) } : expected.test
        #expect(wanted.count == k)
        // The cohort's order on input does not matter: the plan sorts first.
        let plan = try FoldPlan(subjects: subjects.reversed(), folds: k, kind: .attnsleep, seed: 11, selection: .validation)
        #expect(plan.folds.count == k)
        for (fold, test) in zip(plan.folds, wanted) {
            #expect(fold.test == test.sorted(), "\(cohort) k=\(k) fold \(fold.index)")
        }
        // Validation subjects come from the training pool only; the test folds do not move with the seed.
        let other = try FoldPlan(subjects: subjects, folds: k, kind: .attnsleep, seed: 12, selection: .testOracle)
        #expect(other.folds.map(\.test) == plan.folds.map(\.test))
        #expect(other.folds.allSatisfy { $0.validation.isEmpty && $0.train.count == subjects.count - $0.test.count })
    }

    /// Subjects named by recording id ("shhs1-200010", e.g. from a hand-written manifest)
    /// get the same folds.
    @Test func shhsRecordingIdsGetThePapersFoldsToo() throws {
        let expected = try Self.expected("shhs", folds: 20)
        let plan = try FoldPlan(subjects: expected.subjects, folds: 20, kind: .attnsleep, seed: 0, selection: .last)
        #expect(plan.folds.map(\.test) == expected.test.map { $0.sorted() })
        // 329 = 9 × 17 + 11 × 16, as numpy.array_split cuts it.
        #expect(plan.folds.map(\.test.count) == Array(repeating: 17, count: 9) + Array(repeating: 16, count: 11))
    }

    /// The copies in code are the reference's: the orders of the JSON and the SHHS list.
    @Test func embeddedOrdersAndSHHSListAreTheReferences() throws {
        let url = try TestFixtures.url("metrics/attnsleep-fold-order.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        #expect(AttnSleepFoldOrder.sleepEDF20 == json["sleep-edf-20"] as? [Int])
        #expect(AttnSleepFoldOrder.sleepEDF78 == json["sleep-edf-78"] as? [Int])
        #expect(AttnSleepFoldOrder.shhs == json["shhs"] as? [Int])
        let list = try String(contentsOf: try TestFixtures.url("metrics/attnsleep-shhs1-subjects.txt"), encoding: .utf8)
        let recordings = list.split(whereSeparator: \.isNewline).map(String.init)
        #expect(recordings.count == 329)
        #expect(AttnSleepFoldOrder.shhsParticipants.map { "shhs1-" + $0 } == recordings.sorted())
    }

    /// 329 nights that are not the paper's selection get no paper order: the error names
    /// how many are foreign and the first of them.
    @Test func othersOf329SubjectsAreRefusedByName() throws {
        let paper = AttnSleepFoldOrder.shhsParticipants
        func refusal(_ subjects: [String]) -> SleepfoldError? {
            do {
                _ = try FoldPlan(subjects: subjects, folds: 20, kind: .attnsleep, seed: 0, selection: .last)
                return nil
            } catch {
                return error
            }
        }
        // One night swapped for another participant's.
        var swapped = paper
        swapped[100] = "209999"
        let one = try #require(refusal(swapped))
        #expect(one.code == .attnsleepSHHSSubjects && one.field == "--fold-plan attnsleep")
        #expect(one.message.hasPrefix("found 329 subjects, 1 of them not among the paper's SHHS1 recordings (first: \"209999\")"),
                "\(one)")
        // A synthetic cohort of 329 subjects.
        let synthetic = (0..<329).map { String(200_000 + $0) }
        let many = try #require(refusal(synthetic))
        #expect(many.code == .attnsleepSHHSSubjects)
        #expect(many.message.contains("\(synthetic.filter { !paper.contains($0) }.count) of them not among"), "\(many)")
        // The right nights named two ways: their sorted order is not the paper's, so refused too.
        let mixed = paper.enumerated().map { $0.offset % 2 == 0 ? $0.element : "shhs1-" + $0.element }
        let both = try #require(refusal(mixed))
        #expect(both.code == .attnsleepSHHSSubjects && both.message.contains("one form for all subjects"), "\(both)")
        // Seeded plans take any 329 subjects.
        #expect(try FoldPlan(subjects: synthetic, folds: 20, kind: .seeded, seed: 0, selection: .last).folds.count == 20)
    }
}
