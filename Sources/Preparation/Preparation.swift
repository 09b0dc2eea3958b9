import Foundation
import Basics
import Recordings
import Cohorts
import EDF

/// How `PrepareOptions.channel` names the PSG signal to use (`--channel-match`).
public enum ChannelMatch: String, Sendable, Equatable, CaseIterable {
    /// The one data signal whose label is the channel; none or several is an error.
    case exact
    /// The first data signal, in file order, whose label contains the channel text: the
    /// rule of the AttnSleep paper's SHHS preparation (`[s for s in ch_names if "EEG" in
    /// s][0]`), which in SHHS1 files picks "EEG(sec)" (C3-A2), listed before "EEG" (C4-A1).
    case firstContaining = "first-containing"
}

/// Settings of `Preparation` (the options of `sleepfold prepare`).
public struct PrepareOptions: Sendable, Equatable {
    /// Label of the PSG signal to use (or the text its label contains, see `channelMatch`).
    public var channel: String
    /// How `channel` picks the signal.
    public var channelMatch: ChannelMatch
    /// Minutes of wake kept before the first and after the last sleep epoch; nil keeps all
    /// epochs (and keeps nights without sleep).
    public var trimWakeMinutes: Int?
    /// Sample rate of the output in Hz; other rates are resampled (`PolyphaseResampler`).
    public var sampleRate: Double
    /// Annotation texts → stages / dropped; nil: by hypnogram format (`.sleepEDF` for EDF+
    /// hypnograms, `.nsrr` for NSRR XML, `.profusion` for Profusion XML).
    public var stageMapping: StageMapping?

    public init(channel: String = "EEG Fpz-Cz", channelMatch: ChannelMatch = .exact, trimWakeMinutes: Int? = 30,
                sampleRate: Double = 100, stageMapping: StageMapping? = nil) {
        self.channel = channel
        self.channelMatch = channelMatch
        self.trimWakeMinutes = trimWakeMinutes
        self.sampleRate = sampleRate
        self.stageMapping = stageMapping
    }
}

/// One prepared night: the epochs and labels, and where they came from.
public struct PreparedNight: Sendable {
    /// The epochs (physical units of the channel, e.g. µV) and their stage labels.
    public var recording: Recording
    /// Label of the PSG channel used (with `.firstContaining`, the label found).
    public var channel: String
    /// Sample rate of the channel in the PSG, before resampling to `recording.sampleRate`.
    public var sourceSampleRate: Double
    /// Start date and time of the PSG (header fields).
    public var startTime: EDFDateTime
    /// Onset of each epoch in seconds from the PSG's first sample (gaps where epochs were
    /// dropped).
    public var epochOnsets: [Double]
    public var summary: NightSummary
}

/// What became of one night.
public enum NightOutcome: Sendable {
    case prepared(PreparedNight)
    /// No recording: `summary.skipReason` says why (no sleep epoch, no scored epoch).
    case skipped(NightSummary)

    public var summary: NightSummary {
        switch self {
        case .prepared(let night): return night.summary
        case .skipped(let summary): return summary
        }
    }
}

/// Which epochs of a night to keep, before any samples are copied.
public struct EpochPlan: Sendable, Equatable {
    /// First sample of each kept epoch, ascending.
    public var starts: [Int]
    /// Stage of each kept epoch.
    public var stages: [Stage]
    /// True when some epoch (before trimming) is not wake.
    public var hasSleep: Bool
    public var droppedEpochs: [String: Int]
    public var epochsOutsideSignal: Int
    public var trimmedWakeEpochs: Int
    public var overlappingEpochs: Int
    public var partialEpochAnnotations: Int
    public var ignoredAnnotations: [String: Int]
}

