import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import EDF
import Synthesis
import Evaluation
import Reports
import Shared
import TestSupport

/// cluster/hosts/sleepfold-hosts.sh, with `SSH` set to a stand-in that runs each
/// host's command on this machine (no sshd needed), so the script's own commands —
/// quoting, detaching, pid files — run for real.
@Suite struct HostsTests {
    static let script = Script.packageRoot.appendingPathComponent("cluster/hosts/sleepfold-hosts.sh").path

    /// A fixture with the ssh stand-in (it logs each host it is asked to reach) and a hosts file.
    struct Hosts {
        let root: URL
        var shim: URL { root.appendingPathComponent("ssh-local") }
        var calls: URL { root.appendingPathComponent("ssh-calls") }
        var file: URL { root.appendingPathComponent("hosts") }
        /// Where the workers' logs and pid files go ("remote" only in name; a space to test quoting).
        var remote: URL { root.appendingPathComponent("remote dir") }

        init(root: URL, hosts: String) throws {
            self.root = root
            try """
            #!/bin/sh
            # ssh stand-in: runs the command here instead of on host $1, as ssh would there.
            echo "$1" >> "$(dirname "$0")/ssh-calls"
            shift
            exec /bin/sh -c "$*"

            """.write(to: shim, atomically: true, encoding: .utf8)
            chmod(shim.path, 0o755)
            try hosts.write(to: file, atomically: true, encoding: .utf8)
        }

        var environment: [String: String] {
            // Workers that lose their test stop trying after 30 s.
            ["SSH": shim.path, "SLEEPFOLD_BIN": CommandRunner.executable.path, "SLEEPFOLD_REMOTE_DIR": remote.path,
             "SLEEPFOLD_GIVE_UP": "30"]
        }

        func run(_ arguments: [String], _ extra: [String: String] = [:], timeout: Double = 120) throws -> CommandRunner.Output {
            try Script.run("/bin/bash", [HostsTests.script] + arguments,
                           environment: environment.merging(extra) { $1 }, timeout: timeout)
        }

