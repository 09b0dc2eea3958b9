import ArgumentParser
import Foundation
import Basics
import Recordings
import Preparation
import Evaluation
import SleepNet
import Staging


struct StageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage",
        abstract: "Stage a new night: hypnogram, hypnodensity and sleep statistics from an unscored EDF.",
        discussion: """
        Reads one channel of an EDF, EDF+C or BDF file at any rate (or an AttnSleep .npz \
        night), resamples it to the model's rate, cuts it into 30-s epochs from the first \
        sample (a partial last epoch is dropped, and said so) and stages every epoch. Given \
        a run directory, the fold checkpoints (RUN_DIR/checkpoints/*.safetensors) form an \
        ensemble whose class probabilities are averaged; --fold K uses fold K's alone. \
        Writes OUT/hypnogram.csv, hypnogram.edf (EDF+ annotations, as Sleep-EDF's \
        hypnograms), summary.json (sleep statistics as YASA's sleep_statistics defines them) \
        and night.html, all made before any is written. With --hypnogram (or an .npz with y) \
        the agreement with the expert is added. See docs/staging.md.
        """)

    @Option(help: "A checkpoint (.safetensors), or a run directory whose fold checkpoints form an ensemble.")
    var model: String

    @Option(help: "With a run directory: use only this fold's checkpoint (fold-KK.safetensors).")
    var fold: Int?

    @Option(help: "The night: an EDF, EDF+C or BDF file.")
    var edf: String?

    @Option(help: "The night as an AttnSleep .npz file (x, fs; y optional: then it is the expert's).")
    var data: String?

    @Option(help: "Label of the EEG signal in the EDF file.")
    var channel: String = "EEG Fpz-Cz"

    @Option(help: "exact: the one signal with that label; first-containing: the first whose label contains it.")
    var channelMatch: ChannelMatch = .exact

    @Option(help: "The expert's hypnogram of the night, to score agreement: EDF+ (Sleep-EDF style), NSRR XML or Profusion XML (…-profusion.xml).")
    var hypnogram: String?

    @Option(help: "Output directory (created if missing); default: <night>-stage next to the night.")
    var out: String?

    @Option(help: "Epochs per forward pass.")
    var batch: Int = 128

    @Option(help: ArgumentHelp(
        "Number format of inference: fp32 (exact), or bf16: the convolutions and linear layers on Intel AMX tiles, several times faster, within bf16 rounding; runs as fp32 where the CPU has no AMX-BF16.",
        valueName: "fp32|bf16"))
    var precision: EvaluationPrecision = .float32

    @Option(help: "Compute threads; default: all cores.")
    var threads: Int?

    func validate() throws {
        guard (edf == nil) != (data == nil) else {
            throw ValidationError("Give the night as --edf FILE or as --data FILE.npz (one of them).")
        }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1.") }
        if hypnogram != nil && edf == nil {
            throw ValidationError("--hypnogram goes with --edf (an .npz night carries its expert stages as y).")
        }
    }

    func run() throws {
        try CPUFeatures.current.requireModelCore()
        let threads = max(1, self.threads ?? ProcessInfo.processInfo.activeProcessorCount)
        ComputeThreads.set(threads)
        let started = DispatchTime.now().uptimeNanoseconds
        func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        func note(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

        let ensemble = try Ensemble.load(model: URL(fileURLWithPath: model), fold: fold)
        let S = ensemble.samplesPerEpoch
        if ensemble.members.count > 1 {
            note("ensemble of \(ensemble.members.count) checkpoints (\(ensemble.members.map(\.name).joined(separator: ", "))): "
                 + "the mean of their class probabilities stages each epoch (--fold K uses one)")
        }
        let source = URL(fileURLWithPath: edf ?? data!)
        let night = try edf != nil
            ? Night.edf(source, channel: channel, match: channelMatch, samplesPerEpoch: S)
            : Night.npz(source, samplesPerEpoch: S)
        if night.droppedSeconds > 0 {
            note("\(night.source): the last " + String(format: "%.1f", night.droppedSeconds)
                 + " s do not fill a 30-s epoch and are not staged")
        }
        let expert = try hypnogram.map { try ExpertHypnogram.stages(of: URL(fileURLWithPath: $0), for: night) } ?? night.expert
        let loaded = seconds()

        let precision = self.precision.effective
        if let fallback = self.precision.fallbackNote { note(fallback) }
        let probabilities = try ensemble.probabilities(night.recording, threads: threads, batch: batch,
                                                       precision: precision)
        let inferred = seconds()
        let staged = try StagedNight(night: night, models: ensemble.members.map(\.name), probabilities: probabilities,
                                     expert: expert, precision: precision)
        let directory = URL(fileURLWithPath: out ?? source.deletingPathExtension().path + "-stage")
        try staged.write(to: directory)

        let s = staged.statistics
        print("\(night.recording.id): \(night.epochCount) epochs (\(night.channel), "
              + String(format: "%g Hz → %g Hz), ", night.sourceRate, night.recording.sampleRate)
              + "\(ensemble.members.count) model\(ensemble.members.count == 1 ? "" : "s")")
        print(String(format: "TST %.1f min of %.1f min in bed, sleep efficiency %.1f %%, ", s.tst, s.tib, s.se)
              + "WASO \(s.waso.map { String(format: "%.1f min", $0) } ?? "–"), \(s.awakenings) awakenings")
        if let agreement = staged.agreement { print("agreement with the expert: " + metricsLine(agreement)) }
        print(String(format: "read %.2f s, inference %.2f s (%d epochs × %d models, %d threads, %@), total %.2f s",
                     loaded, inferred - loaded, night.epochCount, ensemble.members.count, threads,
                     precision.rawValue, seconds()))
        print("wrote \(directory.path)/: " + StagedNight.outputNames.joined(separator: ", "))
    }
}
