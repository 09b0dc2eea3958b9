import Foundation
import Synchronization
import Basics
import Recordings
import Cohorts
import EDF
import Synthesis
import Evaluation
import Reports
import Shared
import TestSupport

/// A tiny cohort and config for end-to-end cluster tests, plus helpers to start,
/// watch and kill real `sleepfold` processes.
struct ClusterFixture {
    let root: URL
    var data: URL { root.appendingPathComponent("data") }
    var config: URL { root.appendingPathComponent("tiny.json") }

    /// Folds of the runs (`runArguments`).
    let folds: Int

    /// 4 subjects, one `hours`-hour night each; a narrow AttnSleep, `epochs` epochs.
    init(name: String, epochs: Int = 2, hours: Double = 0.4, folds: Int = 4) throws {
        root = try CommandRunner.temporaryDirectory(name)
        self.folds = folds
        let synth = try CommandRunner.run(["synth", "--subjects", "4", "--nights", "1", "--hours", String(hours),
                                           "--seed", "2", "--out", data.path])
        guard synth.status == 0 else { throw Failure("synth failed: \(synth.stderr)") }
        let json = """
        {"name": "tiny", "model": {"cnnFirstChannels": 8, "cnnChannels": 16, "afrChannels": 4, "heads": 4, "dFF": 16},
         "training": {"epochs": \(epochs), "batchSize": 16}}
        """
        try json.write(to: config, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    /// Arguments shared by `run` and `coordinator`: data, folds, config, seed.
    var runArguments: [String] {
        ["--data", data.path, "--folds", String(folds), "--config", config.path, "--seed", "9"]
    }

    func predictions(_ runDirectory: URL) throws -> String {
        try String(contentsOf: runDirectory.appendingPathComponent("predictions.csv"), encoding: .utf8)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }
}

/// An undisturbed run of the cluster fixture (`sleepfold run --workers 1`), one per
/// epoch count, made once per test process and shared: the hostile-peer tests compare
/// their runs' predictions.csv with its byte for byte (the synthetic cohort and the
/// model are deterministic, so the same arguments give the same file).
struct ReferenceRun: Sendable {
    let fixture: ClusterFixture
    let directory: URL
    let predictions: String

    private static let made = Mutex<[Int: ReferenceRun]>([:])

    static func make(epochs: Int) throws -> ReferenceRun {
        try made.withLock { runs in
            if let run = runs[epochs] { return run }
            if runs.isEmpty { atexit { ReferenceRun.removeAll() } }
            let fixture = try ClusterFixture(name: "reference-\(epochs)", epochs: epochs)
            let directory = fixture.root.appendingPathComponent("run")
            let result = try CommandRunner.run(["run", "--workers", "1"] + fixture.runArguments + ["--out", directory.path])
            guard result.status == 0 else {
                fixture.remove()
                throw ClusterFixture.Failure("the reference run failed: \(result.stderr)")
            }
            let run = ReferenceRun(fixture: fixture, directory: directory, predictions: try fixture.predictions(directory))
            runs[epochs] = run
            return run
        }
    }

    private static func removeAll() {
        made.withLock { runs in for run in runs.values { run.fixture.remove() } }
    }
}

/// A `sleepfold` process running in the background, its output in a log file.
final class BackgroundProcess {
    let process = Process()
    let log: URL
    /// Its peak resident memory, sampled from outside while it runs.
    let memory: MemoryWatch

    init(_ arguments: [String], log: URL, prefix: [String] = []) throws {
        self.log = log
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
            throw ClusterFixture.Failure("cannot create the log file \(log.path)")
        }
        let handle = try FileHandle(forWritingTo: log)
        if prefix.isEmpty {
            process.executableURL = CommandRunner.executable
            process.arguments = arguments
        } else {
            // e.g. ["ip", "netns", "exec", NAME]: run the binary inside a namespace.
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = prefix + [CommandRunner.executable.path] + arguments
        }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        memory = MemoryWatch(pid: process.processIdentifier)
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Waits until the log contains `text` (true) or `timeout` passes (false).
    func waitFor(_ text: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if output.contains(text) { return true }
            if !process.isRunning { return output.contains(text) }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// Waits for the process to exit; its status, or nil on timeout.
    func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) } }
}

/// A TCP port that is free right now on 127.0.0.1 (bound then released by libzmq).
func freePort() throws -> Int {
    let context = try ZMQContext()
    let socket = try ZMQSocket(context, .router)
    try socket.bind("tcp://127.0.0.1:*")
    let endpoint = try socket.lastEndpoint
    socket.close()
    return Int(endpoint.split(separator: ":").last!)!
}
