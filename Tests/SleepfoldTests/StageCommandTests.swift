import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import Evaluation
import SleepNet
import TestSupport

/// `sleepfold stage` end to end: a tiny run's fold checkpoints stage synthetic nights
/// written as EDF, EDF+ and BDF files at several rates.
@Suite struct StageCommandTests {
    /// A tiny run with folds 0 and 1 trained (2 epochs each, about a second), and one of
    /// its synthetic nights (36 epochs, 100 Hz) with its labels.
    struct Fixture {
        let tiny: TinyRun
        let night: Recording
        let start = EDFDateTime(year: 2026, month: 12, day: 4, hour: 22, minute: 30, second: 0)

        init() throws {
            tiny = try TinyRun("stage")
            try tiny.train(fold: 0)
            try tiny.train(fold: 1)
            night = try Recording(contentsOf: tiny.data.appendingPathComponent("SC4001E0.npz"))
        }

        var checkpoints: URL { tiny.run.appendingPathComponent("checkpoints") }

        /// The night's EEG as "EEG Fpz-Cz" (after an EOG signal) at `rate` Hz, 1-s records,
        /// plus `extraSeconds` of signal after the last epoch.
        func writeNight(_ name: String, rate: Int, format: EDFSampleFormat = .edf, plus: Bool = true,
                        seconds: Int? = nil, extraSeconds: Int = 12) throws -> URL {
            var signal = night.x.map(Double.init) + (0..<(extraSeconds * 100)).map { _ in 0.0 }
            if let seconds { signal = Array(signal.prefix(seconds * 100)) }
            if rate != 100 { signal = try PolyphaseResampler(from: 100, to: Double(rate)).resample(signal) }
            let whole = signal.count / rate * rate
            let peak = ((signal.map(abs).max() ?? 1) * 1.05).rounded(.up)
            func edfSignal(_ label: String, _ values: [Double]) throws -> EDFWriter.Signal {
                try EDFWriter.Signal(header: EDFSignalHeader(label: label, physicalDimension: "uV", physicalMinimum: -peak,
                                                             physicalMaximum: peak, digitalMinimum: format.digitalLowerBound,
                                                             digitalMaximum: format.digitalUpperBound, samplesPerRecord: rate),
                                     physicalSamples: Array(values.prefix(whole)))
            }
            let url = tiny.root.appendingPathComponent(name)
            try EDFWriter(startTime: start, recordDuration: 1,
                          signals: [try edfSignal("EOG horizontal", signal.map { $0 * 0.5 }), try edfSignal("EEG Fpz-Cz", signal)],
                          sampleFormat: format, plus: plus).write(to: url)
            return url
        }

        /// The night's expert hypnogram as a Sleep-EDF hypnogram file.
        func writeHypnogram() throws -> URL {
            let url = tiny.root.appendingPathComponent("night-Hypnogram.edf")
            try EDFWriter.hypnogram(night.labels.map { Stage(rawValue: $0)! }, startTime: start).write(to: url)
            return url
        }
    }

    struct Row {
        let epoch: Int, onset: Int, stage: String, p: [Float], expert: String?
    }

