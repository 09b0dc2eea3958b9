import Foundation
import Testing
import Basics
import Evaluation
import TestSupport

/// Subject ids "00", "01", … like SC4 file names give.
private func subjectIDs(_ count: Int) -> [String] {
    (0..<count).map { $0 < 10 ? "0\($0)" : "\($0)" }
}

/// The 78 subjects of Sleep-EDF-78: SC4 00…82 without 39, 68, 69, 78, 79.
private let sleepEDF78Subjects = (0...82).filter { ![39, 68, 69, 78, 79].contains($0) }
    .map { $0 < 10 ? "0\($0)" : "\($0)" }

/// numpy.array_split sizes, written out independently of the code under test.
private func arraySplitSizes(_ n: Int, _ k: Int) -> [Int] {
    (0..<k).map { n / k + ($0 < n % k ? 1 : 0) }
}

/// The paper's folds from the reference JSON (a copy in the fixtures), computed
/// here independently: sorted subjects, reordered, then array_split.
private func expectedAttnSleepTestFolds(subjects: [String], key: String, k: Int) throws -> [[String]] {
    let url = try TestFixtures.url("metrics/attnsleep-fold-order.json")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    let order = try #require(json[key] as? [Int])
    let sorted = subjects.sorted()
    let inOrder = order.map { sorted[$0] }
    var folds: [[String]] = []
    var start = 0
    for size in arraySplitSizes(inOrder.count, k) {
        folds.append(Array(inOrder[start..<start + size]).sorted())
        start += size
    }
    return folds
}

/// The invariants every plan must keep.
private func checkInvariants(_ plan: FoldPlan, subjects: [String], k: Int, selection: SelectionMode) {
    #expect(plan.folds.count == k)
    #expect(plan.folds.map(\.index) == Array(0..<k))
    let tested = plan.folds.flatMap(\.test)
    #expect(tested.sorted() == subjects.sorted(), "every subject tested exactly once")
    #expect(plan.folds.map(\.test.count) == arraySplitSizes(subjects.count, k))
    for fold in plan.folds {
        let all = fold.train + fold.validation + fold.test
        #expect(all.count == subjects.count, "fold \(fold.index): no subject twice")
        #expect(Set(all) == Set(subjects), "fold \(fold.index): train ∪ validation ∪ test = all")
        #expect(Set(fold.validation).isDisjoint(with: fold.test))
        #expect(Set(fold.train).isDisjoint(with: fold.test))
        #expect(Set(fold.train).isDisjoint(with: fold.validation))
        if selection.needsValidationSubjects {
            let pool = subjects.count - fold.test.count
            #expect(fold.validation.count == FoldPlan.validationCount(trainingPool: pool))
            #expect(!fold.validation.isEmpty)
        } else {
            #expect(fold.validation.isEmpty)
        }
        #expect(!fold.train.isEmpty)
    }
    #expect(plan.subjects == subjects.sorted())
}

@Test(arguments: [(4, 2), (10, 3), (20, 20), (20, 10), (21, 4), (78, 10), (78, 20), (40, 7)])
func seededPlansKeepTheInvariants(count: Int, k: Int) throws {
    let subjects = subjectIDs(count)
    for selection in SelectionMode.allCases {
        let plan = try FoldPlan(subjects: subjects, folds: k, kind: .seeded, seed: 42, selection: selection)
        checkInvariants(plan, subjects: subjects, k: k, selection: selection)
    }
}

@Test func attnsleep20SubjectPlanIsThePapers() throws {
    let subjects = subjectIDs(20)
    let plan = try FoldPlan(subjects: subjects.shuffled(), folds: 20, kind: .attnsleep, seed: 1, selection: .validation)
    checkInvariants(plan, subjects: subjects, k: 20, selection: .validation)
    // Spot checks of the paper's order: fold 0 tests subject 14, fold 1 subject 05, ...
    #expect(plan.folds[0].test == ["14"])
    #expect(plan.folds[1].test == ["05"])
    #expect(plan.folds[2].test == ["04"])
    #expect(plan.folds[19].test == ["13"])
    #expect(plan.folds.map(\.test) == (try expectedAttnSleepTestFolds(subjects: subjects, key: "sleep-edf-20", k: 20)))
    // 20 subjects, 20 folds: 19 training subjects, 10 % rounds to 2 validation subjects.
    #expect(plan.folds.allSatisfy { $0.validation.count == 2 && $0.train.count == 17 })
}