/// Conversion of PhysioNet Sleep-EDF polysomnograms and hypnograms to 30-s epochs with
/// stage labels, following the reference preparation (DeepSleepNet's
/// `prepare_physionet.py`, used by AttnSleep):
///
/// 1. Take one channel of the PSG by label, in physical units; resample it to the target
///    rate when its own rate differs.
/// 2. Each stage annotation of duration D covers ⌊D/30⌋ epochs starting at its onset
///    (onsets converted to the PSG's time base via the header start times). Epochs of
///    dropped texts ("?", movement) are removed; epochs reaching outside the signal (the
///    hypnogram usually runs past the end of the recording) are removed.
/// 3. Keep `trimWakeMinutes` of wake before the first and after the last sleep epoch
///    (counted in kept epochs, as the reference does). A night without a sleep epoch is
///    skipped, unless trimming is off.
///
/// Differences from the reference: an annotation without duration covers one epoch, a
/// duration that is not a multiple of 30 s is floored (the reference raises), onsets are
/// rounded to the nearest sample (the reference truncates: equal for whole-second onsets).
///
/// Profusion XML (SHHS, `prepare_shhs.py`): stage value `i` covers the 30 s from `i · 30`
/// s; a night with a value above 5 is skipped whole, as the reference skips it. The
/// reference also requires the signal to be a whole number of epochs and exactly as many
/// epochs as stage values (it raises otherwise); here stage values past the end of the
/// signal are counted as outside it and a trailing part-epoch of signal is not used.
public enum Preparation {
    /// Seconds per epoch.
    public static let epochSeconds = 30.0

    /// Prepares every PSG/hypnogram pair of `directory` in id order, handing each night's
    /// outcome to `each` as soon as it is ready (so only one night is in memory), and
    /// returns the summaries. Throws at the first night with an error (a bad file, a missing
    /// channel), naming the file.
    public static func prepareDirectory(_ directory: URL, options: PrepareOptions = PrepareOptions(),
                                        each: (NightOutcome) throws -> Void) throws -> PreparationReport {
        let (pairs, unpaired) = try NightFiles.pairs(in: directory)
        guard !pairs.isEmpty else {
            throw SleepfoldError(.noRecordings, file: directory.path,
                                 found: unpaired.isEmpty ? "no *-PSG.edf file" : "no complete pair (\(unpaired.joined(separator: "; ")))",
                                 expected: "pairs SC4ssNE0-PSG.edf + SC4ssNE?-Hypnogram.edf")
        }
        var report = try prepare(pairs, options: options, each: each)
        report.unpaired = unpaired
        return report
    }

    /// Prepares every NSRR pair (`<id>.edf` in `edfDirectory` with `<id>-nsrr.xml` or
    /// `<id>-profusion.xml` in `annotationDirectory`, e.g. SHHS's `shhs1-200001.edf` +
    /// `shhs1-200001-nsrr.xml`; see `NightFiles.nsrrPairs`), as `prepareDirectory` does
    /// for Sleep-EDF.
    public static func prepareNSRR(edfDirectory: URL, annotationDirectory: URL, options: PrepareOptions = PrepareOptions(),
                                   each: (NightOutcome) throws -> Void) throws -> PreparationReport {
        let (pairs, unpaired) = try NightFiles.nsrrPairs(edfDirectory: edfDirectory, annotationDirectory: annotationDirectory)
        guard !pairs.isEmpty else {
            throw SleepfoldError(.noRecordings, file: edfDirectory.path,
                                 found: unpaired.isEmpty ? "no *.edf file" : "no complete pair (\(unpaired.prefix(5).joined(separator: "; ")))",
                                 expected: "<id>.edf with <id>-nsrr.xml or <id>-profusion.xml in \(annotationDirectory.path)")
        }
        var report = try prepare(pairs, options: options, each: each)
        report.unpaired = unpaired
        return report
    }

    /// Prepares the given nights in order (e.g. from a `PrepareManifest`), handing each
    /// outcome to `each` as soon as it is made, so only one night is in memory at a time.
    public static func prepare(_ nights: [NightFiles], options: PrepareOptions = PrepareOptions(),
                               each: (NightOutcome) throws -> Void) throws -> PreparationReport {
        var summaries: [NightSummary] = []
        for files in nights {
            let outcome = try prepareNight(files, options: options)
            try each(outcome)
            summaries.append(outcome.summary)
        }
        return PreparationReport(nights: summaries, unpaired: [])
    }

