import Foundation
import Testing
import Basics
import TestSupport

/// Preemption-safe folds (issue #14, docs/fold-state.md) with real processes over
/// real sockets: workers killed (SIGKILL) or stopped (SIGTERM) mid-fold, `run`
/// interrupted by Ctrl-C, the coordinator and its worker lost together with a torn
/// and a foreign state on disk. Every run ends with the predictions, probabilities
/// and checkpoints of the undisturbed run, and report.json counts the work.
@Suite(.serialized) struct PreemptionTests {
    static let epochs = 10

    /// 4 subjects with 3-hour nights, 2 folds, a narrow AttnSleep: a fold takes a few
    /// seconds, long enough to be hit mid-way; and its undisturbed run.
    static func fixture(_ name: String) throws -> (ClusterFixture, reference: URL) {
        let f = try ClusterFixture(name: name, epochs: epochs, hours: 3, folds: 2)
        let reference = f.root.appendingPathComponent("reference")
        let result = try CommandRunner.run(["run", "--workers", "1"] + f.runArguments + ["--out", reference.path])
        guard result.status == 0 else { throw ClusterFixture.Failure("the undisturbed run failed: \(result.stderr)") }
        return (f, reference)
    }

    static func coordinator(_ f: ClusterFixture, port: Int, log: String) throws -> BackgroundProcess {
        try BackgroundProcess(["coordinator"] + f.runArguments +
                              ["--bind", "tcp://127.0.0.1:\(port)", "--out", f.root.appendingPathComponent("run").path],
                              log: f.root.appendingPathComponent(log))
    }

    static func worker(_ f: ClusterFixture, port: Int, id: String) throws -> BackgroundProcess {
        try BackgroundProcess(["worker", "--connect", "tcp://127.0.0.1:\(port)", "--worker-id", id, "--threads", "1",
                               "--data", f.data.path, "--cache", f.root.appendingPathComponent("cache").path],
                              log: f.root.appendingPathComponent("\(id).out"))
    }

    /// Waits until `text` occurs at least `count` times in the process's log.
    static func waitFor(_ p: BackgroundProcess, _ text: String, count: Int, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if p.output.components(separatedBy: text).count - 1 >= count { return true }
            if !p.process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return p.output.components(separatedBy: text).count - 1 >= count
    }

