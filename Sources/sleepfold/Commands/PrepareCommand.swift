import ArgumentParser
import Foundation
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import Synthesis
import Evaluation
import Reports
import SleepNet
import Shared

struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Convert PhysioNet Sleep-EDF PSG/hypnogram pairs into AttnSleep NPZ files (one per night).",
        discussion: """
        Pairs SC4ssNE0-PSG.edf with SC4ssNE?-Hypnogram.edf, takes one channel in physical units, \
        cuts 30-s epochs aligned to the stage annotations, drops ?/movement epochs and keeps \
        --trim-wake minutes of wake around the sleep period, as the reference preparation does. \
        With --annotations DIR, pairs NSRR files instead (SHHS: shhs1-200001.edf with \
        shhs1-200001-nsrr.xml, or else shhs1-200001-profusion.xml; channel "EEG" = C4-A1 at \
        125 Hz by default). NSRR XML: stages Wake|0 … REM sleep|5, 3 and 4 → N3, \
        Unscored/Movement epochs dropped. Profusion XML (what the AttnSleep paper read): one \
        value per 30 s, 0 W … 5 REM, 4 → N3, and a night with a value above 5 is skipped. \
        The paper's channel is --channel EEG --channel-match first-containing ("EEG(sec)", \
        C3-A2, in SHHS1 files). \
        Each night becomes OUT/<id>.npz with x (n, 30·rate) float32, y (n,) int32 and fs, plus \
        ch_label (the channel, a string), source_fs (the channel's rate in the PSG), start_time \
        (the PSG header's start, seconds since 1970 reading the header clock as UTC) and \
        epoch_onsets (seconds from the PSG's first sample), float64. A night without a sleep \
        epoch is skipped (kept with --trim-wake none).
        """)

    @Option(help: "Directory of *-PSG.edf and *-Hypnogram.edf files (or of NSRR *.edf files with --annotations).")
    var edfDir: String?

    @Option(help: "Directory of NSRR annotation files (<id>-nsrr.xml, or <id>-profusion.xml; NSRR XML when both) for the EDF files of --edf-dir (SHHS, MESA, …).")
    var annotations: String?

    @Option(help: "Prepare manifest (JSON: {\"nights\": [{\"psg\", \"hypnogram\", \"subject\", \"night\", \"id\"}]}) for files not named like Sleep-EDF; also writes OUT/manifest.json for --data.")
    var manifest: String?

    @Option(help: "Directory to write the recordings to (created if missing).")
    var out: String

    @Option(help: "Label of the EEG channel to use (default: \"EEG Fpz-Cz\"; \"EEG\" with --annotations).")
    var channel: String?

    @Option(help: "exact: the one signal labelled --channel; first-containing: the first signal whose label contains it, as the AttnSleep SHHS preparation picks (\"EEG\" → \"EEG(sec)\", C3-A2, in SHHS1 files).")
    var channelMatch: ChannelMatch = .exact

    @Option(help: "Minutes of wake kept before the first and after the last sleep epoch, or none to keep every epoch.")
    var trimWake: TrimWake = .minutes(30)

    @Option(help: "Output sample rate in Hz (other rates are resampled).")
    var rate: Double = 100

    @Option(help: "Stage map JSON ({\"stages\": {text: stage}, \"drop\": [text]}) for hypnograms that use neither Sleep-EDF's nor NSRR's texts.")
    var stageMap: String?

    @Flag(help: "Deflate the NPZ members (as np.savez_compressed).")
    var compressed = false

    func run() throws {
        if annotations != nil && edfDir == nil {
            throw ValidationError("--annotations pairs the EDF files of --edf-dir; give --edf-dir too")
        }
        let mapping = try stageMap.map { try StageMapping(contentsOf: URL(fileURLWithPath: $0)) }
        let options = PrepareOptions(channel: channel ?? (annotations == nil ? "EEG Fpz-Cz" : "EEG"), channelMatch: channelMatch,
                                     trimWakeMinutes: trimWake.minutes, sampleRate: rate, stageMapping: mapping)
        let directory = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var written = 0, epochs = 0
        var cohortEntries: [[String: Any]] = []
        let write: (NightOutcome) throws -> Void = { outcome in
            guard case .prepared(let night) = outcome else { return }
            let url = directory.appendingPathComponent("\(night.recording.id).npz")
            try night.recording.write(to: url, compression: compressed ? .deflated : .stored,
                                      extraMembers: Self.provenance(of: night))
            written += 1
            epochs += night.recording.epochCount
            var entry: [String: Any] = ["path": url.lastPathComponent, "subject": night.recording.subject]
            if let n = night.recording.night { entry["night"] = n }
            cohortEntries.append(entry)
        }
        let report: PreparationReport
        switch (edfDir, manifest) {
        case (let dir?, nil) where annotations != nil:
            report = try Preparation.prepareNSRR(edfDirectory: URL(fileURLWithPath: dir),
                                                 annotationDirectory: URL(fileURLWithPath: annotations!), options: options, each: write)
            // Subjects come from the NSRR ids (shhs1-200001 → 200001), not Sleep-EDF names: keep them.
            let json = try JSONSerialization.data(withJSONObject: ["recordings": cohortEntries], options: [.prettyPrinted, .sortedKeys])
            try Self.writeManifest(json, to: directory)
        case (let dir?, nil):
            report = try Preparation.prepareDirectory(URL(fileURLWithPath: dir), options: options, each: write)
        case (nil, let file?):
            report = try Preparation.prepare(try PrepareManifest.read(URL(fileURLWithPath: file)), options: options, each: write)
            // The cohort manifest that keeps the subjects for `--data OUT/manifest.json`.
            let json = try JSONSerialization.data(withJSONObject: ["recordings": cohortEntries], options: [.prettyPrinted, .sortedKeys])
            try Self.writeManifest(json, to: directory)
        default:
            throw ValidationError("give exactly one of --edf-dir and --manifest (--annotations goes with --edf-dir)")
        }
        print(report.table())
        guard written > 0 else {
            let reasons = report.nights.map { "\($0.id): \($0.skipReason ?? "no recording")" }
            throw SleepfoldError(.noRecordings, file: directory.path, found: "every night skipped (\(reasons.joined(separator: "; ")))",
                                 expected: "at least one recording written")
        }
        let skipped = report.nights.count - written
        print("wrote \(written) recording\(written == 1 ? "" : "s") (\(epochs) epochs) to \(directory.path)" +
              (skipped > 0 ? "; skipped \(skipped) night\(skipped == 1 ? "" : "s")" : "") +
              (report.unpaired.isEmpty ? "" : "; \(report.unpaired.count) unpaired file\(report.unpaired.count == 1 ? "" : "s")"))
    }

    /// Writes the cohort manifest OUT/manifest.json.
    static func writeManifest(_ json: Data, to directory: URL) throws(SleepfoldError) {
        let url = directory.appendingPathComponent("manifest.json")
        try AtomicFile.write(json, to: url)
    }

    /// Where a night's samples came from: the channel (a `<U` string, as DeepSleepNet's
    /// `ch_label`), the source rate, the start time and each epoch's onset.
    static func provenance(of night: PreparedNight) -> [(name: String, array: NPYArray)] {
        [("ch_label", NPYArray(scalar: night.channel)),
         ("source_fs", NPYArray(scalar: night.sourceSampleRate)),
         ("start_time", NPYArray(scalar: Double(night.startTime.secondsSinceEpoch))),
         ("epoch_onsets", NPYArray(night.epochOnsets))]
    }
}

/// `--trim-wake`: a number of minutes, or `none`.
enum TrimWake: ExpressibleByArgument, Equatable {
    case minutes(Int)
    case none

    init?(argument: String) {
        if argument.lowercased() == "none" {
            self = .none
        } else if let minutes = Int(argument), minutes >= 0 {
            self = .minutes(minutes)
        } else {
            return nil
        }
    }

    var minutes: Int? {
        if case .minutes(let m) = self { return m }
        return nil
    }

    var defaultValueDescription: String {
        switch self {
        case .minutes(let m): return "\(m)"
        case .none: return "none"
        }
    }
}

extension ChannelMatch: ExpressibleByArgument {}
