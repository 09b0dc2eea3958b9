import Foundation
import Basics
import Evaluation
import Reports
import Shared
import Coordinator

/// Turns a finished study into its files: each run's directory (report.html,
/// .md, .json and the predictions CSVs, exactly as `sleepfold run` writes them)
/// and the study report comparing the arms (study.json, study.md, study.html,
/// with an error analysis per arm).
public enum StudyReporter {
    /// What was written: each run's report in `plan.runs` order, and the study report.
    public struct Written {
        public let runs: [Report]
        public let study: StudyReport
        /// This session's makespan against its LPT bound; nil when it trained nothing.
        public let utilisation: Utilisation?
    }

    /// - Parameters:
    ///   - outcome: the coordinator's, one entry per run of `plan.runs`.
    ///   - workers: the workers the study ran on (for the LPT bound).
    @discardableResult
    public static func write(plan: StudyPlan, outcome: CoordinatorRuntime.Outcome, workers: Int) throws -> Written {
        var reports: [Report] = [], selections: [RunReporter.Selections] = []
        for (run, results) in zip(plan.runs, outcome.results) {
            let rows = try RunReporter.Selections(results)
            reports.append(try RunReporter.write(setup: run.setup, results: results, selections: rows, to: run.layout))
            selections.append(rows)
        }
        let utilisation = Utilisation(makespanSeconds: outcome.timing.makespan, taskSeconds: outcome.timing.taskSeconds,
                                      workers: workers)
        var input = StudyCollector.input(plan: plan, results: outcome.results, selections: selections,
                                             workers: workers, utilisation: utilisation)
        if utilisation == nil, let earlier = try? StudyReport.read(from: plan.layout.studyJSON),
           earlier.makespanSeconds != nil {
            // Nothing was trained in this session (the study was done): keep the
            // utilisation of the session that trained it.
            input.makespanSeconds = earlier.makespanSeconds
            input.lptLowerBoundSeconds = earlier.lptLowerBoundSeconds
            input.workers = earlier.workers
        }
        let study = try StudyReport(input)
        let analyses = errorAnalyses(input)
        try study.write(to: plan.layout.studyJSON)
        var markdown = study.markdown()
        for a in analyses {
            markdown += "\n" + a.analysis.markdownSection(
                title: "Error analysis: \(a.arm) (seed \(a.run.seed), validation selection)", headingLevel: 2)
        }
        try AtomicFile.write(Data(markdown.utf8), to: plan.layout.studyMarkdown)
        var sections = analyses.map { a in
            StudyHTMLSection(id: "error-analysis-\(a.arm)", title: "Error analysis: \(a.arm)",
                             body: a.analysis.htmlSection(predictions: a.predictions, id: "errors-\(a.arm)",
                                                          title: "Seed \(a.run.seed), validation selection (\(a.run.directory))",
                                                          headingLevel: 3))
        }
        // The analysis's CSS once, with the first section.
        if !sections.isEmpty { sections[0].style = ErrorAnalysis.htmlStyle }
        try study.writeHTML(to: plan.layout.studyHTML, appending: sections)
        return Written(runs: reports, study: study, utilisation: utilisation)
    }

    /// One error analysis per arm: its first seed's validation-selected predictions
    /// (the honest model; one seed, since an epoch counts once per analysis).
    static func errorAnalyses(_ input: StudyInput)
        -> [(arm: String, run: StudyInput.Run, predictions: [Prediction], analysis: ErrorAnalysis)] {
        input.arms.compactMap { arm in
            guard let run = arm.runs.min(by: { $0.seed < $1.seed }),
                  let predictions = run.predictions[.validation], !predictions.isEmpty else { return nil }
            return (arm.name, run, predictions, ErrorAnalysis(predictions: predictions, recordingSubjects: input.recordingSubjects))
        }
    }
}