@Test(arguments: [2, 4, 5, 10])
func attnsleep20SubjectsWithFewerFoldsFollowArraySplit(k: Int) throws {
    let subjects = subjectIDs(20)
    let plan = try FoldPlan(subjects: subjects, folds: k, kind: .attnsleep, seed: 0, selection: .last)
    checkInvariants(plan, subjects: subjects, k: k, selection: .last)
    #expect(plan.folds.map(\.test) == (try expectedAttnSleepTestFolds(subjects: subjects, key: "sleep-edf-20", k: k)))
}

@Test(arguments: [(10, [8, 8, 8, 8, 8, 8, 8, 8, 7, 7]),
                  (20, [4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 3, 3])])
func attnsleep78SubjectPlanIsThePapers(k: Int, sizes: [Int]) throws {
    let plan = try FoldPlan(subjects: sleepEDF78Subjects, folds: k, kind: .attnsleep, seed: 3, selection: .validation)
    checkInvariants(plan, subjects: sleepEDF78Subjects, k: k, selection: .validation)
    #expect(plan.folds.map(\.test.count) == sizes)
    #expect(plan.folds.map(\.test) == (try expectedAttnSleepTestFolds(subjects: sleepEDF78Subjects, key: "sleep-edf-78", k: k)))
    // Order index 42 of the sorted ids is subject "43" (39 is missing): first in fold 0.
    #expect(plan.folds[0].test.contains("43"))
}

@Test func seededPlansAreReproducibleAndSeedDependent() throws {
    let subjects = subjectIDs(20)
    let a = try FoldPlan(subjects: subjects, folds: 5, kind: .seeded, seed: 7, selection: .validation)
    let b = try FoldPlan(subjects: subjects.reversed(), folds: 5, kind: .seeded, seed: 7, selection: .validation)
    let c = try FoldPlan(subjects: subjects, folds: 5, kind: .seeded, seed: 8, selection: .validation)
    #expect(a == b, "same seed, same plan, whatever order the subjects come in")
    #expect(a.folds.map(\.test) != c.folds.map(\.test))
    // Validation subjects depend on the seed even when the test folds are fixed.
    let p = try FoldPlan(subjects: subjects, folds: 20, kind: .attnsleep, seed: 1, selection: .validation)
    let q = try FoldPlan(subjects: subjects, folds: 20, kind: .attnsleep, seed: 2, selection: .validation)
    #expect(p.folds.map(\.test) == q.folds.map(\.test))
    #expect(p.folds.map(\.validation) != q.folds.map(\.validation))
    // ... and differ between folds (not one fixed draw).
    #expect(Set(p.folds.map(\.validation)).count > 1)
}

@Test func validationCountIsTenPercentRoundedHalfToEvenAtLeastOne() {
    let expected = [1: 1, 2: 1, 4: 1, 5: 1, 9: 1, 14: 1, 15: 2, 16: 2, 19: 2, 25: 2, 35: 4, 70: 7, 71: 7]
    for (pool, count) in expected {
        #expect(FoldPlan.validationCount(trainingPool: pool) == count, "pool \(pool)")
    }
}

@Test func badRequestsAreClearErrors() {
    let subjects = subjectIDs(10)
    func code(_ make: () throws(SleepfoldError) -> FoldPlan) -> SleepfoldError.Code? {
        do { _ = try make(); return nil } catch { return error.code }
    }
    #expect(code { () throws(SleepfoldError) in try FoldPlan(subjects: subjects, folds: 1, kind: .seeded, seed: 0, selection: .last) } == .foldCount)
    #expect(code { () throws(SleepfoldError) in try FoldPlan(subjects: subjects, folds: 11, kind: .seeded, seed: 0, selection: .last) } == .foldCount)
    #expect(code { () throws(SleepfoldError) in try FoldPlan(subjects: subjects + ["03"], folds: 2, kind: .seeded, seed: 0, selection: .last) } == .duplicateSubject)
    #expect(code { () throws(SleepfoldError) in try FoldPlan(subjects: subjects + [""], folds: 2, kind: .seeded, seed: 0, selection: .last) } == .emptySubject)
    #expect(code { () throws(SleepfoldError) in try FoldPlan(subjects: subjects, folds: 2, kind: .attnsleep, seed: 0, selection: .last) } == .attnsleepSubjectCount)
    #expect(code { () throws(SleepfoldError) in try FoldPlan(subjects: ["a", "b"], folds: 2, kind: .seeded, seed: 0, selection: .validation) } == .tooFewForValidation)
    // Without validation subjects two subjects are enough.
    #expect(code { () throws(SleepfoldError) in try FoldPlan(subjects: ["a", "b"], folds: 2, kind: .seeded, seed: 0, selection: .testOracle) } == nil)
    do {
        _ = try FoldPlan(subjects: subjectIDs(19), folds: 19, kind: .attnsleep, seed: 0, selection: .last)
        Issue.record("19 subjects with the attnsleep order must fail")
    } catch {
        #expect(error.code == .attnsleepSubjectCount && error.file == nil && error.field == "--fold-plan attnsleep")
        #expect(error.description == "--fold-plan attnsleep: found 19 subjects, expected 20 (Sleep-EDF-20), 78 "
                + "(Sleep-EDF-78) or 329 (the paper's SHHS1 recordings); use --fold-plan seeded")
    }
    do {
        _ = try FoldPlan(subjects: subjects, folds: 11, kind: .seeded, seed: 0, selection: .last)
        Issue.record("11 folds of 10 subjects must fail")
    } catch {
        #expect(error.field == "--folds" && error.message == "found 11 folds for 10 subjects, expected at most one fold per subject")
    }
}

