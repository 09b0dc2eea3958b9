import ArgumentParser
import Foundation
import Basics
import Recordings
import Cohorts
import Shared

/// `sleepfold bench-load-workers` (hidden): many simulated workers in one process,
/// for the coordinator load benchmark (Benchmarks/load). Each is a real DEALER
/// socket speaking the real protocol: hello, 1 Hz heartbeats with the batches
/// trained, a progress message and (with --state-bytes) a fold state after each
/// epoch, and a result that passes `RunPlan.validate`. Only the training is
/// simulated: it sleeps --task-seconds, and its predictions are the test nights'
/// own labels, read from --data as a worker with shared data reads them.
struct LoadWorkersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-load-workers",
        abstract: "Simulated workers for the coordinator load benchmark (Benchmarks/load).",
        shouldDisplay: false)

    @Option(help: "Coordinator endpoint, e.g. tcp://127.0.0.1:5555.")
    var connect: String

    @Option(help: "Simulated workers in this process (each its own DEALER socket).")
    var workers: Int

    @Option(help: "Seconds one simulated fold trains (spread evenly over the task's epochs).")
    var taskSeconds: Double

    @Option(help: "Each task trains --task-seconds × (1 ± up to this fraction), drawn per task (0: all alike).")
    var taskJitter: Double = 0

    @Option(help: "The cohort's directory or manifest: the test nights' epochs and labels.")
    var data: String

    @Option(help: "Bytes of the fold state uploaded after each epoch (0: none).")
    var stateBytes: Int = 0

    @Option(help: "Worker ids are PREFIX-0, PREFIX-1, … (default: host:pid).")
    var idPrefix: String?

    @Option(help: "Write what each worker did and every dispatch latency to this file when done.")
    var summary: String?

    @Option(help: "Leave when the coordinator has been silent this many seconds.")
    var giveUpAfter: Double = 15

    func validate() throws {
        guard (1...SimulatedWorkers.maxWorkersPerProcess).contains(workers) else {
            throw ValidationError("--workers: found \(workers), expected 1...\(SimulatedWorkers.maxWorkersPerProcess) per process "
                                  + "(libzmq's ZMQ_MAX_SOCKETS is 1023 per context; start more processes for more workers)")
        }
        guard taskSeconds.isFinite, taskSeconds >= 0 else { throw ValidationError("--task-seconds: found \(taskSeconds), expected ≥ 0") }
        guard (0..<1).contains(taskJitter) else { throw ValidationError("--task-jitter: found \(taskJitter), expected 0 ≤ j < 1") }
        guard (0...(64 << 20)).contains(stateBytes) else {
            throw ValidationError("--state-bytes: found \(stateBytes), expected 0...\(64 << 20)")
        }
        guard giveUpAfter > 0 else { throw ValidationError("--give-up-after: found \(giveUpAfter), expected > 0") }
    }

    func run() throws {
        let cohort = try Cohort.scan(URL(fileURLWithPath: data), expectedSampleRate: nil, checkSignal: false)
        let prefix = idPrefix ?? "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
        let simulation = try SimulatedWorkers(
            endpoint: connect, count: workers, idPrefix: prefix, cohort: cohort,
            taskSeconds: taskSeconds, taskJitter: taskJitter, stateBytes: stateBytes, giveUpAfter: giveUpAfter)
        let outcome = try simulation.run()
        if let summary {
            try outcome.text.write(to: URL(fileURLWithPath: summary), atomically: true, encoding: .utf8)
        }
        let tasks = outcome.workers.reduce(0) { $0 + $1.tasks }
        print("\(workers) simulated workers: \(tasks) folds done, \(outcome.latencies.count) dispatch latencies; "
              + (outcome.stoppedByCoordinator ? "stopped by the coordinator" : "the coordinator went silent"))
    }
}
