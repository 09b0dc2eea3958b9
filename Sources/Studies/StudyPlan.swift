import Foundation
import Basics
import Recordings
import Cohorts
import Evaluation
import SleepNet
import Coordinator

/// One run of a study: an arm trained with one seed under validation selection
/// (the honest protocol), or, with `paper`, as `sleepfold run --selection
/// test-oracle` trains it (no validation subjects, best epoch picked on the test
/// fold: the AttnSleep paper's protocol).
public struct StudyRun: Sendable {
    public let arm: String
    public let seed: UInt64
    public let paper: Bool
    /// The same setup `sleepfold run` builds from these data, folds, fold plan,
    /// config, seed, selection and epochs: the same run id, tasks and results.
    public let setup: RunSetup
    public let layout: RunReporter.Layout

    /// "ex1/seed-0" or "ex1/seed-0-paper".
    public var label: String { StudyLayout.runPath(arm: arm, seed: seed, paper: paper) }
}

/// Everything a study runs: the runs (arms × seeds, and their paper twins when
/// asked), in arm, seed order, each built exactly as `sleepfold run` builds it.
public struct StudyPlan: Sendable {
    public let file: StudyFile
    public let layout: StudyLayout
    /// Each arm's experiment config (epochs overridden), in `file.arms` order.
    public let experiments: [ExperimentConfig]
    /// Each arm's cost per sample, in `file.arms` order.
    public let costs: [ModelCost]
    public let runs: [StudyRun]
    /// A hash of the runs' ids: what workers are welcomed with.
    public let studyID: String

    /// - Parameters:
    ///   - cohort: the study's data, scanned with content hashes.
    ///   - experiments: each arm's config, in `file.arms` order, epochs already set.
    ///   - costs: each arm's `ModelCost`, in `file.arms` order.
    /// - Throws: `SleepfoldError` from the fold plan (`--folds` against the subjects,
    ///   the attnsleep order's subject counts) or from a run plan, naming the field.
    public init(file: StudyFile, cohort: Cohort, experiments: [ExperimentConfig], costs: [ModelCost],
                layout: StudyLayout) throws {
        precondition(experiments.count == file.arms.count && costs.count == file.arms.count, "one config and cost per arm")
        self.file = file
        self.layout = layout
        self.experiments = experiments
        self.costs = costs
        var runs: [StudyRun] = []
        let selections: [SelectionMode] = file.paperProtocol ? [.validation, .testOracle] : [.validation]
        // The fold plans (and their JSON, part of each run id) depend on the seed and the
        // selection only: made once for all arms, not once per run.
        var foldPlans: [String: (plan: FoldPlan, json: Data)] = [:]
        let subjects = cohort.subjects
        for seed in file.seeds {
            for selection in selections where foldPlans["\(seed) \(selection.rawValue)"] == nil {
                let plan = try FoldPlan(subjects: subjects, folds: file.folds, kind: file.foldPlan, seed: seed, selection: selection)
                foldPlans["\(seed) \(selection.rawValue)"] = (plan, plan.jsonData())
            }
        }
        for (a, arm) in file.arms.enumerated() {
            let experiment = experiments[a], cost = costs[a]
            let json = try experiment.canonicalJSON()
            for seed in file.seeds {
                for selection in selections {
                    let foldPlan = foldPlans["\(seed) \(selection.rawValue)"]!
                    let setup = try RunSetup(
                        cohort: cohort, foldPlan: foldPlan.plan, foldPlanJSON: foldPlan.json, foldPlanKind: file.foldPlan, configJSON: json,
                        seed: seed, selection: selection, epochs: experiment.training.epochs) { train, evaluated in
                            TaskCost.megaFLOPs(epochs: experiment.training.epochs, trainSamples: train,
                                               evaluatedSamples: evaluated, model: cost)
                        }
                    let paper = selection == .testOracle
                    runs.append(StudyRun(arm: arm.name, seed: seed, paper: paper, setup: setup,
                                         layout: layout.run(arm: arm.name, seed: seed, paper: paper)))
                }
            }
        }
        self.runs = runs
        var hasher = SHA256()
        for run in runs { hasher.update(Array("\(run.label) \(run.setup.plan.runID)\n".utf8)) }
        studyID = "study-" + String(hasher.hexDigest().prefix(16))
    }

    /// The coordinator's view of the runs: plan, journal, checkpoints, label.
    public var coordinatorRuns: [CoordinatorRuntime.Run] {
        runs.map { CoordinatorRuntime.Run(plan: $0.setup.plan, journalURL: $0.layout.journal,
                                          checkpointDirectory: $0.layout.checkpoints, label: $0.label) }
    }
}