    /// hypnogram.csv's rows, checked against its header.
    static func rows(_ directory: URL) throws -> [Row] {
        let lines = try String(contentsOf: directory.appendingPathComponent("hypnogram.csv"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let header = "epoch,onset_s,stage,p_w,p_n1,p_n2,p_n3,p_rem"
        #expect(lines.first == header || lines.first == header + ",expert")
        let withExpert = lines.first == header + ",expert"
        return try lines.dropFirst().map { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            try #require(f.count == (withExpert ? 9 : 8), "\(line)")
            return Row(epoch: try #require(Int(f[0])), onset: try #require(Int(f[1])), stage: f[2],
                       p: try f[3...7].map { try #require(Float($0)) }, expert: withExpert ? f[8] : nil)
        }
    }

    static let names = Stage.allCases.map(\.name)

    /// Every output of a staged night of `epochs` epochs: rows, probabilities, the EDF+
    /// hypnogram read back, the statistics of the rows' stages, the page.
    static func checkOutputs(_ out: URL, epochs: Int, start: EDFDateTime?) throws -> (rows: [Row], summary: [String: Any]) {
        let rows = try rows(out)
        #expect(rows.count == epochs)
        for (i, row) in rows.enumerated() {
            #expect(row.epoch == i && row.onset == 30 * i)
            #expect(abs(row.p.reduce(0, +) - 1) < 1e-5, "epoch \(i): probabilities sum to \(row.p.reduce(0, +))")
            #expect(row.p.allSatisfy { $0 >= 0 && $0 <= 1 })
            let best = row.p.indices.first { row.p[$0] == row.p.max() }!
            #expect(row.stage == names[best])
        }
        let stages = rows.map { Stage.allCases[names.firstIndex(of: $0.stage)!] }

        let edf = try EDFReader(url: out.appendingPathComponent("hypnogram.edf"))
        #expect(edf.header.variant == .continuous && edf.header.dataSignalIndices.isEmpty)
        if let start { #expect(edf.header.startTime == start) }
        let annotations = try edf.annotations().annotations
        #expect(annotations.map(\.text) == stages.map(EDFWriter.hypnogramText))
        #expect(annotations.map(\.onset) == (0..<epochs).map { Double($0) * 30 })
        #expect(annotations.allSatisfy { $0.duration == 30 })

        let summaryData = try Data(contentsOf: out.appendingPathComponent("summary.json"))
        let summary = try #require(try JSONSerialization.jsonObject(with: summaryData) as? [String: Any])
        #expect(summary["format"] as? String == "sleepfold-night-summary")
        // The statistics are SleepStatistics' (checked against YASA in EvaluationTests and StagingTests).
        let expected = try #require(try JSONSerialization.jsonObject(
            with: JSONEncoder().encode(SleepStatistics(hypnogram: stages))) as? NSDictionary)
        #expect((summary["statistics"] as? NSDictionary) == expected)

        let html = try String(contentsOf: out.appendingPathComponent("night.html"), encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg class=\"hypnodensity-plot\""))
        #expect(html.contains("Sleep statistics") && html.contains("total sleep time"))
        #expect(!html.contains("<script") && !html.contains("src=\"http"))
        return (rows, summary)
    }

    @Test func aRunsFoldsStageAnEDFNightWithItsExpert() throws {
        let f = try Fixture()
        defer { f.tiny.remove() }
        let edf = try f.writeNight("night.edf", rate: 100)
        let out = f.tiny.root.appendingPathComponent("staged-100")
        let result = try CommandRunner.run(["stage", "--model", f.tiny.run.path, "--edf", edf.path,
                                            "--hypnogram", try f.writeHypnogram().path, "--out", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("ensemble of 2 checkpoints (fold-00, fold-01)"))
        #expect(result.stderr.contains("the last 12.0 s do not fill a 30-s epoch and are not staged"))
        #expect(result.stdout.contains("inference"))

        let (rows, summary) = try Self.checkOutputs(out, epochs: f.night.epochCount, start: f.start)
        #expect(rows.map(\.expert) == f.night.labels.map { Self.names[Int($0)] })
        let agreement = try #require(summary["agreement"] as? [String: Any])
        let correct = rows.filter { $0.stage == $0.expert }.count
        #expect(agreement["epochs"] as? Int == f.night.epochCount)
        #expect(abs((agreement["accuracy"] as? Double ?? -1) - Double(correct) / Double(rows.count)) < 1e-12)
        #expect(result.stdout.contains("agreement with the expert: accuracy"))
        let night = try #require(summary["night"] as? [String: Any])
        #expect(night["channel"] as? String == "EEG Fpz-Cz" && night["dropped_s"] as? Double == 12)
        #expect(night["start_time"] as? String == "2026-12-04T22:30:00")
        let models = try #require(summary["models"] as? [String: Any])
        #expect(models["checkpoints"] as? [String] == ["fold-00", "fold-01"])
        let html = try String(contentsOf: out.appendingPathComponent("night.html"), encoding: .utf8)
        #expect(html.contains("class=\"steps-expert\"") && html.contains("Agreement with the expert"))
    }

    @Test func theEnsembleIsTheMeanOfItsFoldsAndOneFoldIsWhatPredictGives() throws {
        let f = try Fixture()
        defer { f.tiny.remove() }
        let npz = f.tiny.data.appendingPathComponent("SC4001E0.npz").path
        var perFold: [[Row]] = []
        for fold in 0..<2 {
            let out = f.tiny.root.appendingPathComponent("fold-\(fold)")
            let result = try CommandRunner.run(["stage", "--model", f.tiny.run.path, "--fold", "\(fold)", "--data", npz,
                                                "--out", out.path, "--threads", "1"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stderr.contains("ensemble"))
            perFold.append(try Self.checkOutputs(out, epochs: f.night.epochCount, start: nil).rows)

            // The same probabilities, bit for bit, as `sleepfold predict` with that checkpoint.
            let checkpoint = f.checkpoints.appendingPathComponent(String(format: "fold-%02d.safetensors", fold)).path
            let predict = try CommandRunner.run(["predict", "--checkpoint", checkpoint, "--data", npz, "--csv"])
            #expect(predict.status == 0, "\(predict.stderr)")
            let predicted = predict.stdout.split(separator: "\n").dropFirst().map {
                $0.split(separator: ",", omittingEmptySubsequences: false).suffix(5).map { Float($0)! }
            }
            #expect(predicted == perFold[fold].map(\.p))
        }
        let out = f.tiny.root.appendingPathComponent("both")
        let result = try CommandRunner.run(["stage", "--model", f.tiny.run.path, "--data", npz, "--out", out.path, "--threads", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        let (both, summary) = try Self.checkOutputs(out, epochs: f.night.epochCount, start: nil)
        for (e, row) in both.enumerated() {
            let mean = zip(perFold[0][e].p, perFold[1][e].p).map { ($0 + $1) * 0.5 }
            #expect(row.p == mean, "epoch \(e)")
        }
        // An .npz with y carries the expert.
        #expect(both.map(\.expert) == f.night.labels.map { Self.names[Int($0)] })
        #expect(summary["agreement"] is [String: Any])
    }

    /// `--precision bf16`: on a CPU with AMX-BF16 (the development machine and CI) the
    /// convolutions run in bf16: every output is checked, the probabilities are close to
    /// fp32's, the stages nearly all the same, and summary.json and the page say bf16.
    /// Elsewhere, and with the tiles turned off (`SLEEPFOLD_AMX=off`, checked on every
    /// machine), the command says it runs fp32, and gives fp32's bits.
    @Test func bf16PrecisionStagesCloseToFloat32() throws {
        let f = try Fixture()
        defer { f.tiny.remove() }
        let npz = f.tiny.data.appendingPathComponent("SC4001E0.npz").path
        func stage(_ precision: String?, amx: String? = nil) throws -> (rows: [Row], summary: [String: Any], stderr: String) {
            let out = f.tiny.root.appendingPathComponent("precision-\(precision ?? "default")-\(amx ?? "")")
            let result = try CommandRunner.run(["stage", "--model", f.tiny.run.path, "--data", npz, "--out", out.path]
                                               + (precision.map { ["--precision", $0] } ?? []),
                                               environment: amx.map { ["SLEEPFOLD_AMX": $0] } ?? [:])
            #expect(result.status == 0, "\(result.stderr)")
            let (rows, summary) = try Self.checkOutputs(out, epochs: f.night.epochCount, start: nil)
            return (rows, summary, result.stderr)
        }
        func precision(_ summary: [String: Any]) -> String? { (summary["models"] as? [String: Any])?["precision"] as? String }
        let exact = try stage(nil), fp32 = try stage("fp32"), bf16 = try stage("bf16")
        #expect(precision(exact.summary) == "fp32" && precision(fp32.summary) == "fp32")
        #expect(exact.rows.map(\.p) == fp32.rows.map(\.p))
        let off = try stage("bf16", amx: "off")
        #expect(off.stderr.contains("--precision bf16 with SLEEPFOLD_AMX=off: inference runs in fp32"))
        #expect(precision(off.summary) == "fp32")
        #expect(off.rows.map(\.p) == exact.rows.map(\.p))
        if EvaluationPrecision.bfloat16.effective == .bfloat16 {
            #expect(precision(bf16.summary) == "bf16")
            let worst = zip(bf16.rows, exact.rows).flatMap { zip($0.p, $1.p).map { abs($0 - $1) } }.max() ?? 1
            #expect(worst > 0 && worst < 0.05, "max |p_bf16 − p_fp32| = \(worst)")
            let same = zip(bf16.rows, exact.rows).filter { $0.stage == $1.stage }.count
            #expect(same * 10 >= 9 * exact.rows.count, "\(same) of \(exact.rows.count) epochs staged alike")
            let html = try String(contentsOf: f.tiny.root.appendingPathComponent("precision-bf16-/night.html"), encoding: .utf8)
            #expect(html.contains("bf16: the convolutions and linear layers in bfloat16 on AMX tiles"))
        } else {
            #expect(bf16.stderr.contains("inference runs in fp32"))
            #expect(precision(bf16.summary) == "fp32")
            #expect(bf16.rows.map(\.p) == exact.rows.map(\.p))
        }
    }

    @Test(arguments: [(256, EDFSampleFormat.edf, true), (128, .bdf, false), (200, .bdf, true)])
    func nightsAtOtherRatesAndBDF(rate: Int, format: EDFSampleFormat, plus: Bool) throws {
        let f = try Fixture()
        defer { f.tiny.remove() }
        let name = "night-\(rate)-\(plus ? "plus" : "plain").\(format == .bdf ? "bdf" : "edf")"
        let file = try f.writeNight(name, rate: rate, format: format, plus: plus, extraSeconds: 0)
        let out = f.tiny.root.appendingPathComponent("staged-\(name)")
        let result = try CommandRunner.run(["stage", "--model", f.tiny.run.path, "--edf", file.path, "--out", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("not staged"))
        #expect(result.stdout.contains("Hz → 100 Hz"))
        let (_, summary) = try Self.checkOutputs(out, epochs: f.night.epochCount, start: f.start)
        let night = try #require(summary["night"] as? [String: Any])
        #expect(night["source_rate_hz"] as? Double == Double(rate) && night["model_rate_hz"] as? Double == 100)
        #expect(summary["agreement"] is NSNull)
    }

    /// `synth --format nsrr|profusion` nights (plain EDF, "EEG" at 125 Hz, with NSRR or
    /// Profusion XML): resampled to the models' 100 Hz, the XML as the expert.
    @Test(arguments: ["nsrr", "profusion"])
    func aSynthesisedSHHSNightWithItsXML(format: String) throws {
        let f = try Fixture()
        defer { f.tiny.remove() }
        let directory = f.tiny.root.appendingPathComponent("synth-\(format)")
        let synth = try CommandRunner.run(["synth", "--subjects", "1", "--nights", "1", "--hours", "0.3", "--seed", "9",
                                           "--format", format, "--rate", "125", "--out", directory.path])
        #expect(synth.status == 0, "\(synth.stderr)")
        let edf = directory.appendingPathComponent("shhs1-200000.edf")
        let xml = directory.appendingPathComponent("shhs1-200000-\(format).xml")
        let out = f.tiny.root.appendingPathComponent("staged-synth-\(format)")
        let result = try CommandRunner.run(["stage", "--model", f.tiny.run.path, "--edf", edf.path, "--channel", "EEG",
                                            "--hypnogram", xml.path, "--out", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("36 epochs (EEG, 125 Hz → 100 Hz)"))
        let (rows, summary) = try Self.checkOutputs(out, epochs: 36, start: nil)
        // NSRR: the movement epoch in the middle stays unscored; Profusion scores every epoch.
        let unscored = rows.filter { $0.expert == "" }.map(\.epoch)
        #expect(unscored == (format == "nsrr" ? [18] : []))
        let agreement = try #require(summary["agreement"] as? [String: Any])
        #expect(agreement["epochs"] as? Int == 36 - unscored.count)
        #expect((summary["expert_statistics"] is NSNull) == (format == "nsrr"))
    }

    @Test func badInputsFailWithAReasonAndWriteNothing() throws {
        let f = try Fixture()
        defer { f.tiny.remove() }
        let edf = try f.writeNight("bad-inputs.edf", rate: 100)
        func refused(_ arguments: [String], _ reason: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let out = f.tiny.root.appendingPathComponent("refused-\(UUID().uuidString)")
            let result = try CommandRunner.run(["stage"] + arguments + ["--out", out.path])
            #expect(result.status != 0, sourceLocation: sourceLocation)
            #expect(result.stderr.contains(reason), "\(result.stderr)", sourceLocation: sourceLocation)
            #expect(!FileManager.default.fileExists(atPath: out.path), "outputs written", sourceLocation: sourceLocation)
        }
        // A channel the file does not have: the labels it has are named.
        try refused(["--model", f.tiny.run.path, "--edf", edf.path, "--channel", "EEG Pz-Oz"],
                    "no signal labelled 'EEG Pz-Oz'")
        // Shorter than an epoch.
        let short = try f.writeNight("short.edf", rate: 100, seconds: 25, extraSeconds: 0)
        try refused(["--model", f.tiny.run.path, "--edf", short.path], "25.0 s of signal (0 whole 30-s epochs)")
        // A checkpoint of another input size (125 Hz, 3750 samples) for a 100-Hz .npz night …
        let other = f.tiny.root.appendingPathComponent("other-run/checkpoints")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs")
        var config = try ExperimentConfig.load(from: configs.appendingPathComponent("shhs-attnsleep.json")).model
        config.cnnFirstChannels = 8
        config.cnnChannels = 16
        config.afrChannels = 4
        config.dFF = 16
        try SleepModel(config: config, seed: 3).saveCheckpoint(to: other.appendingPathComponent("fold-00.safetensors"))
        try refused(["--model", other.appendingPathComponent("fold-00.safetensors").path,
                     "--data", f.tiny.data.appendingPathComponent("SC4001E0.npz").path], "3000 samples per epoch")
        // … or in one ensemble with 100-Hz ones.
        try FileManager.default.copyItem(at: f.checkpoints.appendingPathComponent("fold-00.safetensors"),
                                         to: other.appendingPathComponent("fold-01.safetensors"))
        try refused(["--model", other.deletingLastPathComponent().path, "--edf", edf.path], "one ensemble takes one input")
        // A fold the run does not have; a hypnogram of another night.
        try refused(["--model", f.tiny.run.path, "--fold", "5", "--edf", edf.path], "no fold-05.safetensors")
        let elsewhere = f.tiny.root.appendingPathComponent("other-Hypnogram.edf")
        try EDFWriter.hypnogram([.wake, .n2], startTime: EDFDateTime(year: 2001, month: 1, day: 1, hour: 0, minute: 0, second: 0))
            .write(to: elsewhere)
        try refused(["--model", f.tiny.run.path, "--edf", edf.path, "--hypnogram", elsewhere.path], "no stage annotation")
    }

    @Test func aFinalModelOnAllSubjectsStagesANight() throws {
        let f = try Fixture()
        defer { f.tiny.remove() }
        let out = f.tiny.root.appendingPathComponent("final")
        let train = try CommandRunner.run(["train", "--all-subjects", "--data", f.tiny.data.path, "--config", f.tiny.config.path,
                                           "--from-run", f.tiny.run.path, "--seed", "7", "--threads", "1", "--out", out.path])
        #expect(train.status == 0, "\(train.stderr)")
        // Both folds trained 2 epochs and chose one of them: the median is 1 or 2, not the config's 5.
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: f.tiny.run.appendingPathComponent("report.json"))) as? [String: Any]
        let chosen = try #require((report?["folds"] as? [[String: Any]])?.compactMap { $0["chosen_epoch"] as? Int })
        let median = (chosen.sorted()[0] + chosen.sorted()[1] + 1) / 2
        #expect(train.stdout.contains("final model on all 3 subjects (3 nights, "))
        #expect(train.stdout.contains("\(median) epochs (the median of the 2 folds' chosen epochs"))
        #expect(train.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.count == median)
        let model = out.appendingPathComponent("model.safetensors")
        // The nights' epoch files (read batch by batch) are gone once the model is written.
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path) == ["model.safetensors"])

        let staged = f.tiny.root.appendingPathComponent("staged-final")
        let result = try CommandRunner.run(["stage", "--model", model.path, "--edf", try f.writeNight("final.edf", rate: 100).path,
                                            "--out", staged.path])
        #expect(result.status == 0, "\(result.stderr)")
        _ = try Self.checkOutputs(staged, epochs: f.night.epochCount, start: f.start)

        // --fold and --all-subjects exclude each other.
        let both = try CommandRunner.run(["train", "--all-subjects", "--fold", "0", "--data", f.tiny.data.path, "--out", out.path])
        #expect(both.status != 0 && both.stderr.contains("--all-subjects"))
    }
}
