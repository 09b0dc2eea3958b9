import Foundation
import Testing

/// The coordinator load benchmark (Benchmarks/load/run.sh) at N = 100, as a test of
/// correctness: a real `sleepfold study --bind` coordinator on a study of 400 tasks,
/// and 100 simulated workers (`sleepfold bench-load-workers`: real DEALER sockets,
/// the real protocol, fold states after each epoch) in two processes. Every task is
/// completed exactly once, and every worker gets work.
@Suite(.serialized) struct LoadBenchmarkTests {
    static let workersPerProcess = 50
    static let processes = 2
    static let subjects = 50
    static let runs = 8              // 2 arms × 2 seeds × (validation, paper)

    @Test(.timeLimit(.minutes(2)))
    func hundredSimulatedWorkersCompleteEveryTaskExactlyOnce() throws {
        let root = try CommandRunner.temporaryDirectory("load")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data"), out = root.appendingPathComponent("out")
        let synth = try CommandRunner.run(["synth", "--subjects", String(Self.subjects), "--nights", "1", "--hours", "0.1",
                                           "--seed", "3", "--out", data.path])
        try #require(synth.status == 0, "\(synth.stderr)")
        for (arm, channels) in [("a", 16), ("b", 24)] {
            try """
            {"name": "tiny-\(arm)", "model": {"cnnFirstChannels": 8, "cnnChannels": \(channels), "afrChannels": 4, "heads": 4, "dFF": 16},
             "training": {"epochs": 2, "batchSize": 16}}
            """.write(to: root.appendingPathComponent("\(arm).json"), atomically: true, encoding: .utf8)
        }
        let study = root.appendingPathComponent("study.json")
        try """
        {"name": "load", "data": "data", "folds": \(Self.subjects), "seeds": [0, 1], "baseline": "a", "paper_protocol": true,
         "arms": [{"name": "a", "config": "a.json"}, {"name": "b", "config": "b.json"}]}
        """.write(to: study, atomically: true, encoding: .utf8)
        let tasks = Self.runs * Self.subjects

        let endpoint = "tcp://127.0.0.1:\(try freePort())"
        let coordinator = try BackgroundProcess(["study", study.path, "--bind", endpoint, "--out", out.path],
                                                log: root.appendingPathComponent("coordinator.out"))
        defer { coordinator.kill() }
        try #require(coordinator.waitFor("coordinator listening", timeout: 60), "\(coordinator.output)")
        let workers = try (0..<Self.processes).map { p in
            try BackgroundProcess(["bench-load-workers", "--connect", endpoint, "--workers", String(Self.workersPerProcess),
                                   "--task-seconds", "0.4", "--data", data.path, "--state-bytes", "4096",
                                   "--id-prefix", "sim\(p)", "--give-up-after", "20",
                                   "--summary", root.appendingPathComponent("workers-\(p).txt").path],
                                  log: root.appendingPathComponent("workers-\(p).out"))
        }
        defer { for w in workers { w.kill() } }

        let status = coordinator.waitForExit(timeout: 90)
        #expect(status == 0, "\(coordinator.output.suffix(3000))")
        for w in workers {
            #expect(w.waitForExit(timeout: 30) == 0, "\(w.output)")
            #expect(w.output.contains("stopped by the coordinator"), "\(w.output)")
        }

        // The journals: each run's folds exactly once, nothing rejected or given up.
        let journals = try FileManager.default.subpathsOfDirectory(atPath: out.path).filter { $0.hasSuffix("journal.jsonl") }
        #expect(journals.count == Self.runs, "\(journals)")
        var journalled = 0
        for path in journals {
            let lines = try String(contentsOf: out.appendingPathComponent(path), encoding: .utf8)
                .split(separator: "\n").filter { !$0.hasPrefix(#"{"attempt_ended""#) }
            let folds = try lines.map { line -> Int in
                let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                return (json["fold"] as? Int) ?? 0   // protobuf JSON leaves out the default, fold 0
            }
            #expect(folds.sorted() == Array(0..<Self.subjects), "\(path): \(folds.sorted())")
            journalled += lines.count
        }
        #expect(journalled == tasks)
        let log = coordinator.output
        for problem in ["rejected", "duplicate result", "declared dead", "given up", "queued again"] {
            #expect(!log.contains(problem), "\(problem): \(log.split(separator: "\n").filter { $0.contains(problem) }.prefix(5))")
        }
        #expect(log.components(separatedBy: ": state after epoch 1 saved").count - 1 == tasks, "every fold's state after epoch 1")

        // The workers: every one of them did folds; each fold's result acknowledged once.
        var perWorker: [String: Int] = [:], latencies: [Double] = [], acks: [Double] = [], tasksBeforeAck = 0
        for p in 0..<Self.processes {
            let summary = try String(contentsOf: root.appendingPathComponent("workers-\(p).txt"), encoding: .utf8)
            for line in summary.split(separator: "\n") {
                let words = line.split(separator: " ")
                if words[0] == "worker" { perWorker[String(words[1])] = Int(words[2]) }
                if words[0] == "latency" { latencies.append(Double(words[2])!) }
                if words[0] == "ack" { acks.append(Double(words[2])!) }
                if words[0] == "tasks-before-ack" { tasksBeforeAck += Int(words[1])! }
            }
        }
        #expect(perWorker.count == Self.processes * Self.workersPerProcess)
        #expect(perWorker.values.reduce(0, +) == tasks)
        let starved = perWorker.filter { $0.value == 0 }.keys.sorted()
        #expect(starved.isEmpty, "workers without a fold: \(starved)")
        // A latency for every task but each worker's first.
        #expect(latencies.count == tasks - perWorker.count, "\(latencies.count) latencies")
        #expect(latencies.allSatisfy { $0 >= 0 && $0 < 5 }, "\(latencies.max() ?? 0) s")
        // Protocol 4: every result acknowledged once, and each worker's next task sent as soon as
        // its result was checked, before the acknowledgement (which waits for the journal's fsync):
        // with nothing queued again, every task but a worker's first came before the ack.
        #expect(acks.count == tasks, "\(acks.count) acknowledgements")
        #expect(tasksBeforeAck == latencies.count, "\(tasksBeforeAck) of \(latencies.count) next tasks before the acknowledgement")

        // The same dispatches timed by the coordinator (its loop reading the result → the next
        // task handed to the socket): one per next task, in its dispatch lines and in the
        // summary line at the end, which Benchmarks/load/run.sh reads.
        let timed = log.split(separator: "\n").compactMap { line -> Double? in
            guard line.hasSuffix(" ms after its result"), let comma = line.range(of: ", ", options: .backwards) else { return nil }
            return Double(line[comma.upperBound...].prefix { $0 != " " })
        }
        #expect(timed.count == latencies.count, "\(timed.count) dispatches timed by the coordinator")
        #expect(timed.allSatisfy { $0 >= 0 && $0 < 5000 }, "\(timed.max() ?? 0) ms")
        #expect(log.contains("dispatch latency (result read → next task sent): \(latencies.count) tasks, p50 "), "\(log.suffix(2000))")
        // And how long each result waited in the loop's turn before it was read: every result once.
        #expect(log.contains("results read after their turn's poll: \(tasks) results, p50 "), "\(log.suffix(2000))")
    }
}
