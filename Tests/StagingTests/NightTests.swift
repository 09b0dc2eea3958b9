import Foundation
import Testing
import Basics
import Recordings
import EDF
import Cohorts
import Preparation
import Staging
import TestSupport

/// Reading an unscored night: channel, rate, 30-s epochs from the first sample.
@Suite struct NightTests {
    static let start = EDFDateTime(year: 2026, month: 12, day: 4, hour: 23, minute: 1, second: 2)

    /// A night of `seconds` s at `rate` Hz: "EEG Fpz-Cz" (a 10-Hz sine plus a slow ramp, in µV)
    /// after an "EOG" signal, in 1-s records, written as EDF+C, plain EDF or BDF.
    static func write(seconds: Int, rate: Int, format: EDFSampleFormat = .edf, plus: Bool = true,
                      to url: URL) throws -> [Double] {
        let eeg = (0..<(seconds * rate)).map { i -> Double in
            let t = Double(i) / Double(rate)
            return 40 * sin(2 * .pi * 10 * t) + 20 * sin(2 * .pi * t / 7)
        }
        func signal(_ label: String, _ values: [Double]) throws -> EDFWriter.Signal {
            try EDFWriter.Signal(header: EDFSignalHeader(label: label, physicalDimension: "uV", physicalMinimum: -100,
                                                         physicalMaximum: 100, digitalMinimum: format.digitalLowerBound,
                                                         digitalMaximum: format.digitalUpperBound, samplesPerRecord: rate),
                                 physicalSamples: values)
        }
        try EDFWriter(startTime: start, recordDuration: 1,
                      signals: [try signal("EOG horizontal", eeg.map { -$0 }), try signal("EEG Fpz-Cz", eeg)],
                      sampleFormat: format, plus: plus).write(to: url)
        // What the reader gives back: the digital values scaled to physical units.
        return try EDFReader(url: url).physicalSamples(signal: 1)
    }

    static func temporary(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("staging-\(UUID().uuidString)-\(name)")
    }

    @Test(arguments: [(100, EDFSampleFormat.edf, true), (256, .edf, true), (128, .bdf, false), (200, .bdf, true)])
    func epochsAtTheModelsRateFromTheFirstSample(rate: Int, format: EDFSampleFormat, plus: Bool) throws {
        let url = Self.temporary(format == .bdf ? "night.bdf" : "night.edf")
        defer { try? FileManager.default.removeItem(at: url) }
        // 5 epochs and 12 s: the partial last epoch is dropped.
        let physical = try Self.write(seconds: 162, rate: rate, format: format, plus: plus, to: url)
        let night = try Night.edf(url, channel: "EEG Fpz-Cz", samplesPerEpoch: 3000)
        #expect(night.epochCount == 5)
        #expect(night.channel == "EEG Fpz-Cz")
        #expect(night.sourceRate == Double(rate))
        #expect(night.recording.sampleRate == 100)
        #expect(abs(night.droppedSeconds - 12) < 1e-9)
        #expect(night.startTime == Self.start)
        #expect(night.onsets == [0, 30, 60, 90, 120])
        #expect(night.expert == nil)
        // The preparation's resampler (scipy's resample_poly), then the first 5 · 3000 samples.
        let expected = rate == 100 ? physical : try PolyphaseResampler(from: Double(rate), to: 100).resample(physical)
        #expect(night.recording.x == expected.prefix(15_000).map { Float($0) })
    }

    @Test func theChannelIsMatchedAsPrepareMatchesIt() throws {
        let url = Self.temporary("night.edf")
        defer { try? FileManager.default.removeItem(at: url) }
        _ = try Self.write(seconds: 60, rate: 100, to: url)
        let contained = try Night.edf(url, channel: "Fpz", match: .firstContaining, samplesPerEpoch: 3000)
        #expect(contained.channel == "EEG Fpz-Cz")
        let error = #expect(throws: SleepfoldError.self) { try Night.edf(url, channel: "EEG C4-A1", samplesPerEpoch: 3000) }
        #expect(error?.code == .missingChannel)
        #expect(error?.description.contains("'EOG horizontal', 'EEG Fpz-Cz'") == true)
    }

    @Test func aNightShorterThanTwoEpochsIsRefused() throws {
        let url = Self.temporary("short.edf")
        defer { try? FileManager.default.removeItem(at: url) }
        _ = try Self.write(seconds: 59, rate: 100, to: url)
        let error = #expect(throws: SleepfoldError.self) { try Night.edf(url, channel: "EEG Fpz-Cz", samplesPerEpoch: 3000) }
        #expect(error?.code == .shortNight)
        #expect(error?.description.contains("59.0 s of signal (1 whole 30-s epochs)") == true)
        // Two whole epochs are enough.
        _ = try Self.write(seconds: 60, rate: 100, to: url)
        #expect(try Night.edf(url, channel: "EEG Fpz-Cz", samplesPerEpoch: 3000).epochCount == 2)
    }