@Test func selectionModesHaveTheCommandLineNames() {
    #expect(SelectionMode.allCases.map(\.rawValue) == ["validation", "last", "test-oracle"])
    #expect(FoldPlanKind.allCases.map(\.rawValue) == ["attnsleep", "seeded"])
    #expect(SelectionMode(rawValue: "test-oracle") == .testOracle)
}

@Test func planEncodesToTheCommandLineJSONAndDecodesBack() throws {
    let plan = try FoldPlan(subjects: subjectIDs(20), folds: 4, kind: .seeded, seed: 5, selection: .validation)
    let data = plan.jsonData()
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    #expect(Array(json.keys) == ["folds"])
    let folds = try #require(json["folds"] as? [[String: Any]])
    #expect(folds.count == 4)
    for (i, fold) in folds.enumerated() {
        #expect(Set(fold.keys) == ["fold", "train", "validation", "test"])
        #expect(fold["fold"] as? Int == i)
        #expect(fold["test"] as? [String] == plan.folds[i].test)
        #expect(fold["train"] as? [String] == plan.folds[i].train)
        #expect(fold["validation"] as? [String] == plan.folds[i].validation)
    }
    #expect(try JSONDecoder().decode(FoldPlan.self, from: data) == plan)
}

@Test func decodingRejectsAPlanThatBreaksTheInvariants() {
    let twice = #"{"folds": [{"fold": 0, "train": ["b"], "validation": [], "test": ["a"]}, {"fold": 1, "train": ["b"], "validation": [], "test": ["a"]}]}"#
    let gap = #"{"folds": [{"fold": 0, "train": ["b"], "validation": [], "test": ["a"]}, {"fold": 2, "train": ["a"], "validation": [], "test": ["b"]}]}"#
    let missing = #"{"folds": [{"fold": 0, "train": [], "validation": [], "test": ["a"]}, {"fold": 1, "train": ["a"], "validation": [], "test": ["b"]}]}"#
    let good = #"{"folds": [{"fold": 0, "train": ["b"], "validation": [], "test": ["a"]}, {"fold": 1, "train": ["a"], "validation": [], "test": ["b"]}]}"#
    for bad in [twice, gap, missing] {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(FoldPlan.self, from: Data(bad.utf8)) }
    }
    #expect(throws: Never.self) { try JSONDecoder().decode(FoldPlan.self, from: Data(good.utf8)) }
}

@Test func tableShowsEveryFold() throws {
    let plan = try FoldPlan(subjects: subjectIDs(20), folds: 20, kind: .attnsleep, seed: 0, selection: .validation)
    let lines = plan.table().split(separator: "\n").map(String.init)
    #expect(lines.count == 21)
    #expect(lines[0].split(separator: " ").map(String.init) == ["fold", "test", "validation", "train"])
    let first = lines[1].split(separator: " ").map(String.init)
    #expect(first == ["0", "14"] + plan.folds[0].validation + ["17"])
    let last = try FoldPlan(subjects: subjectIDs(6), folds: 3, kind: .seeded, seed: 0, selection: .last).table()
    #expect(last.split(separator: "\n").dropFirst().allSatisfy { $0.contains(" - ") })
}
