import Foundation
import Basics
import Evaluation

extension StudyReport {
    /// Checks a study and computes every number of its report.
    ///
    /// - Every (arm, run, selection) with predictions is scored with `Evaluation`
    ///   on the study's fold plan: pooled over its folds, per fold, per subject.
    /// - `arms[].pooled`: per selection that at least one run has, each run's pooled
    ///   scores and their mean ± sd over seeds.
    /// - `comparisons`: for each selection in `comparedSelections` that the baseline
    ///   has, each other arm that has it too, and each score in `comparedScores`:
    ///   the paired per-fold differences over (fold, seed), their Wilcoxon test, the
    ///   Holm-adjusted p across the arms of that (selection, score), and a bootstrap
    ///   interval over subjects of the pooled difference (`SubjectBootstrap`, over
    ///   the seeds where both arms have the selection). Ordered by selection, score,
    ///   then arm.
    /// - `leakage`: per arm and selection in `leakageSelections`, the pooled scores
    ///   minus the validation selection's, for each seed that has both; an entry
    ///   only when at least one seed has both.
    ///
    /// - Parameters:
    ///   - input: the study.
    ///   - bootstrapSeed: seed of every bootstrap (each comparison resamples the same
    ///     subjects, so the arms' intervals are comparable).
    ///   - bootstrapReplicates: B.
    /// - Throws: `SleepfoldError` naming the input field (e.g. `arms[1].runs`):
    ///   `.emptyStudy` (no arms, an arm without runs), `.duplicateArm`,
    ///   `.unknownBaseline`, `.duplicateSeed`, `.mismatchedSeeds` (an arm's seeds
    ///   differ from the baseline's), `.invalidValue` (an empty name, a batch size
    ///   below 1, a negative or non-finite count or time, fewer than 1 worker or
    ///   bootstrap replicate); or, with the run directory as the file and the
    ///   selection in the field, an `Evaluation` error when a run's predictions do
    ///   not fit the fold plan or the recording → subject map.
    public init(_ input: StudyInput, bootstrapSeed: UInt64 = 0, bootstrapReplicates: Int = 2000) throws(SleepfoldError) {
        try Self.check(input)
        if bootstrapReplicates < 1 {
            throw SleepfoldError(.invalidValue, field: "bootstrapReplicates", found: "\(bootstrapReplicates)", expected: "at least 1")
        }

        // Runs by ascending seed: the order of every per-seed array.
        let arms = input.arms.map { arm in
            var sorted = arm
            sorted.runs.sort { $0.seed < $1.seed }
            return sorted
        }
        // evaluations[arm][run][selection]
        var evaluations: [[[Selection: Evaluation]]] = []
        for arm in arms {
            var perRun: [[Selection: Evaluation]] = []
            for run in arm.runs {
                var perSelection: [Selection: Evaluation] = [:]
                // In allCases order, so that the same bad input always names the same error.
                for selection in Selection.allCases {
                    guard let predictions = run.predictions[selection] else { continue }
                    do {
                        perSelection[selection] = try Evaluation(predictions: predictions, plan: run.foldPlan ?? input.foldPlan,
                                                                 recordingSubjects: input.recordingSubjects)
                    } catch {
                        var located = error
                        located.file = located.file
                            ?? (selection == .paper ? run.paperDirectory ?? run.directory : run.directory)
                        located.field = "\(selection.rawValue) predictions" + (error.field.map { ", \($0)" } ?? "")
                        throw located
                    }
                }
                perRun.append(perSelection)
            }
            evaluations.append(perRun)
        }

        schemaVersion = Self.currentSchemaVersion
        name = input.name
        sleepfoldVersion = input.sleepfoldVersion
        baseline = input.baseline
        folds = input.foldPlan.folds.count
        subjects = input.foldPlan.subjects.count
        workers = input.workers
        makespanSeconds = input.makespanSeconds
        lptLowerBoundSeconds = input.lptLowerBoundSeconds
        if let makespan = input.makespanSeconds, let bound = input.lptLowerBoundSeconds, bound > 0 {
            makespanOverLPT = makespan / bound
        } else {
            makespanOverLPT = nil
        }

        self.arms = zip(arms, evaluations).map { arm, runs in
            var pooled = SelectionScores()
            for selection in Selection.allCases where runs.contains(where: { $0[selection] != nil }) {
                pooled[selection] = Self.pooledScores(runs.map { $0[selection]?.pooled })
            }
            return Arm(name: arm.name, model: arm.model, batchSize: arm.batchSize, parameters: arm.parameters,
                       flopsPerSample: arm.flopsPerSample, config: arm.config,
                       runs: arm.runs.map { run in
                           Run(seed: run.seed, directory: run.directory, paperDirectory: run.paperDirectory,
                               wallSeconds: run.wallSeconds,
                               selections: Selection.allCases.filter { run.predictions[$0] != nil })
                       },
                       pooled: pooled)
        }

        let baselineIndex = arms.firstIndex { $0.name == input.baseline }!  // checked
        let seeds = arms[baselineIndex].runs.map(\.seed)  // the same for every arm (checked)
        var comparisons: [Comparison] = []
        for selection in Self.comparedSelections {
            // One bootstrap per arm serves both scores.
            var bootstraps: [Int: SubjectBootstrap] = [:]
            for armIndex in arms.indices where armIndex != baselineIndex {
                var armConfusions: [UInt64: [String: ConfusionMatrix]] = [:]
                var baselineConfusions: [UInt64: [String: ConfusionMatrix]] = [:]
                for (r, seed) in seeds.enumerated() {
                    guard let a = evaluations[armIndex][r][selection], let b = evaluations[baselineIndex][r][selection] else { continue }
                    armConfusions[seed] = Self.subjectConfusions(a)
                    baselineConfusions[seed] = Self.subjectConfusions(b)
                }
                guard !armConfusions.isEmpty else { continue }
                bootstraps[armIndex] = try SubjectBootstrap(subjects: input.foldPlan.subjects, arm: armConfusions,
                                                            baseline: baselineConfusions, replicates: bootstrapReplicates,
                                                            seed: bootstrapSeed)
            }
            for score in Self.comparedScores {
                var family: [Comparison] = []
                for armIndex in arms.indices where bootstraps[armIndex] != nil {
                    let differences = PairedDifferences(arm: Self.foldScores(evaluations[armIndex], seeds: seeds, selection, score),
                                                        baseline: Self.foldScores(evaluations[baselineIndex], seeds: seeds, selection, score))
                    let bootstrap = bootstraps[armIndex]!
                    let interval = bootstrap[score]
                    family.append(Comparison(
                        arm: arms[armIndex].name, baseline: input.baseline, selection: selection, metric: score,
                        pairs: differences.pairs.count, meanDifference: differences.mean, medianDifference: differences.median,
                        differences: differences.pairs, wilcoxon: Wilcoxon(differences.wilcoxon), holmP: nil,
                        bootstrap: Bootstrap(estimate: interval.estimate, low: interval.low, high: interval.high,
                                             confidence: bootstrap.confidence, replicates: bootstrap.replicates,
                                             definedReplicates: interval.definedReplicates, seed: bootstrap.seed,
                                             seeds: bootstrap.seeds)))
                }
                for (i, p) in HolmCorrection.adjusted(family.map(\.wilcoxon.p)).enumerated() { family[i].holmP = p }
                comparisons += family
            }
        }
        self.comparisons = comparisons

        var leakage: [Leakage] = []
        for (arm, runs) in zip(arms, evaluations) {
            for selection in Self.leakageSelections {
                let pairs = runs.map { run -> (leaky: Metrics, honest: Metrics)? in
                    guard let leaky = run[selection], let honest = run[.validation] else { return nil }
                    return (leaky.pooled, honest.pooled)
                }
                guard pairs.contains(where: { $0 != nil }) else { continue }
                func difference(_ score: KeyPath<Metrics, Double?>) -> SeedStatistic {
                    SeedStatistic(perSeed: pairs.map { pair in
                        guard let pair, let x = pair.leaky[keyPath: score], let y = pair.honest[keyPath: score] else { return nil }
                        return x - y
                    })
                }
                leakage.append(Leakage(arm: arm.name, selection: selection, reference: .validation,
                                       accuracy: difference(\.accuracy), macroF1: difference(\.macroF1),
                                       kappa: difference(\.kappa)))
            }
        }
        self.leakage = leakage
    }

