import Foundation
import Dispatch
import Synchronization
import Basics
import Recordings
import SleepNet

/// The models that stage a night: one checkpoint, or the fold checkpoints of a run
/// (`RUN_DIR/checkpoints/fold-KK.safetensors`), whose class probabilities are averaged.
///
/// All members must take the same input (samples per epoch) and give the same classes.
public final class Ensemble {
    /// One checkpoint: its model config and its weights and BatchNorm statistics.
    public struct Member {
        public var name: String
        public var path: String
        public var config: ModelConfig
        /// The checkpoint's state dict (~2 MB for AttnSleep): loaded into a lane's model
        /// when the member's turn comes, so a lane reuses one model's activation buffers
        /// for every member instead of each member keeping its own.
        public var weights: SafeTensorsFile

        /// The member of a model (its current weights).
        public init(name: String, path: String, model: SleepModel) {
            self.name = name
            self.path = path
            config = model.config
            weights = model.stateDict()
        }
    }

    public let members: [Member]

    /// Samples per 30-s epoch every member takes.
    public var samplesPerEpoch: Int { members[0].config.inputSamples }

    public init(members: [Member]) throws {
        guard let first = members.first else {
            throw SleepfoldError(.badEnsemble, field: "--model", found: "no checkpoint", expected: "at least one")
        }
        for m in members.dropFirst() {
            let a = first.config, b = m.config
            guard b.inputSamples == a.inputSamples, b.classes == a.classes else {
                throw SleepfoldError(.badEnsemble, file: m.path,
                                     found: "a model of \(b.inputSamples) samples per epoch and \(b.classes) classes",
                                     expected: "\(a.inputSamples) and \(a.classes), as \(first.name) has: one ensemble takes one input")
            }
        }
        self.members = members
    }

