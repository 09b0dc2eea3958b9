import ArgumentParser
import Coordinator

/// When a fold is stuck (its holder heartbeats but reports no epoch): the
/// coordinator's limits (`FoldDeadlines`), shared by `coordinator` and `study`.
struct StallOptions: ParsableArguments {
    @Option(help: "A running fold with no new epoch for this many times the run's median epoch time is queued again.")
    var stallMultiple: Double = FoldDeadlines.defaultMultiple

    @Option(help: "Shortest wait for a fold's next epoch, in seconds, whatever the median epoch time.")
    var stallFloorS: Double = FoldDeadlines.defaultFloor

    @Option(help: "Longest wait for a fold's first epoch (fetching data and writing epoch files included), in seconds.")
    var firstEpochAllowanceS: Double = FoldDeadlines.defaultFirstEpochAllowance

    func validate() throws {
        // Zero, negative or infinite limits would requeue every fold at once or never.
        for (option, value) in [("--stall-multiple", stallMultiple), ("--stall-floor-s", stallFloorS),
                                ("--first-epoch-allowance-s", firstEpochAllowanceS)] where !(value.isFinite && value > 0) {
            throw ValidationError("\(option): found \(value), expected a finite number greater than 0")
        }
    }

    var deadlines: FoldDeadlines {
        FoldDeadlines(multiple: stallMultiple, floor: stallFloorS, firstEpochAllowance: firstEpochAllowanceS)
    }
}
