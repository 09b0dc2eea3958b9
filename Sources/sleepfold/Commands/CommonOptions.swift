import ArgumentParser
import Foundation
import Recordings
import Cohorts
import EDF
import Preparation
import Synthesis
import Evaluation
import Reports
import SleepNet
import Shared

extension FoldPlanKind: ExpressibleByArgument {}
extension SelectionMode: ExpressibleByArgument {}
extension EvaluationPrecision: ExpressibleByArgument {}

/// Options shared by every command that plans folds over a cohort.
struct CohortOptions: ParsableArguments {
    @Option(help: "Directory of recordings (*.npz, AttnSleep format) or a cohort manifest (.json).")
    var data: String

    @Option(help: "Number of subject-wise folds.")
    var folds: Int = 20

    @Option(help: "Subject order: attnsleep (the paper's, for 20 or 78 subjects or its 329 SHHS1 recordings) or seeded.")
    var foldPlan: FoldPlanKind = .seeded

    @Option(help: "Run seed: fold plan, validation subjects, initialisation, shuffling.")
    var seed: UInt64 = 0

    @Option(help: "Model selection: validation (held-out subjects), last, or test-oracle (the paper's; leaks test data).")
    var selection: SelectionMode = .validation

    /// Reads the cohort (checking every file, and that each has `sampleRate`) and plans its folds.
    func load(computeHashes: Bool = false, sampleRate: Double? = Recording.standardSampleRate) throws -> (Cohort, FoldPlan) {
        let cohort = try Cohort.scan(URL(fileURLWithPath: data), expectedSampleRate: sampleRate, computeHashes: computeHashes)
        let plan = try FoldPlan(subjects: cohort.subjects, folds: folds, kind: foldPlan, seed: seed, selection: selection)
        return (cohort, plan)
    }
}