    /// The checkpoint files `model` names: the file itself, or in a run directory every
    /// `checkpoints/*.safetensors` (else every `*.safetensors` in the directory itself),
    /// in name order; `fold` keeps only `fold-KK.safetensors`.
    public static func checkpointFiles(model: URL, fold: Int? = nil) throws -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: model.path, isDirectory: &isDirectory) else {
            throw SleepfoldError(.fileNotFound, file: model.path, field: "--model", found: "nothing there",
                                 expected: "a checkpoint (.safetensors) or a run directory with checkpoints/")
        }
        guard isDirectory.boolValue else {
            if let fold {
                throw SleepfoldError(.invalidValue, field: "--fold", found: "fold \(fold) with a single checkpoint",
                                     expected: "--fold only with a run directory")
            }
            return [model]
        }
        let nested = model.appendingPathComponent("checkpoints")
        var files = try safetensors(in: nested)
        if files.isEmpty { files = try safetensors(in: model) }
        guard !files.isEmpty else {
            throw SleepfoldError(.badEnsemble, file: model.path, field: "--model", found: "no *.safetensors in it or in checkpoints/",
                                 expected: "a run directory whose folds have finished")
        }
        guard let fold else { return files }
        let name = String(format: "fold-%02d.safetensors", fold)
        guard let chosen = files.first(where: { $0.lastPathComponent == name }) else {
            throw SleepfoldError(.badEnsemble, file: model.path, field: "--fold", found: "no \(name)",
                                 expected: "one of " + files.map(\.lastPathComponent).joined(separator: ", "))
        }
        return [chosen]
    }

    private static func safetensors(in directory: URL) throws -> [URL] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return names.filter { $0.hasSuffix(".safetensors") && !$0.hasPrefix(".") }.sorted()
            .map { directory.appendingPathComponent($0) }
    }

    /// Loads the checkpoints `checkpointFiles` names (each checked as `SleepModel.loadCheckpoint` checks it).
    public static func load(model: URL, fold: Int? = nil) throws -> Ensemble {
        try Ensemble(members: checkpointFiles(model: model, fold: fold).map { url in
            Member(name: url.deletingPathExtension().lastPathComponent, path: url.path,
                   model: try SleepModel.loadCheckpoint(from: url))
        })
    }

    /// Class probabilities of every epoch of `recording`, (epochs, classes) row-major: each
    /// member's eval-mode softmax (the path of `sleepfold predict` and of a fold's test
    /// nights: running BatchNorm statistics, no dropout), averaged over the members.
    ///
    /// Members run `threads` at a time, each on one thread, when there are at least as
    /// many members as threads; else one after another, each over `threads` threads. The
    /// mean is summed in member order, so it is the same bits whichever way it ran.
    ///
    /// `precision` is the members' evaluation number format (`EvaluationPrecision`:
    /// fp32 by default; bf16 on AMX where the CPU has it).
    public func probabilities(_ recording: Recording, threads: Int, batch: Int = 128,
                              precision: EvaluationPrecision = .float32) throws -> [Float] {
        let S = samplesPerEpoch
        guard recording.samplesPerEpoch == S else {
            throw SleepfoldError(.shapeMismatch, file: recording.id, field: "samples per epoch",
                                 found: "\(recording.samplesPerEpoch)", expected: "\(S), the models' input")
        }
        let lanes = max(1, threads)
        var perMember = [[Float]](repeating: [], count: members.count)
        /// Member i's probabilities on a model of its config from `models` (one built if none).
        func predict(_ i: Int, threads: Int, models: inout [SleepModel]) throws -> [Float] {
            let member = members[i]
            let model: SleepModel
            if let reused = models.first(where: { $0.config == member.config }) {
                model = reused
            } else {
                model = try SleepModel(config: member.config, seed: 0, initialized: false)
                models.append(model)
            }
            model.evaluationPrecision = precision
            try model.loadParameters(from: member.weights, source: member.path)
            try model.loadBuffers(from: member.weights, source: member.path)
            let trainer = Trainer(config: ExperimentConfig(name: "stage", model: member.config), selection: .last, seed: 0)
            trainer.evaluationBatch = batch
            return try ComputeThreads.with(count: threads) { try trainer.predict([recording], model: model).0 }
                .first?.probabilities ?? []
        }
        if lanes > 1 && members.count >= lanes {
            // Each member on one lane; lane results land in their own slots.
            let slots = MemberSlots(count: members.count)
            defer { slots.release() }
            let work = UncheckedSendable { (i: Int, models: inout [SleepModel]) in
                do { slots.results[i] = try predict(i, threads: 1, models: &models) } catch { slots.fail(error) }
            }
            DispatchQueue.concurrentPerform(iterations: lanes) { _ in
                var models: [SleepModel] = []   // this lane's
                while let i = slots.take() { work.value(i, &models) }
            }
            if let error = slots.failure { throw error }
            perMember = Array(UnsafeBufferPointer(start: slots.results, count: members.count))
        } else {
            var models: [SleepModel] = []
            for i in members.indices { perMember[i] = try predict(i, threads: lanes, models: &models) }
        }

        let K = members[0].config.classes
        var mean = [Float](repeating: 0, count: recording.epochCount * K)
        for p in perMember {
            guard p.count == mean.count else {
                throw SleepfoldError(.shapeMismatch, field: "ensemble probabilities", found: "\(p.count) values",
                                     expected: "\(mean.count) (epochs × classes)")
            }
            for j in mean.indices { mean[j] += p[j] }
        }
        let scale = 1 / Float(members.count)
        for j in mean.indices { mean[j] *= scale }
        return mean
    }
}

/// The members' slots of a parallel `probabilities`: the next member to run, one
/// result per member (each written by one lane, read after all lanes joined), the
/// first error.
private final class MemberSlots: @unchecked Sendable {
    let results: UnsafeMutablePointer<[Float]>
    private let count: Int
    private let state = Mutex<(next: Int, failure: (any Error)?)>((0, nil))

    init(count: Int) {
        self.count = count
        results = .allocate(capacity: count)
        results.initialize(repeating: [], count: count)
    }

    /// The next member not yet taken; nil when all are taken or one failed.
    func take() -> Int? {
        state.withLock { s in
            guard s.next < count, s.failure == nil else { return nil }
            defer { s.next += 1 }
            return s.next
        }
    }

    func fail(_ error: any Error) { state.withLock { if $0.failure == nil { $0.failure = error } } }

    var failure: (any Error)? { state.withLock { $0.failure } }

    func release() {
        results.deinitialize(count: count)
        results.deallocate()
    }
}

/// A closure handed to Dispatch workers whose safety the caller guarantees (it writes
/// only its member's slot).
private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