    /// Each run's pooled scores (nil for a run without the selection) over seeds.
    private static func pooledScores(_ runs: [Metrics?]) -> PooledScores {
        PooledScores(
            accuracy: SeedStatistic(perSeed: runs.map { $0?.accuracy }),
            macroF1: SeedStatistic(perSeed: runs.map { $0?.macroF1 }),
            kappa: SeedStatistic(perSeed: runs.map { $0?.kappa }),
            perClassF1: Stage.allCases.map { stage in
                SeedStatistic(perSeed: runs.map { metrics in
                    // Undefined, not 0, where the stage is neither true nor predicted
                    // (as FoldStatistics treats a fold).
                    guard let metrics, metrics.confusion.support(stage) + metrics.confusion.predictedCount(stage) > 0 else { return nil }
                    return metrics[stage].f1
                })
            })
    }

    /// The confusion matrix of each subject's test epochs.
    private static func subjectConfusions(_ evaluation: Evaluation) -> [String: ConfusionMatrix] {
        var map: [String: ConfusionMatrix] = [:]
        for subject in evaluation.subjects { map[subject.subject] = subject.metrics.confusion }
        return map
    }

    /// An arm's per-fold score per (fold, seed), where the fold has predictions.
    private static func foldScores(_ runs: [[Selection: Evaluation]], seeds: [UInt64], _ selection: Selection,
                                   _ score: Score) -> [FoldSeed: Double] {
        var values: [FoldSeed: Double] = [:]
        for (run, seed) in zip(runs, seeds) {
            guard let evaluation = run[selection] else { continue }
            for (fold, metrics) in evaluation.folds.enumerated() {
                let value: Double?
                switch score {
                case .accuracy: value = metrics.accuracy
                case .macroF1: value = metrics.macroF1
                case .kappa: value = metrics.kappa
                }
                if let value { values[FoldSeed(fold: fold, seed: seed)] = value }
            }
        }
        return values
    }

