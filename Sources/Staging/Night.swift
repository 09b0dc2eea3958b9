import Foundation
import Basics
import Recordings
import Cohorts
import EDF
import Preparation

/// One unscored night as a model reads it: the chosen channel at the model's rate, cut
/// into 30-s epochs from the first sample, with where it came from.
///
///     // signal (source rate) -> resampled (model rate) -> x (epochs, samplesPerEpoch)
public struct Night: Sendable {
    /// The epochs (labels are the file's `y` for an NPZ night with labels, else 0).
    public var recording: Recording
    /// The expert's stage of each epoch when the input carries one (NPZ `y`), else nil.
    public var expert: [Stage?]?
    /// The file the night was read from.
    public var source: String
    /// Label of the signal used ("x" for an NPZ night).
    public var channel: String
    /// Rate of that signal in the file, Hz.
    public var sourceRate: Double
    /// The recording's start date and time (EDF header); nil for an NPZ night.
    public var startTime: EDFDateTime?
    /// Seconds from `startTime` to the first sample: an EDF+ file's first record onset
    /// (sub-second start times), 0 otherwise.
    public var startOffset: Double
    /// Seconds of signal after the last whole epoch, not staged (0 when it ends on an epoch).
    public var droppedSeconds: Double

    /// Epochs of the night.
    public var epochCount: Int { recording.epochCount }
    /// Seconds from the first sample to the start of each epoch.
    public var onsets: [Double] { (0..<epochCount).map { Double($0) * Recording.epochSeconds } }

    public init(recording: Recording, expert: [Stage?]?, source: String, channel: String, sourceRate: Double,
                startTime: EDFDateTime?, startOffset: Double = 0, droppedSeconds: Double) {
        self.recording = recording
        self.expert = expert
        self.source = source
        self.channel = channel
        self.sourceRate = sourceRate
        self.startTime = startTime
        self.startOffset = startOffset
        self.droppedSeconds = droppedSeconds
    }

    /// Fewest epochs a night may have: the sleep statistics need two (as YASA's do).
    public static let minimumEpochs = 2

    /// Reads the signal `channel` (matched as `prepare --channel-match` matches it) of an
    /// EDF, EDF+C or BDF(+C) file, resamples it to `samplesPerEpoch / 30` Hz with the
    /// preparation's resampler (scipy's `resample_poly`) and cuts it into 30-s epochs from
    /// the first sample; a partial last epoch is dropped (`droppedSeconds`).
    ///
    /// - Throws: `.missingChannel` / `.ambiguousChannel` (naming the file's labels),
    ///   `.discontinuousRecording` for EDF+D with gaps, `.shortNight` for fewer than
    ///   `minimumEpochs` whole epochs, `.nonFiniteSignal`, and the EDF reader's errors.
    public static func edf(_ url: URL, channel: String, match: ChannelMatch = .exact,
                           samplesPerEpoch: Int) throws -> Night {
        let file = try EDFReader(url: url)
        let index = try Preparation.channelIndex(channel, match: match, in: file)
        let label = file.header.signals[index].label
        guard let sourceRate = file.header.sampleRate(ofSignal: index) else {
            throw SleepfoldError(.badField, file: file.name, field: "duration of a data record", found: "0",
                                 expected: "a positive duration for signal '\(label)'")
        }
        var startOffset = 0.0
        if file.header.isPlus {
            // Epochs are counted from the first sample: the records must follow each other.
            let onsets = try file.annotations().recordOnsets
            startOffset = onsets.first ?? 0
            for (r, onset) in onsets.enumerated()
            where abs(onset - onsets[0] - Double(r) * file.header.recordDuration) > 1e-6 {
                throw SleepfoldError(.discontinuousRecording, file: file.name, field: "record \(r) onset",
                                     found: "\(onset) s (a gap in an EDF+D file)",
                                     expected: "\(onsets[0] + Double(r) * file.header.recordDuration) s: contiguous records")
            }
        }
        let rate = Double(samplesPerEpoch) / Recording.epochSeconds
        let raw: [Double] = try file.physicalSamples(signal: index)
        let signal = sourceRate == rate ? raw : try locating(file: file.name) {
            try PolyphaseResampler(from: sourceRate, to: rate).resample(raw)
        }
        let epochs = signal.count / samplesPerEpoch
        let sourceSeconds = Double(raw.count) / sourceRate
        guard epochs >= minimumEpochs else {
            throw SleepfoldError(.shortNight, file: file.name, field: "signal '\(label)'",
                                 found: String(format: "%.1f s of signal (%d whole 30-s epochs)", sourceSeconds, epochs),
                                 expected: "at least \(minimumEpochs) whole epochs (\(Int(Recording.epochSeconds) * minimumEpochs) s)")
        }
        var x = [Float](repeating: 0, count: epochs * samplesPerEpoch)
        for i in x.indices {
            let v = signal[i]
            guard v.isFinite else {
                throw SleepfoldError(.nonFiniteSignal, file: file.name, field: "signal '\(label)'",
                                     found: "value \(v) at epoch \(i / samplesPerEpoch)", expected: "finite numbers")
            }
            x[i] = Float(v)
        }
        let id = url.deletingPathExtension().lastPathComponent
        let recording = Recording(id: id, subject: id, night: nil, sampleRate: rate, samplesPerEpoch: samplesPerEpoch,
                                  x: x, labels: [Int32](repeating: 0, count: epochs))
        return Night(recording: recording, expert: nil, source: url.path, channel: label, sourceRate: sourceRate,
                     startTime: file.header.startTime, startOffset: startOffset,
                     droppedSeconds: max(0, sourceSeconds - Double(epochs) * Recording.epochSeconds))
    }