    /// Prepares one night from its PSG and hypnogram files.
    public static func prepareNight(_ files: NightFiles, options: PrepareOptions = PrepareOptions()) throws -> NightOutcome {
        try check(options)
        let psg = try EDFReader(url: files.psg)
        let index = try channelIndex(options.channel, match: options.channelMatch, in: psg)
        let channel = psg.header.signals[index].label
        guard let sourceRate = psg.header.sampleRate(ofSignal: index) else {
            throw SleepfoldError(.badField, file: psg.name, field: "duration of a data record", found: "0",
                                 expected: "a positive duration for signal '\(channel)'")
        }

        // Seconds from the PSG's first sample = hypnogram onset + shift.
        var psgStartOffset = 0.0
        if psg.header.isPlus {
            let onsets = try psg.annotations().recordOnsets
            for (r, onset) in onsets.enumerated()
            where abs(onset - onsets[0] - Double(r) * psg.header.recordDuration) > 1e-6 {
                throw SleepfoldError(.discontinuousRecording, file: psg.name, field: "record \(r) onset",
                                     found: "\(onset) s (a gap in an EDF+D file)",
                                     expected: "\(onsets[0] + Double(r) * psg.header.recordDuration) s: contiguous records")
            }
            psgStartOffset = onsets.first ?? 0
        }
        let annotations: [EDFAnnotation]
        let defaultMapping: StageMapping
        if files.hypnogram.lastPathComponent.hasSuffix(NightFiles.profusionSuffix) {
            // Profusion: one stage per 30 s from the recording's start.
            let profusion = try ProfusionAnnotations(contentsOf: files.hypnogram)
            if let (epoch, value) = profusion.valueAboveFive {
                // The reference's rule: a night with a stage value above 5 is left out whole.
                let summary = NightSummary(
                    id: files.id, channel: channel, epochsPerStage: Array(repeating: 0, count: Stage.count),
                    droppedEpochs: [:], epochsOutsideSignal: 0, trimmedWakeEpochs: 0, overlappingEpochs: 0,
                    partialEpochAnnotations: 0, ignoredAnnotations: [:], signalDuration: psg.header.duration,
                    skipReason: "stage value \(value) (above 5: unscored or movement) at epoch \(epoch) of "
                        + "\(files.hypnogram.lastPathComponent); the reference preparation leaves such nights out")
                return .skipped(summary)
            }
            annotations = profusion.events.map {
                EDFAnnotation(onset: $0.onset - psgStartOffset, duration: $0.duration, text: $0.text)
            }
            defaultMapping = .profusion
        } else if files.hypnogram.pathExtension.lowercased() == "xml" {
            // NSRR: Start is seconds from the recording's start.
            annotations = try NSRRAnnotations(contentsOf: files.hypnogram).events.map {
                EDFAnnotation(onset: $0.onset - psgStartOffset, duration: $0.duration, text: $0.text)
            }
            defaultMapping = .nsrr
        } else {
            let hypnogram = try EDFReader(url: files.hypnogram)
            let shift = Double(hypnogram.header.startTime.secondsSinceEpoch - psg.header.startTime.secondsSinceEpoch)
                - psgStartOffset
            annotations = try hypnogram.annotations().annotations.map {
                EDFAnnotation(onset: $0.onset + shift, duration: $0.duration, text: $0.text)
            }
            defaultMapping = .sleepEDF
        }

        let raw: [Double] = try psg.physicalSamples(signal: index)
        let signal = sourceRate == options.sampleRate ? raw : try locating(file: psg.name) {
            try PolyphaseResampler(from: sourceRate, to: options.sampleRate).resample(raw)
        }
        let samplesPerEpoch = Int((epochSeconds * options.sampleRate).rounded())
        let plan = epochPlan(annotations: annotations, signalCount: signal.count, sampleRate: options.sampleRate,
                             mapping: options.stageMapping ?? defaultMapping, trimWakeMinutes: options.trimWakeMinutes)

        var summary = NightSummary(
            id: files.id, channel: channel,
            epochsPerStage: (0..<Stage.count).map { k in plan.stages.filter { $0.rawValue == k }.count },
            droppedEpochs: plan.droppedEpochs, epochsOutsideSignal: plan.epochsOutsideSignal,
            trimmedWakeEpochs: plan.trimmedWakeEpochs, overlappingEpochs: plan.overlappingEpochs,
            partialEpochAnnotations: plan.partialEpochAnnotations, ignoredAnnotations: plan.ignoredAnnotations,
            signalDuration: Double(raw.count) / sourceRate, skipReason: nil)
        if options.trimWakeMinutes != nil && !plan.hasSleep {
            summary.skipReason = "no sleep epoch among its \(plan.stages.count) scored epochs (all W); trim none keeps it"
            summary.epochsPerStage = Array(repeating: 0, count: Stage.count)
            return .skipped(summary)
        }
        guard !plan.starts.isEmpty else {
            summary.skipReason = "no epoch with a stage annotation inside the signal"
            return .skipped(summary)
        }

        var x: [Float] = []
        x.reserveCapacity(plan.starts.count * samplesPerEpoch)
        for start in plan.starts {
            x.append(contentsOf: signal[start..<(start + samplesPerEpoch)].lazy.map { Float($0) })
        }
        let recording = Recording(id: files.id, subject: files.subject, night: files.night,
                                  sampleRate: options.sampleRate, samplesPerEpoch: samplesPerEpoch,
                                  x: x, labels: plan.stages.map(\.rawValue))
        return .prepared(PreparedNight(
            recording: recording, channel: channel, sourceSampleRate: sourceRate,
            startTime: psg.header.startTime,
            epochOnsets: plan.starts.map { Double($0) / options.sampleRate }, summary: summary))
    }

