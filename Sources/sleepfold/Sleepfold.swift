import ArgumentParser
import Basics
import Recordings
import Cohorts
import Evaluation
import Reports
import SleepNet
import Shared

@main
struct Sleepfold: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sleepfold",
        abstract: "Subject-wise cross-validation of sleep-stage classifiers, across many machines.",
        version: sleepfoldVersion,
        subcommands: [SynthCommand.self, PrepareCommand.self, PlanCommand.self, TrainCommand.self, CoordinatorCommand.self, WorkerCommand.self, RunCommand.self, StudyCommand.self, ReportCommand.self, PredictCommand.self, StageCommand.self, BenchCommand.self, CompareCommand.self, KeygenCommand.self, LoadWorkersCommand.self]
    )
}
