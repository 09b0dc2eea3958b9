import Foundation
import Testing
import Basics
import TestSupport

/// `sleepfold run` and its local worker processes.
@Suite(.serialized) struct RunCommandTests {
    /// The pid of the `sleepfold worker` started by `parent` with `--worker-id id`, from /proc.
    static func workerPID(parent: Int32, id: String) -> Int32? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry),
                  let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let arguments = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            func value(_ option: String) -> String? {
                arguments.firstIndex(of: option).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
            }
            if arguments.count > 1, arguments[1] == "worker", value("--worker-id") == id,
               value("--parent-pid") == String(parent) {
                return pid
            }
        }
        return nil
    }

    /// With 2 workers, local-2 is killed; with 1, the only worker (without a restart, the
    /// run would wait forever for a worker).
    @Test(arguments: [2, 1])
    func aLocalWorkerKilledMidRunIsNamedRestartedAndTheRunFinishes(workers: Int) throws {
        let f = try ClusterFixture(name: "run-kill-local", epochs: 4)
        defer { f.remove() }
        let out = f.root.appendingPathComponent("run")
        let run = try BackgroundProcess(["run", "--workers", String(workers)] + f.runArguments + ["--out", out.path],
                                        log: f.root.appendingPathComponent("run.out"))
        defer { run.kill() }
        // Wait until local-N is training a fold, then kill it.
        let name = "local-\(workers)"
        let workerLog = out.appendingPathComponent("logs/worker-\(workers).log")
        let deadline = Date().addingTimeInterval(120)
        var victim: Int32?
        while Date() < deadline, run.process.isRunning {
            let text = (try? String(contentsOf: workerLog, encoding: .utf8)) ?? ""
            if text.contains("(attempt "), let pid = Self.workerPID(parent: run.process.processIdentifier, id: name) {
                victim = pid
                break
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let pid = try #require(victim, "\(name) never started a fold: \(run.output)")
        #expect(kill(pid, SIGKILL) == 0)

        #expect(run.waitForExit(timeout: 120) == 0, "\(run.output)")
        let log = try String(contentsOf: out.appendingPathComponent("logs/coordinator.log"), encoding: .utf8)
        #expect(log.contains("worker \(name) (pid \(pid)) died: killed by signal SIGKILL (9)"), "\(log)")
        #expect(log.contains("restarted worker \(name)"), "\(log)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("report.json").path))
        #expect(try f.predictions(out).split(separator: "\n").count == 1 + 4 * 48)
    }

    @Test func helpSaysHowDeadWorkersAreHandled() throws {
        let help = try CommandRunner.run(["help", "run"])
        #expect(help.status == 0)
        let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("restarted after a back-off (1 s, doubling), at most 3 times per worker"), "\(help.stdout)")
    }
}