    /// Reads an AttnSleep `.npz` night (`x` (n, S) or (n, S, 1), `fs`; `y` optional, then
    /// the expert's stages). `x` must have the model's `samplesPerEpoch`.
    public static func npz(_ url: URL, samplesPerEpoch: Int) throws -> Night {
        let archive = try NPZArchive(url: url)
        let id = url.deletingPathExtension().lastPathComponent
        let recording: Recording
        let expert: [Stage?]?
        if archive.contains("y") {
            // The subject is irrelevant here; naming it skips the file-name pattern check.
            recording = try Recording(contentsOf: url, subject: id, expectedSampleRate: nil)
            expert = recording.labels.map { Stage(rawValue: $0) }
        } else {
            recording = try Recording.unlabelled(archive, id: id, samplesPerEpoch: samplesPerEpoch)
            expert = nil
        }
        guard recording.samplesPerEpoch == samplesPerEpoch else {
            throw SleepfoldError(.unexpectedShape, file: url.path, field: "member 'x'",
                                 found: "\(recording.samplesPerEpoch) samples per epoch",
                                 expected: "\(samplesPerEpoch), as the model takes")
        }
        guard recording.epochCount >= minimumEpochs else {
            throw SleepfoldError(.shortNight, file: url.path, field: "member 'x'", found: "\(recording.epochCount) epoch",
                                 expected: "at least \(minimumEpochs) epochs")
        }
        return Night(recording: recording, expert: expert, source: url.path, channel: "x",
                     sourceRate: recording.sampleRate, startTime: nil, droppedSeconds: 0)
    }
}

// Codes of staging (the readers' own problems keep the EDF, NPZ and preparation codes).
extension SleepfoldError.Code {
    /// A night with fewer whole 30-s epochs than staging needs.
    public static let shortNight = Self("shortNight")
    /// Checkpoints that cannot form one ensemble, or a model path without checkpoints.
    public static let badEnsemble = Self("badEnsemble")
    /// An expert hypnogram none of whose epochs lines up with the night's.
    public static let unalignedHypnogram = Self("unalignedHypnogram")
}
