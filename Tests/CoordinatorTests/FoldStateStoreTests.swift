import Foundation
import Testing
import Basics
import Recordings
import SleepNet
import Coordinator
import Shared

/// What the coordinator checks of a fold state, and how it keeps them: the newest
/// sound state of a fold, falling back to the previous one when the newest is torn
/// or foreign (issue #14). States are real: made by the trainer.
@Suite struct FoldStateStoreTests {
    static let fingerprint = "run r1 fold 0 seed 3"

    /// Two tiny random nights and a narrow AttnSleep: states of a few hundred KB.
    static func states(epochs: Int, config: ExperimentConfig? = nil) throws -> [Data] {
        var generator = SeededGenerator(seed: 3)
        func night(_ id: String, _ n: Int) -> Recording {
            Recording(id: id, subject: id, night: 1, sampleRate: 100, samplesPerEpoch: 3000,
                      x: (0..<(n * 3000)).map { _ in Float.random(in: -1...1, using: &generator) },
                      labels: (0..<n).map { Int32($0 % 5) })
        }
        var c = config ?? ExperimentConfig(name: "tiny")
        if config == nil {
            c.model.cnnFirstChannels = 8; c.model.cnnChannels = 16; c.model.afrChannels = 4; c.model.heads = 4; c.model.dFF = 16
            c.training.batchSize = 16
        }
        c.training.epochs = epochs
        var states: [Data] = []
        _ = try Trainer(config: c, selection: .validation, seed: 3)
            .run(train: [night("a", 40)], validation: [night("b", 10)], test: [night("c", 10)], fingerprint: fingerprint,
                 epochEnded: { states.append(try! $0.encoded()) })
        return states
    }

    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fold-states-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func aStateIsCheckedForFramingFingerprintAndDigest() throws {
        let state = try Self.states(epochs: 1)[0]
        let file = try FoldStateFile(state, fingerprint: Self.fingerprint, source: "s")
        #expect(file.epochsCompleted == 1 && file.nextBatch == 0)

        let foreign = #expect(throws: SleepfoldError.self) {
            try FoldStateFile(state, fingerprint: "run r1 fold 1 seed 4", source: "s")
        }
        #expect(foreign?.field == "__metadata__.fingerprint" && foreign?.code == .invalidFoldState)
        for cut in [0, 7, 8, 100, state.count / 2, state.count - 1] {
            let torn = #expect(throws: SleepfoldError.self) {
                try FoldStateFile(state.prefix(cut), fingerprint: Self.fingerprint, source: "s")
            }
            #expect(torn?.field == "framing", "cut at \(cut)")
        }
        // Garbled at full length: only the digest over the tensors tells.
        var garbled = state
        garbled[garbled.count - 5] ^= 0x40
        let digest = #expect(throws: SleepfoldError.self) {
            try FoldStateFile(garbled, fingerprint: Self.fingerprint, source: "s")
        }
        #expect(digest?.field == "__metadata__.data_sha256")
        // Without the digest check (bytes already checked whole against the sender's SHA-256).
        #expect(try FoldStateFile(garbled, fingerprint: Self.fingerprint, source: "s", checkDigest: false).epochsCompleted == 1)
    }

    @Test func theNewestSoundStateWinsAndATornOneFallsBackToThePrevious() throws {
        let states = try Self.states(epochs: 3)
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = FoldStateStore(directory: directory, folds: [0: Self.fingerprint], warn: { Issue.record("\($0)") })
        #expect(store.newest.isEmpty)
        for s in states {
            try store.save(s, sha256: SHA256.hexDigest(s), state: try FoldStateFile(s, fingerprint: Self.fingerprint, source: "s"),
                           fold: 0)
        }
        #expect(try Data(contentsOf: store.stateURL(0)) == states[2])
        #expect(try Data(contentsOf: store.previousURL(0)) == states[1])

        // A restarted coordinator finds the newest.
        let reopened = FoldStateStore(directory: directory, folds: [0: Self.fingerprint], warn: { Issue.record("\($0)") })
        #expect(reopened.newest[0]?.epochsCompleted == 3 && reopened.newest[0]?.sha256 == SHA256.hexDigest(states[2]))

        // Torn newest: the previous one, with the reason logged.
        try states[2].prefix(states[2].count / 3).write(to: store.stateURL(0))
        var warnings: [String] = []
        let fallback = FoldStateStore(directory: directory, folds: [0: Self.fingerprint], warn: { warnings.append($0) })
        #expect(fallback.newest[0]?.epochsCompleted == 2 && fallback.newest[0]?.url == store.previousURL(0))
        #expect(warnings.count == 1 && warnings[0].contains("fold-00.state: framing"), "\(warnings)")

        // Both foreign to this fold: none, and the fold starts from epoch 1.
        warnings = []
        let other = FoldStateStore(directory: directory, folds: [0: "run r1 fold 0 seed 4"], warn: { warnings.append($0) })
        #expect(other.newest.isEmpty)
        #expect(warnings.last == "fold 0: no sound saved state; it starts from epoch 1", "\(warnings)")

        store.remove(fold: 0)
        #expect(!FileManager.default.fileExists(atPath: store.stateURL(0).path))
        #expect(!FileManager.default.fileExists(atPath: store.previousURL(0).path))
        store.removeSpares()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    /// States are written into the files of finished folds' states (spares), not into new
    /// files: a crash at any step of a write, mid-write included, leaves the old newest state
    /// or the new one, whole, under a name that is read back; never a mix of the two.
    @Test(arguments: [FoldStateStore.CrashPoint.midWrite(0), .midWrite(100), .midWrite(-1), .previousKept, .newestMoved])
    func aCrashWhileAStateIsWrittenIntoASpareLeavesTheOldStateOrTheNewWhole(crash: FoldStateStore.CrashPoint) throws {
        let states = try Self.states(epochs: 3)
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        func file(_ s: Data) throws -> FoldStateFile { try FoldStateFile(s, fingerprint: Self.fingerprint, source: "s") }
        // Fold 1 finished: its two state files (other content, longer) are the spares written into.
        var spares = SpareStateFiles()
        let longer = states[2] + Data(repeating: 0xAB, count: 4096)
        for s in [longer, longer, longer] {
            _ = try FoldStateStore.write(s, sha256: "", state: try file(states[2]), fold: 1, in: directory, spares: &spares)
        }
        FoldStateStore.recycle(fold: 1, in: directory.path, spares: &spares)
        let spareNames = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(spareNames.count == 3 && spareNames.allSatisfy { $0.hasPrefix(".spare-") }, "\(spareNames)")
        // Fold 0 has states after epochs 1 and 2, written into two of them (no file created); the
        // third, holding fold 1's longer state, is the one the crash hits.
        for s in states[0...1] {
            _ = try FoldStateStore.write(s, sha256: "", state: try file(s), fold: 0, in: directory, spares: &spares)
        }
        let before = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(before.count == 3 && before.filter { !$0.hasPrefix(".spare-") }.sorted() == ["fold-00.state", "fold-00.state.prev"])

        // The state after epoch 3 written and a crash at `crash` (midWrite(-1): all its bytes, not synced nor renamed).
        var point = crash
        if case .midWrite(-1) = crash { point = .midWrite(states[2].count) }
        #expect(throws: FoldStateStore.Crashed.self) {
            try FoldStateStore.write(states[2], sha256: "", state: try file(states[2]), fold: 0, in: directory,
                                     spares: &spares, crash: point)
        }
        var warnings: [String] = []
        let restarted = FoldStateStore(directory: directory, folds: [0: Self.fingerprint], warn: { warnings.append($0) })
        let newest = try #require(restarted.newest[0], "no state after a crash at \(crash)")
        #expect(warnings.isEmpty, "\(warnings)")
        let bytes = try Data(contentsOf: newest.url)
        #expect(bytes == states[1] || bytes == states[2], "a crash at \(crash) left a mix")
        #expect(newest.epochsCompleted == (bytes == states[1] ? 2 : 3))
        // Nothing torn under a name that is read back.
        for url in [restarted.stateURL(0), restarted.previousURL(0)] {
            guard let data = FileManager.default.contents(atPath: url.path) else { continue }
            #expect(states.contains(data), "\(url.lastPathComponent) after a crash at \(crash)")
        }

        // A restarted coordinator finds the spares the crash left, writes into them, and the
        // next write after the crash is whole.
        var afterRestart = SpareStateFiles()
        let saved = try FoldStateStore.write(states[2], sha256: "", state: try file(states[2]), fold: 0, in: directory,
                                             spares: &afterRestart)
        #expect(try Data(contentsOf: saved.url) == states[2] && saved.epochsCompleted == 3)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(names.filter { !$0.hasPrefix(".spare-") }.sorted() == ["fold-00.state", "fold-00.state.prev"], "\(names)")
        #expect(names.count <= 4, "\(names): spares are reused, not multiplied")
        afterRestart.removeAll()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["fold-00.state", "fold-00.state.prev"])
    }

    /// A study's runs share their spares: a run whose folds are not done yet writes its
    /// states into the files of another run's finished folds (renamed across directories).
    @Test func aRunWritesItsStatesIntoTheSparesOfAnotherRun() throws {
        let states = try Self.states(epochs: 1)
        let root = try Self.directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let first = root.appendingPathComponent("run-a/states"), second = root.appendingPathComponent("run-b/states")
        let file = try FoldStateFile(states[0], fingerprint: Self.fingerprint, source: "s")
        var spares = SpareStateFiles()
        for fold in 0..<3 { _ = try FoldStateStore.write(states[0], sha256: "", state: file, fold: fold, in: first, spares: &spares) }
        for fold in 0..<3 { FoldStateStore.recycle(fold: fold, in: first.path, spares: &spares) }
        for fold in 0..<2 { _ = try FoldStateStore.write(states[0], sha256: "", state: file, fold: fold, in: second, spares: &spares) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: first.path).count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: second.path).sorted() == ["fold-00.state", "fold-01.state"])
        let reread = FoldStateStore(directory: second, folds: [0: Self.fingerprint, 1: Self.fingerprint], warn: { Issue.record("\($0)") })
        #expect(reread.newest.count == 2)
        spares.removeAll()
        #expect(try FileManager.default.contentsOfDirectory(atPath: first.path).isEmpty)

        // Spares a crashed coordinator left in a run it writes no state to are taken at the start
        // (`adopt`) and deleted at the end; the run's states are left alone.
        for fold in 0..<2 { _ = try FoldStateStore.write(states[0], sha256: "", state: file, fold: fold, in: first, spares: &spares) }
        FoldStateStore.recycle(fold: 0, in: first.path, spares: &spares)   // then a crash: no removeAll
        var restarted = SpareStateFiles()
        restarted.adopt([first.path, second.path])
        restarted.removeAll()
        #expect(try FileManager.default.contentsOfDirectory(atPath: first.path) == ["fold-01.state"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: second.path).sorted() == ["fold-00.state", "fold-01.state"])
    }

    /// The coordinator's `StateWriter`: states checked, written in groups into spares and
    /// synced before they take their names, in the order they came; a state that is not the
    /// bytes announced is refused; a recycled fold's files become spares that later states
    /// are written into.
    @Test func theStateWriterWritesStatesInOrderAndRecyclesTheirFiles() throws {
        let states = try Self.states(epochs: 3)
        let root = try Self.directory()
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = root.appendingPathComponent("run/states")
        let writer = StateWriter()
        writer.adoptSpares(in: [directory.path])
        /// A job for `state`, whose bytes arrive as `sent` (the state itself unless garbled on the way).
        func job(_ state: Data, fold: Int, sent: Data? = nil) throws -> StateWriter.Job {
            let file = try FoldStateFile(state, fingerprint: Self.fingerprint, source: "s")
            let header = Sleepfold_StateChunk.with {
                $0.sha256 = SHA256.hexDigest(state)
                $0.epochsCompleted = UInt32(file.epochsCompleted)
                $0.nextBatch = UInt32(file.nextBatch)
            }
            return .init(task: fold, attempt: 1, routingID: [1], address: "w", header: header, data: sent ?? state,
                         fingerprint: Self.fingerprint, directory: directory, fold: fold, source: "state of fold \(fold)",
                         started: 0, received: 0)
        }
        for state in states { writer.write(try job(state, fold: 0)) }
        writer.write(try job(states[0], fold: 1))
        writer.recycle(fold: 1, in: directory.path)
        var garbled = states[2]
        garbled[garbled.count / 2] ^= 1
        writer.write(try job(states[2], fold: 2, sent: garbled))   // refused: not the bytes announced
        writer.waitUntilIdle()
        let done = writer.finished()
        #expect(done.map(\.job.fold) == [0, 0, 0, 1, 2])
        #expect(done.prefix(4).allSatisfy { if case .success = $0.outcome { true } else { false } })
        guard case .failure(let error as SleepfoldError) = done[4].outcome else { Issue.record("\(done[4])"); return }
        #expect(error.field == "sha256", "\(error)")
        #expect(writer.written == 4)
        #expect(try Data(contentsOf: FoldStateStore.stateURL(0, in: directory)) == states[2])
        #expect(try Data(contentsOf: FoldStateStore.previousURL(0, in: directory)) == states[1])
        let store = FoldStateStore(directory: directory, folds: [0: Self.fingerprint, 1: Self.fingerprint],
                                   warn: { Issue.record("\($0)") })
        #expect(store.newest[0]?.epochsCompleted == 3 && store.newest[1] == nil)

        // Fold 1's state is a spare now, and the next state is written into it: no file created.
        let spares = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".spare-") }
        #expect(!spares.isEmpty)
        writer.write(try job(states[0], fold: 3))
        writer.waitUntilIdle()
        #expect(writer.finished().count == 1)
        let after = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(after.filter { $0.hasPrefix(".spare-") }.count == spares.count - 1, "\(after)")
        writer.removeSpares()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() ==
                ["fold-00.state", "fold-00.state.prev", "fold-03.state"])
    }

    /// The layout is main's (`fold-KK.state`, `fold-KK.state.prev`): states written by a
    /// coordinator before spares (written to a temporary file and renamed) are read back.
    @Test func statesWrittenBeforeSparesAreReadBack() throws {
        let states = try Self.states(epochs: 2)
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try AtomicFile.write(states[0], to: directory.appendingPathComponent("fold-00.state.prev"))
        try AtomicFile.write(states[1], to: directory.appendingPathComponent("fold-00.state"))
        let store = FoldStateStore(directory: directory, folds: [0: Self.fingerprint], warn: { Issue.record("\($0)") })
        #expect(store.newest[0]?.epochsCompleted == 2 && store.newest[0]?.url.lastPathComponent == "fold-00.state")
    }

    /// What receiving a full AttnSleep state costs the coordinator (the issue's "time to
    /// save and send it per epoch"): `SLEEPFOLD_MEASURE_FOLD_STATE=1 swift test -c release
    /// --filter measureTheCoordinatorsWorkForAFullAttnSleepState`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SLEEPFOLD_MEASURE_FOLD_STATE"] == "1"))
    func measureTheCoordinatorsWorkForAFullAttnSleepState() throws {
        let state = try Self.states(epochs: 1, config: ExperimentConfig(name: "attnsleep"))[0]
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = FoldStateStore(directory: directory, folds: [:], warn: { _ in })
        func seconds(_ work: () throws -> Void) rethrows -> Double {
            var best = Double.infinity
            for _ in 0..<5 {
                let t = DispatchTime.now().uptimeNanoseconds
                try work()
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9)
            }
            return best
        }
        let sha = seconds { _ = SHA256.hexDigest(state) }
        let check = try seconds { _ = try FoldStateFile(state, fingerprint: Self.fingerprint, source: "s", checkDigest: false) }
        let checkWithDigest = try seconds { _ = try FoldStateFile(state, fingerprint: Self.fingerprint, source: "s") }
        let file = try FoldStateFile(state, fingerprint: Self.fingerprint, source: "s")
        let save = try seconds { try store.save(state, sha256: "x", state: file, fold: 0) }
        print(String(format: "full AttnSleep fold state: %d bytes; SHA-256 %.4f s, framing and fingerprint %.4f s " +
                     "(with data_sha256 %.4f s), rotate and write atomically (fsync) %.4f s; best of 5",
                     state.count, sha, check, checkWithDigest, save))
    }
}
