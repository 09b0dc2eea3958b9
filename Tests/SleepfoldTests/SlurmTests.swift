import Foundation
import Testing
import Basics
import Cohorts
import EDF
import Synthesis
import Evaluation
import Reports
import Shared
import TestSupport

/// Runs the repository's scripts (cluster launchers, Slurm tools) as real processes.
///
/// Not with Foundation's `Process`: its `waitUntilExit` waits for a descriptor the
/// child inherits, which daemons started by the script (munged, slurmctld, slurmd)
/// keep open, so it would wait until they stop. Here the child gets stdin from
/// /dev/null, stdout and stderr in files, no other descriptor, default signal
/// handling, and is waited for by pid.
enum Script {
    /// The package's root directory (this file is Tests/SleepfoldTests/SlurmTests.swift).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `executable` with `arguments`, this process's environment plus
    /// `environment`, in `directory`; kills it after `timeout` seconds (and throws).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    directory: URL? = nil, timeout: Double) throws -> CommandRunner.Output {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("sleepfold-script-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outPath = scratch.appendingPathComponent("stdout").path, errPath = scratch.appendingPathComponent("stderr").path

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        // bash closes every inherited descriptor above 2 and changes directory, then
        // becomes the command (posix_spawn's closefrom/chdir actions are not visible to Swift).
        let wrapper = #"for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done; cd "$0" && exec "$@""#
        let argv = (["/bin/bash", "-c", wrapper, directory?.path ?? FileManager.default.currentDirectoryPath, executable]
                    + arguments).map { strdup($0) } + [nil]
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        // Test threads block signals, and a child inherits the mask: unblock all and
        // restore default actions, or the daemons it starts would ignore SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw Failure(description: "\(executable): cannot start (\(String(cString: strerror(spawned))))")
        }

        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw CommandRunner.TimedOut(arguments: [executable] + arguments)
            }
            usleep(50_000)
        }
        // Exit code, or 128 + signal as shells report it.
        let exited = status & 0x7f == 0
        return CommandRunner.Output(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f),
                                    stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                                    stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}

/// cluster/slurm/sleepfold.sbatch on a real (one-machine, two-node) Slurm cluster.
@Suite(.serialized) struct SlurmTests {
    static let testing = Script.packageRoot.appendingPathComponent("cluster/slurm/testing")
    static let batchScript = Script.packageRoot.appendingPathComponent("cluster/slurm/sleepfold.sbatch")

    /// The environment of start-slurm.sh and stop-slurm.sh for a two-node cluster kept under `root`.
    static func clusterEnvironment(root: URL) -> [String: String] {
        ["SLURM_NODES": "2", "SLURM_BASE": root.appendingPathComponent("slurm").path]
    }

    /// Starts the throw-away cluster; the test fails with the script's stderr if it cannot.
    static func startCluster(_ environment: [String: String]) throws {
        let start = try Script.run("/bin/bash", [testing.appendingPathComponent("start-slurm.sh").path],
                                   environment: environment, timeout: 240)
        try #require(start.status == 0, "start-slurm.sh failed:\n\(start.stderr)")
    }

    /// Stops it (whatever state it is in).
    static func stopCluster(_ environment: [String: String]) {
        _ = try? Script.run("/bin/bash", [testing.appendingPathComponent("stop-slurm.sh").path],
                            environment: environment, timeout: 90)
    }

    /// Whether a throw-away Slurm cluster can be started here: start-slurm.sh must
    /// run as root (it starts munged, slurmctld and slurmd, and edits /etc/hosts),
    /// needs Slurm installed or apt-get to install it, and must not replace a
    /// real Slurm configuration of this machine.
    static let canStartSlurm: Bool = {
        let files = FileManager.default
        guard getuid() == 0 else { return false }
        guard files.isExecutableFile(atPath: "/usr/sbin/slurmctld") || files.isExecutableFile(atPath: "/usr/bin/apt-get") else { return false }
        if let conf = try? String(contentsOfFile: "/etc/slurm/slurm.conf", encoding: .utf8), !conf.hasPrefix("# slurm-ci") {
            return false
        }
        return true
    }()

