import Foundation
import Testing
import Basics
import Recordings
import EDF
import Evaluation
import SleepNet
import Staging

/// Checkpoints as one ensemble, and the staged night made from its probabilities.
@Suite struct EnsembleTests {
    /// A narrow AttnSleep, as configs/small and the command tests use.
    static func config(inputSamples: Int = 3000) throws -> ModelConfig {
        var json = #"{"cnnFirstChannels": 8, "cnnChannels": 16, "afrChannels": 4, "heads": 4, "dFF": 16"#
        if inputSamples != 3000 {
            // SHHS's AttnSleep variant (configs/shhs-attnsleep.json): 125 Hz, kernel 6, d_model 100.
            json += #", "inputSamples": 3750, "dModel": 100, "heads": 5, "#
            json += #""branch2": {"kernel": 400, "stride": 50, "padding": 200, "firstPool": {"kernel": 4, "stride": 2, "padding": 2}, "#
            json += #""convKernel": 6, "convPadding": 3, "lastPool": {"kernel": 2, "stride": 2, "padding": 1}}"#
        }
        return try JSONDecoder().decode(ModelConfig.self, from: Data((json + "}").utf8))
    }

    /// A run directory with `folds` random-init checkpoints (seeds 1, 2, …).
    static func runDirectory(folds: Int, inputSamples: Int = 3000) throws -> URL {
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("staging-run-\(UUID().uuidString)")
        let checkpoints = run.appendingPathComponent("checkpoints")
        try FileManager.default.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        for k in 0..<folds {
            try SleepModel(config: config(inputSamples: inputSamples), seed: UInt64(k + 1))
                .saveCheckpoint(to: checkpoints.appendingPathComponent(String(format: "fold-%02d.safetensors", k)))
        }
        return run
    }

    /// `epochs` epochs of seeded noise plus a sine whose frequency changes by epoch.
    static func recording(epochs: Int) -> Recording {
        var random = SeededGenerator(seed: 16)
        let x = (0..<(epochs * 3000)).map { i -> Float in
            let f = 2.0 + Double(i / 3000 % 7) * 2
            return Float(30 * sin(2 * .pi * f * Double(i) / 100) + 10 * (random.nextUnitDouble() - 0.5))
        }
        return Recording(id: "night", subject: "night", night: nil, sampleRate: 100, samplesPerEpoch: 3000,
                         x: x, labels: [Int32](repeating: 0, count: epochs))
    }

    /// In fp32, and in bf16 (AMX convolutions where the CPU has them: the same bits whatever
    /// the threads and the batch, as fp32).
    @Test(arguments: EvaluationPrecision.allCases)
    func theMeanOfTheMembersProbabilitiesBitForBitWhateverTheThreads(_ precision: EvaluationPrecision) throws {
        let run = try Self.runDirectory(folds: 3)
        defer { try? FileManager.default.removeItem(at: run) }
        // Members of two widths (same input): lanes keep a model per config and reload weights into it.
        var wider = try Self.config()
        wider.dFF = 32
        try SleepModel(config: wider, seed: 5).saveCheckpoint(to: run.appendingPathComponent("checkpoints/fold-01.safetensors"))
        let ensemble = try Ensemble.load(model: run)
        #expect(ensemble.members.map(\.name) == ["fold-00", "fold-01", "fold-02"])
        let night = Self.recording(epochs: 70)
        // Each member alone, through `sleepfold predict`'s path.
        var sum = [Float](repeating: 0, count: 70 * 5)
        for member in ensemble.members {
            let model = try SleepModel.loadCheckpoint(from: URL(fileURLWithPath: member.path))
            model.evaluationPrecision = precision.effective
            let trainer = Trainer(config: ExperimentConfig(name: "t", model: model.config), selection: .last, seed: 0)
            let p = try #require(try trainer.predict([night], model: model).0.first).probabilities
            for j in sum.indices { sum[j] += p[j] }
        }
        let expected = sum.map { $0 * (1 / Float(3)) }
        // One thread, members side by side on two, one member at a time over three (3 members ≥ 3 threads
        // runs them side by side too); batches of 128 and of 16.
        for (threads, batch) in [(1, 128), (2, 128), (2, 16), (4, 128)] {
            let p = try ensemble.probabilities(night, threads: threads, batch: batch, precision: precision.effective)
            #expect(p.map(\.bitPattern) == expected.map(\.bitPattern), "threads \(threads), batch \(batch)")
        }
        for e in 0..<70 {
            #expect(abs(expected[(e * 5)..<(e * 5 + 5)].reduce(0, +) - 1) < 1e-5)
        }
    }