    // MARK: Checks

    /// Checks what the numbers cannot: names, seeds, counts and times.
    private static func check(_ input: StudyInput) throws(SleepfoldError) {
        if input.name.isEmpty {
            throw SleepfoldError(.invalidValue, field: "name", found: "an empty name", expected: "the study's name")
        }
        if input.arms.isEmpty {
            throw SleepfoldError(.emptyStudy, field: "arms", found: "no arms", expected: "at least one arm")
        }
        var names = Set<String>()
        for (i, arm) in input.arms.enumerated() {
            if arm.name.isEmpty {
                throw SleepfoldError(.invalidValue, field: "arms[\(i)].name", found: "an empty name", expected: "the arm's name")
            }
            if !names.insert(arm.name).inserted {
                throw SleepfoldError(.duplicateArm, field: "arms[\(i)].name", found: "\"\(arm.name)\" a second time",
                                     expected: "a name per arm")
            }
        }
        guard let baseline = input.arms.first(where: { $0.name == input.baseline }) else {
            throw SleepfoldError(.unknownBaseline, field: "baseline", found: "\"\(input.baseline)\"",
                                 expected: "one of the arms: \(input.arms.map { "\"\($0.name)\"" }.joined(separator: ", "))")
        }
        let baselineSeeds = baseline.runs.map(\.seed).sorted()
        for (i, arm) in input.arms.enumerated() {
            if arm.runs.isEmpty {
                throw SleepfoldError(.emptyStudy, field: "arms[\(i)].runs", found: "no runs (arm \"\(arm.name)\")",
                                     expected: "one run per seed")
            }
            if arm.batchSize < 1 {
                throw SleepfoldError(.invalidValue, field: "arms[\(i)].batchSize", found: "\(arm.batchSize)", expected: "at least 1")
            }
            if arm.parameters < 0 {
                throw SleepfoldError(.invalidValue, field: "arms[\(i)].parameters", found: "\(arm.parameters)", expected: "≥ 0")
            }
            if !(arm.flopsPerSample.isFinite && arm.flopsPerSample >= 0) {
                throw SleepfoldError(.invalidValue, field: "arms[\(i)].flopsPerSample", found: "\(arm.flopsPerSample)",
                                     expected: "a finite number ≥ 0")
            }
            var seen = Set<UInt64>()
            for (j, run) in arm.runs.enumerated() {
                if !seen.insert(run.seed).inserted {
                    throw SleepfoldError(.duplicateSeed, field: "arms[\(i)].runs[\(j)].seed",
                                         found: "seed \(run.seed) a second time (arm \"\(arm.name)\")", expected: "one run per seed")
                }
                if let wall = run.wallSeconds, !(wall.isFinite && wall >= 0) {
                    throw SleepfoldError(.invalidValue, field: "arms[\(i)].runs[\(j)].wallSeconds", found: "\(wall)",
                                         expected: "a finite number of seconds ≥ 0")
                }
            }
            let armSeeds = arm.runs.map(\.seed).sorted()
            if armSeeds != baselineSeeds {
                throw SleepfoldError(.mismatchedSeeds, field: "arms[\(i)].runs",
                                     found: "seeds \(armSeeds) (arm \"\(arm.name)\")",
                                     expected: "the baseline \"\(baseline.name)\"'s seeds \(baselineSeeds): arms are paired by seed")
            }
        }
        if input.workers < 1 {
            throw SleepfoldError(.invalidValue, field: "workers", found: "\(input.workers)", expected: "at least 1")
        }
        for (field, value) in [("makespanSeconds", input.makespanSeconds), ("lptLowerBoundSeconds", input.lptLowerBoundSeconds)] {
            if let value, !(value.isFinite && value >= 0) {
                throw SleepfoldError(.invalidValue, field: field, found: "\(value)", expected: "a finite number of seconds ≥ 0")
            }
        }
    }
}
