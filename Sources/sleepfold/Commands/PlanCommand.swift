import ArgumentParser
import Foundation
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import Synthesis
import Evaluation
import Reports
import SleepNet
import Shared

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Print the subject-wise fold plan of a cohort (table, or JSON with --json).")

    @OptionGroup var cohort: CohortOptions

    @Flag(help: "Print {\"folds\": [{\"fold\", \"train\", \"validation\", \"test\"}, …]} instead of a table.")
    var json = false

    func run() throws {
        let (data, plan) = try cohort.load(sampleRate: nil)  // any rate: planning needs subjects only
        if json {
            FileHandle.standardOutput.write(plan.jsonData())
            print()
        } else {
            print("\(data.recordings.count) recordings of \(data.subjects.count) subjects, \(data.epochCount) epochs; " +
                  "\(plan.folds.count) folds, \(cohort.foldPlan.rawValue) order, seed \(cohort.seed), selection \(cohort.selection.rawValue)")
            print(plan.table())
        }
    }
}