    /// Chooses the epochs of a night (steps 2 and 3 above) for a signal of `signalCount`
    /// samples at `sampleRate`, from annotations whose onsets are seconds from the
    /// signal's first sample. When trimming finds no sleep epoch, nothing is trimmed and
    /// `hasSleep` is false.
    public static func epochPlan(annotations: [EDFAnnotation], signalCount: Int, sampleRate: Double,
                                 mapping: StageMapping, trimWakeMinutes: Int?) -> EpochPlan {
        let samplesPerEpoch = Int((epochSeconds * sampleRate).rounded())
        var plan = EpochPlan(starts: [], stages: [], hasSleep: false, droppedEpochs: [:], epochsOutsideSignal: 0,
                             trimmedWakeEpochs: 0, overlappingEpochs: 0, partialEpochAnnotations: 0,
                             ignoredAnnotations: [:])
        // Onset order; equal onsets keep file order.
        let ordered = annotations.enumerated().sorted {
            ($0.element.onset, $0.offset) < ($1.element.onset, $1.offset)
        }.map(\.element)
        var keptEnd = Int.min
        for a in ordered {
            let action = mapping.action(for: a.text)
            if action == .ignore {
                plan.ignoredAnnotations[a.text, default: 0] += 1
                continue
            }
            let duration = a.duration ?? epochSeconds
            let epochs = (duration / epochSeconds + 1e-9).rounded(.down)
            if duration - epochs * epochSeconds > 1e-6 { plan.partialEpochAnnotations += 1 }
            let first = (a.onset * sampleRate).rounded()
            // Absurd onsets or durations (corrupt files) must not overflow or loop forever.
            guard epochs >= 1 else { continue }
            guard epochs < 1e9, abs(first) < 1e15 else {
                plan.epochsOutsideSignal += Int(min(epochs, 1e9))
                continue
            }
            let n = Int(epochs), firstSample = Int(first)
            // Epoch k starts at firstSample + k·samplesPerEpoch; keep those within the signal.
            let lowest = firstSample >= 0 ? 0 : (-firstSample + samplesPerEpoch - 1) / samplesPerEpoch
            let lastStart = signalCount - samplesPerEpoch - firstSample
            let highest = lastStart < 0 ? -1 : min(n - 1, lastStart / samplesPerEpoch)
            let inside = highest >= lowest ? highest - lowest + 1 : 0
            plan.epochsOutsideSignal += n - inside
            guard inside > 0 else { continue }
            switch action {
            case .drop:
                plan.droppedEpochs[a.text, default: 0] += inside
            case .stage(let stage):
                for k in lowest...highest {
                    let start = firstSample + k * samplesPerEpoch
                    if start < keptEnd {
                        plan.overlappingEpochs += 1
                    } else {
                        plan.starts.append(start)
                        plan.stages.append(stage)
                        keptEnd = start + samplesPerEpoch
                    }
                }
            case .ignore:
                break
            }
        }
        let sleep = plan.stages.indices.filter { plan.stages[$0] != .wake }
        plan.hasSleep = !sleep.isEmpty
        if let minutes = trimWakeMinutes, let firstSleep = sleep.first, let lastSleep = sleep.last {
            let edge = Int((Double(minutes) * 60 / epochSeconds).rounded())
            let low = max(0, firstSleep - edge), high = min(plan.stages.count - 1, lastSleep + edge)
            plan.trimmedWakeEpochs = low + (plan.stages.count - 1 - high)
            plan.starts = Array(plan.starts[low...high])
            plan.stages = Array(plan.stages[low...high])
        }
        return plan
    }