    @Test(.enabled(if: SlurmTests.canStartSlurm,
                   "needs root, Slurm or apt-get to install it, and no real /etc/slurm/slurm.conf"),
          .timeLimit(.minutes(8)))
    func oneJobRunsTheCoordinatorAndAWorkerOnEachNode() throws {
        let f = try ClusterFixture(name: "slurm", epochs: 2)
        defer { f.remove() }
        let slurm = Self.clusterEnvironment(root: f.root)
        // Stop Slurm whatever happens (declared before the start can fail; runs before f.remove()).
        defer { Self.stopCluster(slurm) }
        try Self.startCluster(slurm)

        let run = f.root.appendingPathComponent("run")
        let jobOutput = f.root.appendingPathComponent("job.out")
        let submit = try Script.run("/usr/bin/timeout", [
            "150", "sbatch", "--wait", "--nodes=2", "--ntasks-per-node=1", "--cpus-per-task=1", "--time=5",
            "--output=\(jobOutput.path)", Self.batchScript.path,
        ], environment: [
            "SLEEPFOLD_BIN": CommandRunner.executable.path, "SLEEPFOLD_DATA": f.data.path, "SLEEPFOLD_FOLDS": "4",
            "SLEEPFOLD_CONFIG": f.config.path, "SLEEPFOLD_SEED": "9", "SLEEPFOLD_OUT": run.path,
            "SLEEPFOLD_PORT": String(try freePort()),
        ], directory: f.root, timeout: 170)
        let job = (try? String(contentsOf: jobOutput, encoding: .utf8)) ?? "(no job output)"
        #expect(submit.status == 0, "sbatch: \(submit.stdout)\(submit.stderr)\njob output:\n\(job)")

        // The report of all 4 folds (4 subjects of 48 epochs), its path printed at the end.
        let report = try Report.read(from: run.appendingPathComponent("report.json"))
        #expect(report.pooled.epochs == 4 * 48)
        #expect(report.folds.allSatisfy { $0.run.worker != nil })
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("report.html").path))
        #expect(job.contains("report: \(run.path)/report.html"), "\(job)")

        // The coordinator on node1; a worker on each node, and both ran folds.
        #expect(job.contains("coordinator on node1"), "\(job)")
        let log = try String(contentsOf: run.appendingPathComponent("logs/coordinator.log"), encoding: .utf8)
        for worker in ["node1-0", "node2-1"] {
            #expect(log.contains("worker \(worker) joined"), "\(log)")
            #expect(log.contains("→ \(worker)"), "\(log)")
            let workerLog = try String(contentsOf: run.appendingPathComponent("logs/worker-\(worker).log"), encoding: .utf8)
            #expect(workerLog.contains("coordinator says stop"), "\(workerLog)")
        }
        #expect(Set(report.folds.compactMap(\.run.worker)) == ["node1-0", "node2-1"])

        // A study job (SLEEPFOLD_STUDY): 2 arms × 1 seed, its run directories and
        // study report; workers fetch recordings from the coordinator (no SLEEPFOLD_DATA).
        let wide = f.root.appendingPathComponent("wide.json")
        try #"{"name": "wide", "model": {"cnnFirstChannels": 8, "cnnChannels": 16, "afrChannels": 4, "heads": 2, "dFF": 32}, "training": {"epochs": 1, "batchSize": 16}}"#
            .write(to: wide, atomically: true, encoding: .utf8)
        let studyFile = f.root.appendingPathComponent("study.json")
        try """
        {"name": "slurm", "data": "data", "folds": 4, "seeds": [9], "baseline": "tiny",
         "arms": [{"name": "tiny", "config": "tiny.json"}, {"name": "wide", "config": "wide.json"}]}
        """.write(to: studyFile, atomically: true, encoding: .utf8)
        let study = f.root.appendingPathComponent("study")
        let studyOutput = f.root.appendingPathComponent("study-job.out")
        let studySubmit = try Script.run("/usr/bin/timeout", [
            "150", "sbatch", "--wait", "--nodes=2", "--ntasks-per-node=1", "--cpus-per-task=1", "--time=5",
            "--output=\(studyOutput.path)", Self.batchScript.path,
        ], environment: [
            "SLEEPFOLD_BIN": CommandRunner.executable.path, "SLEEPFOLD_STUDY": studyFile.path, "SLEEPFOLD_OUT": study.path,
            "SLEEPFOLD_PORT": String(try freePort()),
        ], directory: f.root, timeout: 170)
        let studyJob = (try? String(contentsOf: studyOutput, encoding: .utf8)) ?? "(no job output)"
        #expect(studySubmit.status == 0, "sbatch: \(studySubmit.stdout)\(studySubmit.stderr)\njob output:\n\(studyJob)")
        #expect(studyJob.contains("study: \(study.path)/study.html"), "\(studyJob)")
        // The tiny arm's run is the first job's run: same data, folds, config and seed.
        #expect(try f.predictions(study.appendingPathComponent("tiny/seed-9")) == f.predictions(run))
        #expect(try Report.read(from: study.appendingPathComponent("wide/seed-9/report.json")).pooled.epochs == 4 * 48)
    }

    /// Issue #14: a job whose time limit ends mid-fold hands its folds' states over at
    /// the warning signal and exits 75; submitted again with the same run directory, it
    /// continues the folds mid-way and ends with the predictions of an uninterrupted run.
    @Test(.enabled(if: SlurmTests.canStartSlurm,
                   "needs root, Slurm or apt-get to install it, and no real /etc/slurm/slurm.conf"),
          .timeLimit(.minutes(12)))
    func aJobStoppedByItsTimeLimitMidFoldContinuesWhenSubmittedAgain() throws {
        // 8-hour nights and 80 epochs: a fold takes about a minute on one CPU, longer than
        // the first job lives before its warning (about 25-30 s into a 1-minute limit).
        let epochs = 80
        let f = try ClusterFixture(name: "slurm-time-limit", epochs: epochs, hours: 8, folds: 2)
        defer { f.remove() }
        let reference = f.root.appendingPathComponent("reference")
        let undisturbed = try CommandRunner.run(["run", "--workers", "2"] + f.runArguments + ["--out", reference.path], timeout: 900)
        try #require(undisturbed.status == 0, "the undisturbed run failed: \(undisturbed.stderr)")

        let slurm = Self.clusterEnvironment(root: f.root)
        defer { Self.stopCluster(slurm) }
        try Self.startCluster(slurm)

        let run = f.root.appendingPathComponent("run")
        func submit(_ name: String, limit: [String]) throws -> (status: Int32, output: String) {
            let output = f.root.appendingPathComponent("\(name).out")
            let result = try Script.run("/usr/bin/timeout", [
                "400", "sbatch", "--wait", "--nodes=2", "--ntasks-per-node=1", "--cpus-per-task=1",
            ] + limit + ["--output=\(output.path)", Self.batchScript.path], environment: [
                "SLEEPFOLD_BIN": CommandRunner.executable.path, "SLEEPFOLD_DATA": f.data.path, "SLEEPFOLD_FOLDS": "2",
                "SLEEPFOLD_CONFIG": f.config.path, "SLEEPFOLD_SEED": "9", "SLEEPFOLD_OUT": run.path,
                "SLEEPFOLD_PORT": String(try freePort()),
            ], directory: f.root, timeout: 420)
            return (result.status, ((try? String(contentsOf: output, encoding: .utf8)) ?? "(no job output)") + result.stderr)
        }
        // A 1-minute limit, the warning 30 s before it (the script's own 120 s is longer than the job).
        let first = try submit("first", limit: ["--time=1", "--signal=TERM@30"])
        #expect(first.status == 75, "\(first.output)")
        #expect(first.output.contains("submit again with SLEEPFOLD_OUT=\(run.path) to continue"), "\(first.output)")
        let firstLog = try String(contentsOf: run.appendingPathComponent("logs/coordinator.log"), encoding: .utf8)
        #expect(firstLog.contains("queued again, from its state after epoch"), "\(firstLog)")
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("report.json").path),
                "the run finished before its time limit: make the folds longer")

        let second = try submit("second", limit: ["--time=5"])
        #expect(second.status == 0, "\(second.output)")
        let secondLog = try String(contentsOf: run.appendingPathComponent("logs/coordinator.log"), encoding: .utf8)
        #expect(secondLog.contains("continues from its saved state after epoch"), "\(secondLog)")
        for name in ["predictions.csv", "predictions-last.csv", "predictions-test-oracle.csv",
                     "checkpoints/fold-00.safetensors", "checkpoints/fold-01.safetensors"] {
            #expect(try Data(contentsOf: run.appendingPathComponent(name)) == Data(contentsOf: reference.appendingPathComponent(name)),
                    "\(name) differs from the uninterrupted run's")
        }
        // Stopped at the warning, not killed: every batch trained once.
        let report = try Report.read(from: run.appendingPathComponent("report.json"))
        #expect(report.folds.allSatisfy { $0.run.epochsTrained == Double(epochs) && $0.run.attempts == 2 },
                "\(report.folds.map { ($0.run.attempts, $0.run.epochsTrained) })")
    }

    @Test func theBatchScriptRefusesToRunOutsideAJobOrWithoutData() throws {
        let outside = try Script.run("/bin/bash", [Self.batchScript.path], environment: ["SLURM_JOB_ID": ""], timeout: 30)
        #expect(outside.status != 0)
        #expect(outside.stderr.contains("not inside a Slurm job"), "\(outside.stderr)")

        let noData = try Script.run("/bin/bash", [Self.batchScript.path], environment: [
            "SLURM_JOB_ID": "7", "SLEEPFOLD_BIN": CommandRunner.executable.path, "SLEEPFOLD_DATA": "",
        ], timeout: 30)
        #expect(noData.status != 0)
        #expect(noData.stderr.contains("SLEEPFOLD_DATA is not set"), "\(noData.stderr)")

        let noStudy = try Script.run("/bin/bash", [Self.batchScript.path], environment: [
            "SLURM_JOB_ID": "7", "SLEEPFOLD_BIN": CommandRunner.executable.path, "SLEEPFOLD_STUDY": "/nonexistent/study.json",
        ], timeout: 30)
        #expect(noStudy.status != 0)
        #expect(noStudy.stderr.contains("SLEEPFOLD_STUDY: /nonexistent/study.json is not a file"), "\(noStudy.stderr)")

        let noBinary = try Script.run("/bin/bash", [Self.batchScript.path], environment: [
            "SLURM_JOB_ID": "7", "SLEEPFOLD_BIN": "/nonexistent/sleepfold",
        ], timeout: 30)
        #expect(noBinary.status != 0)
        #expect(noBinary.stderr.contains("SLEEPFOLD_BIN: '/nonexistent/sleepfold' not found"), "\(noBinary.stderr)")
    }
}