    /// The run's outputs that must equal the undisturbed run's, byte for byte.
    static func expectSameResults(_ run: URL, _ reference: URL) throws {
        for name in ["predictions.csv", "predictions-last.csv", "predictions-test-oracle.csv",
                     "checkpoints/fold-00.safetensors", "checkpoints/fold-01.safetensors"] {
            #expect(try Data(contentsOf: run.appendingPathComponent(name)) == Data(contentsOf: reference.appendingPathComponent(name)),
                    "\(name) differs from the undisturbed run's")
        }
        // Every state is removed once its fold's result is journalled.
        let states = (try? FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("states").path)) ?? []
        #expect(states.isEmpty, "states left: \(states)")
    }

    /// Per fold: (attempts, epochs_trained) from report.json.
    static func work(_ run: URL) throws -> [(attempts: Int, epochsTrained: Double)] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("report.json"))) as! [String: Any]
        return (json["folds"] as! [[String: Any]]).map {
            (($0["attempts"] as! NSNumber).intValue, ($0["epochs_trained"] as! NSNumber).doubleValue)
        }
    }

    @Test func aWorkerKilledThreeTimesAtRandomMomentsLosesAtMostTheEpochInProgress() throws {
        let (f, reference) = try Self.fixture("preempt-sigkill")
        defer { f.remove() }
        let port = try freePort()
        let coordinator = try Self.coordinator(f, port: port, log: "coordinator.out")
        defer { coordinator.kill() }
        var random = SeededGenerator(seed: 14)
        for k in 0..<3 {
            let victim = try Self.worker(f, port: port, id: "victim\(k)")
            // Killed some way into an epoch after the fold it holds has saved a state.
            let saved = coordinator.output.components(separatedBy: "saved (").count - 1
            #expect(Self.waitFor(coordinator, "saved (", count: saved + 1, timeout: 120), "\(coordinator.output)")
            Thread.sleep(forTimeInterval: Double.random(in: 0.05...0.5, using: &random))
            victim.kill()
        }
        let survivor = try Self.worker(f, port: port, id: "survivor")
        #expect(coordinator.waitForExit(timeout: 300) == 0, "\(coordinator.output)")
        _ = survivor.waitForExit(timeout: 15)
        let run = f.root.appendingPathComponent("run")
        try Self.expectSameResults(run, reference)
        #expect(coordinator.output.contains("from its state after epoch"), "no fold continued from a state")
        let work = try Self.work(run)
        let lost = work.reduce(0) { $0 + $1.attempts - 1 }
        #expect(lost >= 1 && lost <= 3, "\(work)")
        for w in work {
            #expect(w.epochsTrained >= Double(Self.epochs) && w.epochsTrained <= Double(Self.epochs + w.attempts - 1), "\(work)")
        }
    }

    @Test func aWorkerStoppedThreeTimesWithSIGTERMLosesNothing() throws {
        let (f, reference) = try Self.fixture("preempt-sigterm")
        defer { f.remove() }
        let port = try freePort()
        let coordinator = try Self.coordinator(f, port: port, log: "coordinator.out")
        defer { coordinator.kill() }
        var random = SeededGenerator(seed: 15)
        for k in 0..<3 {
            let worker = try Self.worker(f, port: port, id: "stopped\(k)")
            let saved = coordinator.output.components(separatedBy: "saved (").count - 1
            #expect(Self.waitFor(coordinator, "saved (", count: saved + 1, timeout: 120), "\(coordinator.output)")
            Thread.sleep(forTimeInterval: Double.random(in: 0.05...0.5, using: &random))
            kill(worker.process.processIdentifier, SIGTERM)
            #expect(worker.waitForExit(timeout: 60) == 0, "\(worker.output)")
            #expect(worker.output.contains("state saved by the coordinator") || worker.output.contains("done in"),
                    "\(worker.output)")
        }
        let last = try Self.worker(f, port: port, id: "last")
        #expect(coordinator.waitForExit(timeout: 300) == 0, "\(coordinator.output)")
        _ = last.waitForExit(timeout: 15)
        let run = f.root.appendingPathComponent("run")
        try Self.expectSameResults(run, reference)
        #expect(coordinator.output.contains("queued again, from its state after epoch"), "\(coordinator.output)")
        // A stopped worker hands over its exact position: not one batch is trained twice.
        let work = try Self.work(run)
        #expect(work.allSatisfy { $0.epochsTrained == Double(Self.epochs) }, "\(work)")
        #expect(work.reduce(0) { $0 + $1.attempts } >= 3, "\(work)")
    }

    @Test func ctrlCOnRunSavesTheFoldMidEpochAndTheSameCommandContinuesIt() throws {
        let (f, reference) = try Self.fixture("preempt-ctrl-c")
        defer { f.remove() }
        let run = f.root.appendingPathComponent("run")
        let arguments = ["run", "--workers", "1"] + f.runArguments + ["--out", run.path]
        let first = try BackgroundProcess(arguments, log: f.root.appendingPathComponent("first.out"))
        defer { first.kill() }
        let coordinatorLog = run.appendingPathComponent("logs/coordinator.log")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline,
              !((try? String(contentsOf: coordinatorLog, encoding: .utf8)) ?? "").contains("fold 0: state after epoch 2 saved") {
            Thread.sleep(forTimeInterval: 0.02)
        }
        kill(first.process.processIdentifier, SIGINT)
        #expect(first.waitForExit(timeout: 120) == 75, "\(first.output)")   // EX_TEMPFAIL: run it again
        #expect(first.output.contains("stopped by a signal"), "\(first.output)")
        let log = try String(contentsOf: coordinatorLog, encoding: .utf8)
        #expect(log.contains("queued again, from its state after epoch"), "\(log)")

        let second = try CommandRunner.run(arguments)
        #expect(second.status == 0, "\(second.stderr)")
        let resumed = try String(contentsOf: coordinatorLog, encoding: .utf8)
        #expect(resumed.contains("continues from its saved state after epoch"), "\(resumed)")
        try Self.expectSameResults(run, reference)
        let work = try Self.work(run)
        #expect(work.allSatisfy { $0.epochsTrained == Double(Self.epochs) }, "\(work)")
        #expect(work[0].attempts == 2, "\(work)")
    }

    @Test func aCoordinatorLostWithItsWorkerContinuesFromTheNewestSoundStateNeverAForeignOne() throws {
        let (f, reference) = try Self.fixture("preempt-node-lost")
        defer { f.remove() }
        let port = try freePort()
        let run = f.root.appendingPathComponent("run")
        let first = try Self.coordinator(f, port: port, log: "first.out")
        let worker = try Self.worker(f, port: port, id: "w1")
        #expect(Self.waitFor(first, "fold 0: state after epoch 3 saved", count: 1, timeout: 120), "\(first.output)")
        // The node goes down: coordinator and worker at once.
        first.kill()
        worker.kill()
        let states = run.appendingPathComponent("states")
        let newest = states.appendingPathComponent("fold-00.state"), previous = states.appendingPathComponent("fold-00.state.prev")
        // Torn: the newest state cut short (as a crash mid-write on a file system without atomic rename would leave it).
        let bytes = try Data(contentsOf: newest)
        try bytes.prefix(bytes.count / 2).write(to: newest)
        // Foreign: fold 0's state put where fold 1's would be.
        try FileManager.default.copyItem(at: previous, to: states.appendingPathComponent("fold-01.state"))

        let second = try Self.coordinator(f, port: port, log: "second.out")
        defer { second.kill() }
        let replacement = try Self.worker(f, port: port, id: "w2")
        #expect(second.waitForExit(timeout: 300) == 0, "\(second.output)")
        _ = replacement.waitForExit(timeout: 15)
        let out = second.output
        #expect(out.contains("fold-00.state: framing") && out.contains("passed over"), "\(out)")
        #expect(out.contains("fold 0: continues from its saved state after epoch"), "\(out)")
        #expect(out.contains("fold-01.state: __metadata__.fingerprint") && out.contains("fold 1: no sound saved state; it starts from epoch 1"), "\(out)")
        #expect(!out.contains("fold 1: continues"), "\(out)")
        try Self.expectSameResults(run, reference)
    }
}
