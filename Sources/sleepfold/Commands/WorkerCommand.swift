import ArgumentParser
import Foundation
import Worker
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

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Connect to a coordinator, train the folds it hands out, send back predictions.")

    @Option(help: "Coordinator endpoint, e.g. tcp://head-node:5555.")
    var connect: String

    @Option(help: "Compute threads (OpenBLAS and elementwise); default: all cores.")
    var threads: Int?

    @Option(help: "Shared data: the cohort's directory or manifest, as the coordinator has it (else files are fetched from the coordinator).")
    var data: String?

    @Option(help: "Where fetched recordings are cached.")
    var cache: String = FileManager.default.temporaryDirectory.appendingPathComponent("sleepfold-cache").path

    @Option(help: "Worker name in logs and reports (default: host:pid).")
    var workerID: String?

    @Option(help: "CURVE: this worker's .key_secret file.")
    var curveSecret: String?

    @Option(help: "CURVE: the coordinator's public .key file.")
    var serverKey: String?

    @Option(help: "Exit if no coordinator answers within this many seconds (default: keep trying).")
    var giveUpAfter: Double?

    @Option(help: .hidden)
    var parentPid: Int32?

    func run() throws {
        try CPUFeatures.current.requireModelCore()
        if let parentPid { exitWithParent(parentPid) }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let id = workerID ?? "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
        var curve: (keys: CurveKeyPair, serverKey: String)?
        switch (curveSecret, serverKey) {
        case (nil, nil): curve = nil
        case (let secret?, let server?):
            curve = (try CurveKeyFile.readKeyPair(URL(fileURLWithPath: secret)),
                     try CurveKeyFile.readPublicKey(URL(fileURLWithPath: server)))
        default: throw ValidationError("CURVE needs both --curve-secret and --server-key")
        }
        let options = WorkerRuntime.Options(
            endpoint: connect, threads: max(1, threads ?? cores),
            dataDirectory: data.map { URL(fileURLWithPath: $0) },
            cacheDirectory: URL(fileURLWithPath: cache), workerID: id, curve: curve, giveUpAfter: giveUpAfter)
        let runtime = try WorkerRuntime(options: options, trainer: FoldRunner.train) { line in
            FileHandle.standardError.write(Data("\(ISO8601DateFormatter().string(from: Date())) [\(id)] \(line)\n".utf8))
        }
        // SIGTERM (Slurm's warning before a time limit, preemption, `sleepfold run` on Ctrl-C)
        // or Ctrl-C: the fold stops before its next batch and its state goes to the coordinator.
        // A local worker of `run` (--parent-pid) hears Ctrl-C from its parent, as SIGTERM.
        if parentPid != nil { signal(SIGINT, SIG_IGN) }
        StopSignals.install(signals: parentPid == nil ? [SIGTERM, SIGINT] : [SIGTERM], log: { line in
            FileHandle.standardError.write(Data("\(ISO8601DateFormatter().string(from: Date())) [\(id)] \(line)\n".utf8))
        }) { [stop = runtime.stopRequest] in stop.set() }
        try runtime.run()
    }
}

/// Local workers of `sleepfold run` end with it, even when it is killed
/// (a worker that once joined otherwise waits for its coordinator forever).
/// An orphan is re-parented, so a changed parent pid means the parent is gone.
private func exitWithParent(_ parent: Int32) {
    Thread.detachNewThread {
        while getppid() == parent { sleep(1) }
        FileHandle.standardError.write(Data("parent process \(parent) is gone: worker exits\n".utf8))
        exit(1)
    }
}