    @Test func oneFoldOrOneFileIsAnEnsembleOfOne() throws {
        let run = try Self.runDirectory(folds: 2)
        defer { try? FileManager.default.removeItem(at: run) }
        #expect(try Ensemble.load(model: run, fold: 1).members.map(\.name) == ["fold-01"])
        let file = run.appendingPathComponent("checkpoints/fold-00.safetensors")
        #expect(try Ensemble.load(model: file).members.map(\.path) == [file.path])
        let missing = #expect(throws: SleepfoldError.self) { try Ensemble.load(model: run, fold: 7) }
        #expect(missing?.code == .badEnsemble)
        #expect(missing?.description.contains("no fold-07.safetensors") == true)
        let empty = #expect(throws: SleepfoldError.self) { try Ensemble.load(model: run.appendingPathComponent("nothing")) }
        #expect(empty?.code == .fileNotFound)
    }

    @Test func checkpointsOfAnotherInputDoNotMix() throws {
        let run = try Self.runDirectory(folds: 1)
        defer { try? FileManager.default.removeItem(at: run) }
        try SleepModel(config: Self.config(inputSamples: 3750), seed: 9)
            .saveCheckpoint(to: run.appendingPathComponent("checkpoints/fold-01.safetensors"))
        let error = #expect(throws: SleepfoldError.self) { try Ensemble.load(model: run) }
        #expect(error?.code == .badEnsemble)
        #expect(error?.description.contains("3750 samples per epoch") == true)
        // One 125-Hz model takes 3750-sample epochs, not 3000.
        let shhs = try Ensemble.load(model: run, fold: 1)
        #expect(shhs.samplesPerEpoch == 3750)
        let mismatch = #expect(throws: SleepfoldError.self) { try shhs.probabilities(Self.recording(epochs: 2), threads: 1) }
        #expect(mismatch?.code == .shapeMismatch)
    }

    @Test func theStagedNightsOutputs() throws {
        let run = try Self.runDirectory(folds: 2)
        defer { try? FileManager.default.removeItem(at: run) }
        let ensemble = try Ensemble.load(model: run)
        let recording = Self.recording(epochs: 40)
        let night = Night(recording: recording, expert: nil, source: "night.edf", channel: "EEG", sourceRate: 256,
                          startTime: EDFDateTime(year: 2026, month: 12, day: 4, hour: 23, minute: 0, second: 0),
                          droppedSeconds: 12.5)
        let p = try ensemble.probabilities(recording, threads: 2)
        let expert: [Stage?] = (0..<40).map { $0 == 3 ? nil : Stage.allCases[$0 / 8] }
        let staged = try StagedNight(night: night, models: ensemble.members.map(\.name), probabilities: p, expert: expert)

        // The stage is the most probable class; the statistics are those of the stages.
        for e in 0..<40 {
            let row = p[(e * 5)..<(e * 5 + 5)]
            #expect(row[e * 5 + Int(staged.stages[e].rawValue)] == row.max())
        }
        #expect(staged.statistics == (try SleepStatistics(hypnogram: staged.stages)))
        // Agreement over the 39 scored epochs; no expert statistics with an unscored epoch.
        let agreement = try #require(staged.agreement)
        #expect(agreement.epochs == 39)
        let correct = (0..<40).filter { expert[$0] != nil && expert[$0] == staged.stages[$0] }.count
        #expect(agreement.accuracy == Double(correct) / 39)
        #expect(staged.expertStatistics == nil)

        let lines = staged.csv().split(separator: "\n").map(String.init)
        #expect(lines.first == "epoch,onset_s,stage,p_w,p_n1,p_n2,p_n3,p_rem,expert")
        #expect(lines.count == 41)
        let fields = lines[4].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        #expect(fields[0] == "3" && fields[1] == "90" && fields[2] == staged.stages[3].name && fields[8] == "")
        #expect(fields[3...7].map { Float($0)! } == Array(p[15..<20]))

        let html = staged.nightReport().html()
        #expect(html.contains("<svg class=\"hypnodensity-plot\""))
        #expect(html.contains("class=\"steps-expert\"") && html.contains("class=\"steps-predicted\""))
        #expect(html.contains("Agreement with the expert"))
        #expect(html.contains("2 checkpoints, mean of their probabilities (fold-00, fold-01)"))
        #expect(!html.contains("http://") && !html.contains("https://"))

        // Written together into a new directory.
        let out = run.appendingPathComponent("out/night")
        try staged.write(to: out)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
                == ["hypnogram.csv", "hypnogram.edf", "night.html", "summary.json"])
        let edf = try EDFReader(url: out.appendingPathComponent("hypnogram.edf"))
        #expect(try edf.annotations().annotations.map(\.text) == staged.stages.map(EDFWriter.hypnogramText))
        #expect(edf.header.startTime == night.startTime)
    }
}
