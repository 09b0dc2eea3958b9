import Foundation
import Basics
import Evaluation
import Recordings

extension TrainingState {
    /// Name of the fold state in errors.
    static let source = "fold state"

    /// The JSON of `__metadata__.progress`. Doubles travel as the hex of their bit
    /// pattern (exact, and NaN survives), Floats likewise.
    private struct Progress: Codable {
        var epochsCompleted: Int
        var nextBatch: Int
        var batchesPerEpoch: Int
        var lossSum: String
        var seen: Int
        var correct: Int
        var adamStep: Int
        var learningRate: String
    }

    /// The JSON of `__metadata__.selections`: which selected epochs exist and the
    /// recordings (id, epochs) of each prediction set, in order.
    private struct Selections: Codable {
        struct Epoch: Codable {
            var score: String
            var epoch: Int
            var hasWeights: Bool
            var recordings: [Recording]
        }
        struct Recording: Codable {
            var id: String
            var epochs: Int
        }
        var bestValidation: Epoch?
        var bestTest: Epoch?
        var latest: [Recording]
    }

    /// One `Trainer.EpochRecord` in `__metadata__.history`: Doubles as bit patterns, nil as null.
    private struct Record: Codable {
        var epoch: Int
        var trainLoss: String
        var trainAccuracy: String
        var selectionLoss: String?
        var selectionAccuracy: String?
        var selectionMacroF1: String?
        var testLoss: String
        var testAccuracy: String?
        var testMacroF1: String?
        var seconds: String
        var testSeconds: String
    }

    private static func bits(_ x: Double) -> String { String(x.bitPattern, radix: 16) }
    private static func bits(_ x: Float) -> String { String(x.bitPattern, radix: 16) }