        func hostsCalled() -> [String] {
            ((try? String(contentsOf: calls, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
    }

    @Test func studyRunsAStudyHereWithAWorkerOnEachHost() throws {
        let f = try StudyCommandTests.Fixture(name: "hosts-study")
        defer { f.remove() }
        // One seed, no paper runs: 2 arms × 3 folds.
        try """
        {"name": "tiny", "data": "data", "folds": 3, "seeds": [4], "baseline": "a",
         "arms": [{"name": "a", "config": "a.json"}, {"name": "b", "config": "b.json"}]}
        """.write(to: f.studyFile, atomically: true, encoding: .utf8)
        let h = try Hosts(root: f.root, hosts: "alpha threads=1 data=\(f.data.path)\nbeta threads=1\n")
        let port = try freePort()
        let out = f.root.appendingPathComponent("out")
        let result = try h.run(["study", h.file.path, f.studyFile.path, "--out", out.path], [
            "SLEEPFOLD_PORT": String(port), "SLEEPFOLD_CONNECT": "tcp://127.0.0.1:\(port)",
            "SLEEPFOLD_WORKER_ARGS": "--cache \(f.root.appendingPathComponent("cache").path)",
        ], timeout: 240)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(h.hostsCalled() == ["alpha", "beta"])
        for arm in ["a", "b"] {
            let report = try Report.read(from: out.appendingPathComponent("\(arm)/seed-4/report.json"))
            #expect(report.pooled.epochs == 6 * 48)
        }
        let log = try String(contentsOf: out.appendingPathComponent("logs/coordinator.log"), encoding: .utf8)
        #expect(log.contains("worker alpha-1 joined") && log.contains("worker beta-2 joined"), "\(log)")
        #expect(result.stdout.contains("study: \(out.path)/study.html"), "\(result.stdout)")
    }

    @Test func runStartsTheCoordinatorHereAndAWorkerOnEachHost() throws {
        let f = try ClusterFixture(name: "hosts-run", epochs: 2)
        defer { f.remove() }
        let h = try Hosts(root: f.root, hosts: """
            # two machines; beta has no copy of the data and fetches it from the coordinator
            alpha   threads=1 data=\(f.data.path)
            me@beta threads=1   # a comment
            """)
        let cache = f.root.appendingPathComponent("cache")
        let port = try freePort()
        let run = f.root.appendingPathComponent("run")
        let result = try h.run(["run", h.file.path] + f.runArguments + ["--out", run.path], [
            "SLEEPFOLD_PORT": String(port), "SLEEPFOLD_CONNECT": "tcp://127.0.0.1:\(port)",
            "SLEEPFOLD_WORKER_ARGS": "--cache \(cache.path)",
        ])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(h.hostsCalled() == ["alpha", "me@beta"])
        #expect(result.stdout.contains("alpha: worker alpha-1 started"))
        #expect(result.stdout.contains("me@beta: worker beta-2 started"))

        let report = try Report.read(from: run.appendingPathComponent("report.json"))
        #expect(report.pooled.epochs == 4 * 48)
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("report.html").path))
        let log = try String(contentsOf: run.appendingPathComponent("logs/coordinator.log"), encoding: .utf8)
        #expect(log.contains("coordinator listening on tcp://0.0.0.0:\(port)"), "\(log)")
        for worker in ["alpha-1", "beta-2"] {
            #expect(log.contains("worker \(worker) joined"), "\(log)")
            let workerLog = try String(contentsOf: h.remote.appendingPathComponent("worker-\(worker).log"), encoding: .utf8)
            #expect(workerLog.contains("coordinator says stop"), "\(workerLog)")
        }
        // beta read its recordings from the coordinator into its cache.
        #expect(!((try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? []).isEmpty)
    }

    @Test func startStatusAndStopManageDetachedWorkers() throws {
        let h = try Hosts(root: try CommandRunner.temporaryDirectory("hosts-start"), hosts: "alpha threads=1\nalpha threads=1\n")
        defer { try? FileManager.default.removeItem(at: h.root) }
        // No coordinator at this endpoint: the workers keep trying until stopped.
        let endpoint = "tcp://127.0.0.1:\(try freePort())"
        let start = try h.run(["start", h.file.path, endpoint])
        #expect(start.status == 0, "\(start.stderr)")
        #expect(start.stdout.contains("worker alpha-1 started") && start.stdout.contains("worker alpha-2 started"))

        let running = try h.run(["status", h.file.path])
        let pids = running.stdout.matches(of: /worker alpha-\d running (\d+)/).map { Int32($0.output.1)! }
        #expect(pids.count == 2, "\(running.stdout)")
        for pid in pids { #expect(alive(pid)) }

        let stop = try h.run(["stop", h.file.path])
        #expect(stop.status == 0 && stop.stdout.components(separatedBy: "stopped").count - 1 == 2, "\(stop.stdout)")
        let deadline = Date().addingTimeInterval(10)
        while pids.contains(where: alive) && Date() < deadline { usleep(50_000) }
        #expect(!pids.contains(where: alive))
        let after = try h.run(["status", h.file.path])
        #expect(after.stdout == "alpha: worker alpha-1 stopped\nalpha: worker alpha-2 stopped\n")
    }

    /// Whether process `pid` runs (a zombie waiting for its parent does not).
    private func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
        return state != "Z" && state != "X"
    }

    @Test(arguments: [
        ("alpha threads=0\n", "hosts:1: threads is '0', expected a positive integer"),
        ("# none\n\nalpha\nbeta cores=4\n", "hosts:4: 'cores=4' is not an option, expected threads=N or data=DIR"),
        ("threads=2 alpha\n", "hosts:1: the line starts with 'threads=2', expected a host name first"),
        ("# only comments\n", "hosts: no hosts, expected one host per line"),
    ])
    func aBadHostsFileIsRefusedWithItsLine(hosts: String, message: String) throws {
        let h = try Hosts(root: try CommandRunner.temporaryDirectory("hosts-bad"), hosts: hosts)
        defer { try? FileManager.default.removeItem(at: h.root) }
        let result = try h.run(["start", h.file.path, "tcp://127.0.0.1:1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(h.file.path.dropLast("hosts".count))\(message)"), "\(result.stderr)")
        #expect(h.hostsCalled().isEmpty)
    }
}
