import ArgumentParser
import Foundation
import SleepNet
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import Synthesis
import Evaluation
import Reports
import Shared

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Stage every epoch of one night with a trained checkpoint.",
        discussion: """
        Prints one line per epoch: its index, the predicted stage and the five class \
        probabilities (W, N1, N2, N3, REM), and, when the file has labels (y), the true stage \
        and at the end accuracy, macro-F1 and Cohen's kappa. With --csv, stdout is CSV \
        (epoch,true,predicted,p_w,p_n1,p_n2,p_n3,p_rem; labels as 0…4, true empty without \
        labels, probabilities exact) and the scores go to stderr. The model runs in eval mode \
        (running BatchNorm statistics, no dropout), as it does on a fold's test nights.
        """)

    @Option(help: "A checkpoint written by sleepfold (RUN_DIR/checkpoints/fold-KK.safetensors).")
    var checkpoint: String

    @Option(help: "One night: an AttnSleep .npz file (x, fs, and optionally y).")
    var data: String

    @Flag(help: "Print CSV instead of a table.")
    var csv = false

    @Option(help: ArgumentHelp(
        "Number format of inference: fp32 (exact), or bf16 (the convolutions and linear layers on Intel AMX tiles; fp32 where the CPU has no AMX-BF16, said on stderr).",
        valueName: "fp32|bf16"))
    var precision: EvaluationPrecision = .float32

    @Option(help: "Compute threads; default: all cores.")
    var threads: Int?

    func run() throws {
        try CPUFeatures.current.requireModelCore()
        ComputeThreads.set(max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount))
        let model = try SleepModel.loadCheckpoint(from: URL(fileURLWithPath: checkpoint))
        model.evaluationPrecision = precision.effective
        if let fallback = precision.fallbackNote { FileHandle.standardError.write(Data((fallback + "\n").utf8)) }
        let night = try Self.loadNight(URL(fileURLWithPath: data), model: model.config)
        let trainer = Trainer(config: ExperimentConfig(name: "predict", model: model.config), selection: .last, seed: 0)
        guard let prediction = try trainer.predict([night.recording], model: model).0.first else {
            throw SleepfoldError(.emptyRecording, file: data, found: "no prediction for the night", expected: "one per epoch")
        }
        let K = Stage.count
        let labelled = night.labelled
        if csv {
            print("epoch,true,predicted," + PredictionsCSV.columns.suffix(K).joined(separator: ","))
        } else {
            print("epoch  " + (labelled ? "true  " : "") + "predicted  " + Stage.allCases.map { Self.pad($0.name, 6) }.joined())
        }
        for e in 0..<night.recording.epochCount {
            let p = prediction.probabilities[(e * K)..<((e + 1) * K)]
            let predicted = prediction.predictedLabels[e], truth = night.recording.labels[e]
            if csv {
                print("\(e),\(labelled ? "\(truth)" : ""),\(predicted)," + p.map { $0.description }.joined(separator: ","))
            } else {
                print(Self.pad("\(e)", 7) + (labelled ? Self.pad(Self.name(truth), 6) : "") + Self.pad(Self.name(predicted), 11)
                      + p.map { Self.pad(String(format: "%.3f", $0), 6) }.joined())
            }
        }
        guard labelled else { return }
        let metrics = Metrics(pairs: zip(prediction.trueLabels, prediction.predictedLabels).compactMap { t, p in
            Stage(rawValue: t).flatMap { truth in Stage(rawValue: p).map { (truth: truth, predicted: $0) } }
        })
        let line = "\(night.recording.id): " + metricsLine(metrics)
        if csv { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
    }

    /// A night to predict: a full AttnSleep recording, or just x (and fs) when the file has no y.
    struct Night {
        var recording: Recording
        var labelled: Bool
    }

    /// Loads the night and checks it fits the model (samples per epoch).
    static func loadNight(_ url: URL, model: ModelConfig) throws -> Night {
        let archive = try NPZArchive(url: url)
        let id = url.deletingPathExtension().lastPathComponent
        let night: Night
        if archive.contains("y") {
            // The subject is irrelevant here; naming it skips the file-name pattern check.
            night = Night(recording: try Recording(contentsOf: url, subject: id, expectedSampleRate: nil), labelled: true)
        } else {
            night = Night(recording: try Recording.unlabelled(archive, id: id, samplesPerEpoch: model.inputSamples), labelled: false)
        }
        guard night.recording.samplesPerEpoch == model.inputSamples else {
            throw SleepfoldError(.unexpectedShape, file: url.path, field: "member 'x'",
                                 found: "\(night.recording.samplesPerEpoch) samples per epoch",
                                 expected: "\(model.inputSamples), as the checkpoint's model takes")
        }
        return night
    }

    static func name(_ label: Int32) -> String { Stage(rawValue: label)?.name ?? "?" }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}