    @Test func anExpertHypnogramIsPlacedByTheStartTimes() throws {
        let url = Self.temporary("night.edf"), hypnogramURL = Self.temporary("hypnogram.edf")
        defer {
            try? FileManager.default.removeItem(at: url)
            try? FileManager.default.removeItem(at: hypnogramURL)
        }
        _ = try Self.write(seconds: 150, rate: 100, to: url)
        let night = try Night.edf(url, channel: "EEG Fpz-Cz", samplesPerEpoch: 3000)
        // Scoring starts 30 s after the recording: epoch 0 unscored, then W N2 REM N3 (the last past the signal).
        var later = Self.start
        later.second += 30
        try EDFWriter.hypnogram([.wake, .n2, .rem, .n3, .n3], startTime: later).write(to: hypnogramURL)
        #expect(try ExpertHypnogram.stages(of: hypnogramURL, for: night) == [nil, .wake, .n2, .rem, .n3])

        // Off the 30-s grid (15 s late): no epoch lines up.
        var off = Self.start
        off.second += 15
        try EDFWriter.hypnogram([.wake, .n2], startTime: off).write(to: hypnogramURL)
        let error = #expect(throws: SleepfoldError.self) { try ExpertHypnogram.stages(of: hypnogramURL, for: night) }
        #expect(error?.code == .unalignedHypnogram)
    }

    @Test func anNPZNightWithAndWithoutLabels() throws {
        let directory = Self.temporary("npz")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let x = (0..<(3 * 3000)).map { Float($0 % 97) - 48 }

        // With y: the expert's stages.
        let labelled = directory.appendingPathComponent("labelled.npz")
        try Recording(id: "labelled", subject: "1", night: 1, sampleRate: 100, samplesPerEpoch: 3000, x: x, labels: [0, 2, 4])
            .write(to: labelled)
        let night = try Night.npz(labelled, samplesPerEpoch: 3000)
        #expect(night.expert == [.wake, .n2, .rem])
        #expect(night.recording.x == x && night.startTime == nil && night.droppedSeconds == 0)

        // Without y, x shaped (n, S, 1): no expert.
        let unlabelled = directory.appendingPathComponent("unlabelled.npz")
        try NPZArchive.write([("x", NPYArray(x, shape: [3, 3000, 1])), ("fs", NPYArray(scalar: Int64(100)))], to: unlabelled)
        let plain = try Night.npz(unlabelled, samplesPerEpoch: 3000)
        #expect(plain.expert == nil && plain.epochCount == 3 && plain.recording.x == x)

        // Another epoch length than the model's, and a single epoch, are refused.
        let other = #expect(throws: SleepfoldError.self) { try Night.npz(unlabelled, samplesPerEpoch: 3750) }
        #expect(other?.description.contains("3000 samples per epoch") == true)
        let one = directory.appendingPathComponent("one.npz")
        try NPZArchive.write([("x", NPYArray(Array(x.prefix(3000)), shape: [1, 3000])), ("fs", NPYArray(scalar: Int64(100)))], to: one)
        let short = #expect(throws: SleepfoldError.self) { try Night.npz(one, samplesPerEpoch: 3000) }
        #expect(short?.code == .shortNight)
    }

    /// The first 300 s of PhysioNet's SC4001E0 with its expert hypnogram: the night and the
    /// expert's stages are those `prepare` makes of the same pair (no wake trimming).
    @Test func aSleepEDFExcerptIsReadAsPrepareReadsIt() throws {
        let psg = try EDFFixtures.url("sleep-edf/SC4001E0-PSG-first300s.edf")
        let hypnogram = try EDFFixtures.url("sleep-edf/SC4001EC-Hypnogram.edf")
        let night = try Night.edf(psg, channel: "EEG Fpz-Cz", samplesPerEpoch: 3000)
        #expect(night.epochCount == 10 && night.droppedSeconds == 0 && night.sourceRate == 100)
        let expert = try ExpertHypnogram.stages(of: hypnogram, for: night)

        let outcome = try Preparation.prepareNight(NightFiles(id: "SC4001E0", psg: psg, hypnogram: hypnogram),
                                                   options: PrepareOptions(trimWakeMinutes: nil))
        guard case .prepared(let prepared) = outcome else {
            Issue.record("prepare skipped the excerpt: \(outcome.summary)")
            return
        }
        #expect(prepared.epochOnsets == night.onsets)
        #expect(prepared.recording.x == night.recording.x)
        #expect(expert == prepared.recording.labels.map { Stage(rawValue: $0) })
    }

    @Test func nsrrAndProfusionHypnogramsCountFromTheRecordingStart() throws {
        let url = Self.temporary("night.edf")
        let nsrr = Self.temporary("night-nsrr.xml"), profusion = Self.temporary("night-profusion.xml")
        defer { for u in [url, nsrr, profusion] { try? FileManager.default.removeItem(at: u) } }
        _ = try Self.write(seconds: 150, rate: 100, to: url)
        let night = try Night.edf(url, channel: "EEG Fpz-Cz", samplesPerEpoch: 3000)

        // NSRR: W for 60 s, a movement epoch, REM for 60 s (the last 30 s past the signal).
        let events = [EDFAnnotation(onset: 0, duration: 60, text: "Wake|0"),
                      EDFAnnotation(onset: 60, duration: 30, text: "Movement|6"),
                      EDFAnnotation(onset: 90, duration: 60, text: "REM sleep|5"),
                      EDFAnnotation(onset: 40, duration: 5, text: "Arousal ()|Arousal ()")]
        let types = ["Stages|Stages", "Stages|Stages", "Stages|Stages", "Arousals|Arousals"]
        try Data(NSRRAnnotations(epochLength: 30, events: events, eventTypes: types).xml().utf8).write(to: nsrr)
        #expect(try ExpertHypnogram.stages(of: nsrr, for: night) == [.wake, .wake, nil, .rem, .rem])

        // Profusion: one value per epoch, 4 = R&K stage 4 (N3).
        try Data(ProfusionAnnotations(stages: [0, 1, 2, 4, 5]).xml().utf8).write(to: profusion)
        #expect(try ExpertHypnogram.stages(of: profusion, for: night) == [.wake, .n1, .n2, .n3, .rem])
    }
}
