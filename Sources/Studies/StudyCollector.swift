import Foundation
import Basics
import Evaluation
import Reports
import SleepNet
import Shared
import Coordinator

/// Gathers what the study report is made of from a finished study: each arm's
/// model facts (config, parameters, FLOPs per sample) and, for each seed, the
/// test predictions under every selection its runs kept.
public enum StudyCollector {
    /// - Parameters:
    ///   - results: each run's fold results, in `plan.runs` order (the coordinator's outcome).
    ///   - selections: each run's prediction rows, in `plan.runs` order (made from `results`).
    ///   - utilisation: makespan and LPT bound of the session that finished the study.
    public static func input(plan: StudyPlan, results: [[Int: Sleepfold_FoldResult]],
                             selections: [RunReporter.Selections], workers: Int,
                             utilisation: Utilisation?) -> StudyInput {
        var arms: [StudyInput.Arm] = []
        for (a, arm) in plan.file.arms.enumerated() {
            var runs: [StudyInput.Run] = []
            for seed in plan.file.seeds {
                guard let honest = plan.runs.firstIndex(where: { $0.arm == arm.name && $0.seed == seed && !$0.paper }) else { continue }
                let paper = plan.runs.firstIndex { $0.arm == arm.name && $0.seed == seed && $0.paper }
                var predictions: [StudyInput.Selection: [Prediction]] = [
                    .validation: selections[honest].own,
                    .last: selections[honest].last,
                    .testOracle: selections[honest].testOracle,
                ]
                if let paper { predictions[.paper] = selections[paper].own }
                runs.append(StudyInput.Run(
                    seed: seed, directory: plan.runs[honest].label, paperDirectory: paper.map { plan.runs[$0].label },
                    predictions: predictions, wallSeconds: results[honest].values.reduce(0) { $0 + $1.trainSeconds },
                    foldPlan: plan.runs[honest].setup.foldPlan))
            }
            let experiment = plan.experiments[a]
            let config = (try? JSONDecoder().decode(JSONValue.self, from: Data(experiment.canonicalJSON().utf8))) ?? .null
            arms.append(StudyInput.Arm(
                name: arm.name, config: config,
                model: "\(experiment.model.featureExtractor.rawValue) + \(experiment.model.encoder.rawValue)",
                batchSize: experiment.training.batchSize, parameters: plan.costs[a].parameters,
                flopsPerSample: plan.costs[a].trainFLOPsPerSample, runs: runs))
        }
        let first = plan.runs[0].setup
        return StudyInput(name: plan.file.name, baseline: plan.file.baseline, foldPlan: first.foldPlan,
                          recordingSubjects: first.recordingSubjects, arms: arms, workers: workers,
                          makespanSeconds: utilisation?.makespanSeconds, lptLowerBoundSeconds: utilisation?.lowerBoundSeconds,
                          sleepfoldVersion: sleepfoldVersion)
    }
}