    /// The fold state as safetensors bytes (docs/fold-state.md).
    public func encoded() throws -> Data {
        var file = SafeTensorsFile()
        let P = model.values.count, B = model.buffers.count, C = model.counters.count
        func putSnapshot(_ prefix: String, _ s: ModelSnapshot) {
            file.tensors[prefix + ".values"] = SafeTensor(floats: s.values, shape: [P])
            file.tensors[prefix + ".buffers"] = SafeTensor(floats: s.buffers, shape: [B])
            file.tensors[prefix + ".counters"] = SafeTensor(int64s: s.counters, shape: [C])
        }
        let K = config.model.classes
        func putPredictions(_ prefix: String, _ predictions: [Trainer.RecordingPrediction]) -> [Selections.Recording] {
            for (i, p) in predictions.enumerated() {
                let n = p.trueLabels.count
                file.tensors["\(prefix).\(i).true_labels"] = SafeTensor(int32s: p.trueLabels, shape: [n])
                file.tensors["\(prefix).\(i).predicted_labels"] = SafeTensor(int32s: p.predictedLabels, shape: [n])
                file.tensors["\(prefix).\(i).probabilities"] = SafeTensor(floats: p.probabilities, shape: [n, K])
            }
            return predictions.map { Selections.Recording(id: $0.recordingID, epochs: $0.trueLabels.count) }
        }
        putSnapshot("model", model)
        file.tensors["adam.exp_avg"] = SafeTensor(floats: adamFirst, shape: [P])
        file.tensors["adam.exp_avg_sq"] = SafeTensor(floats: adamSecond, shape: [P])
        file.tensors["adam.max_exp_avg_sq"] = SafeTensor(floats: adamMaxSecond, shape: [P])
        file.tensors["class_weights"] = SafeTensor(floats: classWeights, shape: [classWeights.count])
        // The xoshiro256** state, read as four words: Basics keeps the fields private, and
        // the struct is exactly those 32 bytes (checked), so its bytes are its position.
        file.tensors["rng.dropout"] = SafeTensor(int64s: Self.words(of: dropoutGenerator), shape: [4])

        var selections = Selections(bestValidation: nil, bestTest: nil, latest: putPredictions("latest", latest))
        func selected(_ name: String, _ e: SelectedEpoch) -> Selections.Epoch {
            if let s = e.snapshot { putSnapshot(name + ".model", s) }
            return Selections.Epoch(score: Self.bits(e.score), epoch: e.epoch, hasWeights: e.snapshot != nil,
                                    recordings: putPredictions(name + ".test", e.test))
        }
        selections.bestValidation = bestValidation.map { selected("best_validation", $0) }
        selections.bestTest = bestTest.map { selected("best_test", $0) }

        let progress = Progress(epochsCompleted: epochsCompleted, nextBatch: nextBatch, batchesPerEpoch: batchesPerEpoch,
                                lossSum: Self.bits(lossSum), seen: seen, correct: correct, adamStep: adamStep,
                                learningRate: Self.bits(learningRate))
        let records = history.map { r in
            Record(epoch: r.epoch, trainLoss: Self.bits(r.trainLoss), trainAccuracy: Self.bits(r.trainAccuracy),
                   selectionLoss: r.selectionLoss.map { Self.bits($0) },
                   selectionAccuracy: r.selectionAccuracy.map { Self.bits($0) },
                   selectionMacroF1: r.selectionMacroF1.map { Self.bits($0) }, testLoss: Self.bits(r.testLoss),
                   testAccuracy: r.testAccuracy.map { Self.bits($0) }, testMacroF1: r.testMacroF1.map { Self.bits($0) },
                   seconds: Self.bits(r.seconds), testSeconds: Self.bits(r.testSeconds))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        file.metadata = [
            "format": Self.magic,
            "format_version": Self.version,
            "sleepfold_version": sleepfoldVersion,
            "fingerprint": fingerprint,
            "config": try config.canonicalJSON(),
            "selection": selection.rawValue,
            "seed": String(seed),
            "progress": try json(progress),
            "selections": try json(selections),
            "history": try json(records),
        ]
        file.metadata["data_sha256"] = Self.dataDigest(file)
        return file.serialized()
    }

    /// SHA-256 of every tensor's bytes in name order (the file's data section): a
    /// state torn or garbled at full length is refused, not resumed with wrong weights.
    private static func dataDigest(_ file: SafeTensorsFile) -> String {
        var h = SHA256()
        for name in file.tensors.keys.sorted() { h.update(file.tensors[name]!.bytes) }
        return h.hexDigest()
    }

    /// Reads a fold state and checks all of it: format, fingerprint (first, so a
    /// state of another fold is named as such), the config, every tensor's shape
    /// against the model that config builds, the counts and ranges of the progress,
    /// the history and the predictions. A truncated or torn state fails the
    /// safetensors parse. Errors: `.invalidFile` for a malformed state, `.foreignState`
    /// for another fingerprint; the field names the key or tensor.
    ///
    /// The weights and moments are not checked for finiteness: a diverged training
    /// is still the faithful state of its fold.
    public init(decoding data: Data, expectedFingerprint: String) throws {
        let source = Self.source
        func bad(_ field: String, found: String, expected: String) -> SleepfoldError {
            SleepfoldError(.invalidFile, file: source, field: field, found: found, expected: expected)
        }
        let file = try SafeTensorsFile(data: data, source: source)
        let meta = file.metadata
        guard meta["format"] == Self.magic else {
            throw bad("__metadata__.format", found: meta["format"] ?? "nothing", expected: Self.magic)
        }
        guard meta["format_version"] == Self.version else {
            throw bad("__metadata__.format_version", found: meta["format_version"] ?? "nothing", expected: Self.version)
        }
        guard let fingerprint = meta["fingerprint"] else {
            throw bad("__metadata__.fingerprint", found: "nothing", expected: "the fold's fingerprint")
        }
        guard fingerprint == expectedFingerprint else {
            throw SleepfoldError(.foreignState, file: source, field: "__metadata__.fingerprint",
                                 found: "'\(fingerprint)' (another run, config or fold)", expected: "'\(expectedFingerprint)'")
        }
        guard meta["data_sha256"] == Self.dataDigest(file) else {
            throw bad("__metadata__.data_sha256", found: meta["data_sha256"].map { "'\($0)'" } ?? "nothing",
                      expected: "the SHA-256 of the tensors' bytes (the state is torn or damaged)")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        func json<T: Decodable>(_ key: String, as type: T.Type) throws -> T {
            guard let text = meta[key] else { throw bad("__metadata__.\(key)", found: "nothing", expected: "JSON") }
            do { return try decoder.decode(T.self, from: Data(text.utf8)) } catch let e as DecodingError {
                throw SleepfoldError(.invalidFile, decoding: e, file: source, fieldPrefix: "__metadata__.\(key).")
            }
        }
        func double(_ s: String, _ field: String) throws -> Double {
            guard s.count <= 16, let b = UInt64(s, radix: 16) else {
                throw bad(field, found: "'\(s.prefix(40))'", expected: "the hex bit pattern of a float64")
            }
            return Double(bitPattern: b)
        }
        func float(_ s: String, _ field: String) throws -> Float {
            guard s.count <= 8, let b = UInt32(s, radix: 16) else {
                throw bad(field, found: "'\(s.prefix(40))'", expected: "the hex bit pattern of a float32")
            }
            return Float(bitPattern: b)
        }

        // The config (camelCase keys, so a plain decoder), bounded before the model it
        // describes is built for its layout.
        let config: ExperimentConfig
        do {
            config = try JSONDecoder().decode(ExperimentConfig.self, from: Data((meta["config"] ?? "").utf8))
        } catch let e as DecodingError {
            throw SleepfoldError(.invalidFile, decoding: e, file: source, fieldPrefix: "__metadata__.config.")
        }
        try config.model.validate(source: source, fieldPrefix: "__metadata__.config.model.")
        try config.training.validate(source: source, fieldPrefix: "__metadata__.config.training.")
        guard let selection = meta["selection"].flatMap(SelectionMode.init(rawValue:)) else {
            throw bad("__metadata__.selection", found: meta["selection"] ?? "nothing",
                      expected: SelectionMode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard let seed = meta["seed"].flatMap({ UInt64($0) }) else {
            throw bad("__metadata__.seed", found: meta["seed"] ?? "nothing", expected: "an unsigned 64-bit integer")
        }

        // Progress: epochs within the schedule, the batch within the epoch, sums
        // within the batches trained, and Adam's steps exactly the batches trained.
        let progress = try json("progress", as: Progress.self)
        let epochs = config.training.epochs, batchSize = config.training.batchSize
        let k = progress.epochsCompleted, nb = progress.nextBatch, bpe = progress.batchesPerEpoch
        guard (0...epochs).contains(k) else {
            throw bad("__metadata__.progress.epochs_completed", found: "\(k)", expected: "0 ... \(epochs) (the config's epochs)")
        }
        guard (1...(1 << 40)).contains(bpe) else {
            throw bad("__metadata__.progress.batches_per_epoch", found: "\(bpe)", expected: "1 ... 2⁴⁰")
        }
        guard (0..<bpe).contains(nb), k < epochs || nb == 0 else {
            throw bad("__metadata__.progress.next_batch", found: "\(nb)",
                      expected: k < epochs ? "0 ..< \(bpe) (the batches per epoch)" : "0 (every epoch is trained)")
        }
        let lossSum = try double(progress.lossSum, "__metadata__.progress.loss_sum")
        guard progress.seen >= 0, progress.seen <= nb * batchSize else {
            throw bad("__metadata__.progress.seen", found: "\(progress.seen)", expected: "0 ... \(nb * batchSize) (\(nb) batches)")
        }
        guard progress.correct >= 0, progress.correct <= progress.seen else {
            throw bad("__metadata__.progress.correct", found: "\(progress.correct)", expected: "0 ... \(progress.seen) (seen)")
        }
        guard lossSum.isFinite, lossSum >= 0, nb > 0 || (lossSum == 0 && progress.seen == 0) else {
            throw bad("__metadata__.progress.loss_sum", found: "\(lossSum)",
                      expected: nb > 0 ? "a finite sum ≥ 0" : "0 at an epoch boundary")
        }
        let (steps, overflow) = k.multipliedReportingOverflow(by: bpe)
        guard !overflow, progress.adamStep == steps + nb else {
            throw bad("__metadata__.progress.adam_step", found: "\(progress.adamStep)",
                      expected: "\(steps + nb) (one step per batch trained)")
        }
        let learningRate = try float(progress.learningRate, "__metadata__.progress.learning_rate")
        // Mid-epoch, the rate is the schedule's for that epoch; at a boundary the next
        // epoch sets its own, so any positive rate will do.
        let scheduled = config.training.learningRate(epoch: k + 1)
        guard learningRate.isFinite, learningRate > 0, nb == 0 || learningRate == scheduled else {
            throw bad("__metadata__.progress.learning_rate", found: "\(learningRate)",
                      expected: nb == 0 ? "a finite rate > 0" : "\(scheduled) (the schedule's for epoch \(k + 1))")
        }

        // The history: one record per completed epoch, numbered 1 ... k.
        let records = try json("history", as: [Record].self)
        guard records.count == k else {
            throw bad("__metadata__.history", found: "\(records.count) records", expected: "\(k) (epochs completed)")
        }
        var history: [Trainer.EpochRecord] = []
        for (i, r) in records.enumerated() {
            let f = "__metadata__.history.\(i)"
            guard r.epoch == i + 1 else { throw bad(f + ".epoch", found: "\(r.epoch)", expected: "\(i + 1)") }
            func opt(_ s: String?, _ name: String) throws -> Double? { try s.map { try double($0, f + "." + name) } }
            history.append(Trainer.EpochRecord(
                epoch: r.epoch, trainLoss: try double(r.trainLoss, f + ".train_loss"),
                trainAccuracy: try double(r.trainAccuracy, f + ".train_accuracy"),
                selectionLoss: try opt(r.selectionLoss, "selection_loss"),
                selectionAccuracy: try opt(r.selectionAccuracy, "selection_accuracy"),
                selectionMacroF1: try opt(r.selectionMacroF1, "selection_macro_f1"),
                testLoss: try double(r.testLoss, f + ".test_loss"), testAccuracy: try opt(r.testAccuracy, "test_accuracy"),
                testMacroF1: try opt(r.testMacroF1, "test_macro_f1"), seconds: try double(r.seconds, f + ".seconds"),
                testSeconds: try double(r.testSeconds, f + ".test_seconds")))
        }

        // Tensors: the layout of the config's model (its sizes are bounded by `validate`).
        let layout = try SleepModel(config: config.model, seed: 0).store
        let P = layout.parameterCount, B = layout.bufferCount, C = layout.counterNames.count
        let K = config.model.classes
        var expectedNames: Set<String> = []
        func tensor(_ name: String, _ dtype: SafeTensorDType, _ shape: [Int]) throws -> SafeTensor {
            expectedNames.insert(name)
            let t = try file.tensor(name, source: source)
            guard t.dtype == dtype, t.shape == shape else {
                throw SleepfoldError(.shapeMismatch, file: source, field: "tensor '\(name)'",
                                     found: "\(t.dtype.rawValue) \(t.shape)", expected: "\(dtype.rawValue) \(shape)")
            }
            return t
        }
        func snapshot(_ prefix: String) throws -> ModelSnapshot {
            ModelSnapshot(values: try tensor(prefix + ".values", .f32, [P]).floats,
                          buffers: try tensor(prefix + ".buffers", .f32, [B]).floats,
                          counters: try tensor(prefix + ".counters", .i64, [C]).int64s)
        }
        func predictions(_ prefix: String, _ recordings: [Selections.Recording]) throws -> [Trainer.RecordingPrediction] {
            var out: [Trainer.RecordingPrediction] = []
            for (i, r) in recordings.enumerated() {
                let n = r.epochs
                guard n >= 0 else { throw bad("__metadata__.selections", found: "\(n) epochs for '\(r.id)'", expected: "≥ 0") }
                let t = try tensor("\(prefix).\(i).true_labels", .i32, [n]).int64s
                let p = try tensor("\(prefix).\(i).predicted_labels", .i32, [n]).int64s
                let probabilities = try tensor("\(prefix).\(i).probabilities", .f32, [n, K]).floats
                for (name, labels) in [("true_labels", t), ("predicted_labels", p)] {
                    if let l = labels.first(where: { !(0..<Int64(K)).contains($0) }) {
                        throw bad("tensor '\(prefix).\(i).\(name)'", found: "label \(l)", expected: "0 ..< \(K)")
                    }
                }
                if let x = probabilities.first(where: { !$0.isFinite || $0 < 0 || $0 > 1 }) {
                    throw bad("tensor '\(prefix).\(i).probabilities'", found: "\(x)", expected: "probabilities in [0, 1]")
                }
                out.append(Trainer.RecordingPrediction(recordingID: r.id, trueLabels: t.map { Int32($0) },
                                                       predictedLabels: p.map { Int32($0) }, probabilities: probabilities))
            }
            return out
        }

        let model = try snapshot("model")
        let first = try tensor("adam.exp_avg", .f32, [P]).floats
        let second = try tensor("adam.exp_avg_sq", .f32, [P]).floats
        let maxSecond = try tensor("adam.max_exp_avg_sq", .f32, [P]).floats
        let classWeights = try tensor("class_weights", .f32, [K]).floats
        // xoshiro256** never reaches the all-zero state (it would only give zeros).
        guard let dropoutGenerator = Self.generator(words: try tensor("rng.dropout", .i64, [4]).int64s) else {
            throw bad("tensor 'rng.dropout'", found: "all zeros", expected: "a generator state")
        }

        // Selections: present exactly when the mode and the epochs completed make them.
        let selections = try json("selections", as: Selections.self)
        func selected(_ name: String, _ e: Selections.Epoch?, present: Bool, weights: Bool) throws -> SelectedEpoch? {
            let field = "__metadata__.selections.\(name)"
            guard (e != nil) == present else {
                throw bad(field, found: e == nil ? "nothing" : "a selected epoch",
                          expected: present ? "the selected epoch" : "none (\(selection.rawValue), \(k) epochs completed)")
            }
            guard let e else { return nil }
            guard (1...k).contains(e.epoch) else { throw bad(field + ".epoch", found: "\(e.epoch)", expected: "1 ... \(k)") }
            guard e.hasWeights == weights else {
                throw bad(field + ".has_weights", found: "\(e.hasWeights)", expected: "\(weights) under \(selection.rawValue)")
            }
            let score = try double(e.score, field + ".score")
            guard score.isFinite else { throw bad(field + ".score", found: "\(score)", expected: "a finite score") }
            let weightsSnapshot: ModelSnapshot? = try weights ? snapshot(name + ".model") : nil
            return SelectedEpoch(score: score, epoch: e.epoch, snapshot: weightsSnapshot,
                                 test: try predictions(name + ".test", e.recordings))
        }
        let bestValidation = try selected("best_validation", selections.bestValidation,
                                          present: selection == .validation && k > 0, weights: true)
        let bestTest = try selected("best_test", selections.bestTest, present: k > 0, weights: selection == .testOracle)
        let latest = try predictions("latest", selections.latest)
        if let extra = file.tensors.keys.sorted().first(where: { !expectedNames.contains($0) }) {
            throw bad("tensor '\(extra)'", found: "a tensor", expected: "none of that name in this state")
        }

        self.init(fingerprint: fingerprint, config: config, selection: selection, seed: seed, epochsCompleted: k,
                  nextBatch: nb, batchesPerEpoch: bpe, lossSum: lossSum, seen: progress.seen, correct: progress.correct,
                  classWeights: classWeights, model: model, adamFirst: first, adamSecond: second, adamMaxSecond: maxSecond,
                  adamStep: progress.adamStep, learningRate: learningRate,
                  dropoutGenerator: dropoutGenerator, bestValidation: bestValidation, bestTest: bestTest,
                  latest: latest, history: history)
    }

    /// The four 64-bit words of a generator's state (see `encoded`), stored as I64.
    static func words(of generator: SeededGenerator) -> [Int64] {
        generator.state.map { Int64(bitPattern: $0) }
    }

    /// The generator whose state is `words` (from `words(of:)`); nil for a state
    /// xoshiro cannot have (all zero) or not four words.
    static func generator(words: [Int64]) -> SeededGenerator? {
        SeededGenerator(state: words.map { UInt64(bitPattern: $0) })
    }
}