    private static func check(_ options: PrepareOptions) throws {
        if let minutes = options.trimWakeMinutes, minutes < 0 {
            throw SleepfoldError(.invalidValue, field: "--trim-wake", found: "\(minutes)", expected: "minutes ≥ 0, or none")
        }
        let samples = epochSeconds * options.sampleRate
        guard options.sampleRate.isFinite, options.sampleRate > 0, samples >= 1,
              abs(samples - samples.rounded()) < 1e-9 else {
            throw SleepfoldError(.invalidValue, field: "--rate", found: "\(options.sampleRate) Hz",
                                 expected: "a positive rate giving a whole number of samples per 30-s epoch")
        }
    }

    /// The data signal `channel` names: the one labelled so (`.exact`), or the first whose
    /// label contains it (`.firstContaining`); `.missingChannel` (naming the file's labels)
    /// or `.ambiguousChannel` otherwise. Also how `sleepfold stage` picks its channel.
    public static func channelIndex(_ channel: String, match: ChannelMatch, in psg: EDFReader) throws -> Int {
        let data = psg.header.dataSignalIndices
        let labels = data.map { "'\(psg.header.signals[$0].label)'" }.joined(separator: ", ")
        switch match {
        case .firstContaining:
            guard let first = data.first(where: { psg.header.signals[$0].label.contains(channel) }) else {
                throw SleepfoldError(.missingChannel, file: psg.name, field: "channel",
                                     found: "no signal whose label contains '\(channel)'", expected: "one of \(labels)")
            }
            return first
        case .exact:
            let matches = psg.header.signalIndices(label: channel).filter { !psg.header.signals[$0].isAnnotation }
            guard matches.count == 1 else {
                if matches.isEmpty {
                    throw SleepfoldError(.missingChannel, file: psg.name, field: "channel", found: "no signal labelled '\(channel)'",
                                         expected: "one of \(labels)")
                }
                throw SleepfoldError(.ambiguousChannel, file: psg.name, field: "channel",
                                     found: "\(matches.count) signals labelled '\(channel)' (signals \(matches.map { "\($0 + 1)" }.joined(separator: ", ")))",
                                     expected: "a label that names one signal")
            }
            return matches[0]
        }
    }
}

// Codes of `prepare` (problems inside an EDF file keep the EDF codes; a prepare
// manifest's are Cohorts' `.badManifest`, a directory without pairs `.noRecordings`).
extension SleepfoldError.Code {
    /// No data signal of the PSG has the channel's label.
    public static let missingChannel = Self("missingChannel")
    /// Several data signals of the PSG have the channel's label.
    public static let ambiguousChannel = Self("ambiguousChannel")
    /// An EDF+D PSG whose records leave gaps (preparation needs contiguous records).
    public static let discontinuousRecording = Self("discontinuousRecording")
    /// A stage map JSON that is malformed or maps a text to no stage.
    public static let badStageMap = Self("badStageMap")
    /// An annotation XML file that is not well-formed.
    public static let badXML = Self("badXML")
}
