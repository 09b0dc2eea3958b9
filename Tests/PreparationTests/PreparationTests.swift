import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import TestSupport

private func psgURL() throws -> URL { try EDFFixtures.url("sleep-edf/SC4001E0-PSG-first300s.edf") }
private func hypnogramURL() throws -> URL { try EDFFixtures.url("sleep-edf/SC4001EC-Hypnogram.edf") }

private func sleepEDFNight() throws -> NightFiles {
    NightFiles(id: "SC4001E0", psg: try psgURL(), hypnogram: try hypnogramURL())
}

private func prepared(_ outcome: NightOutcome) throws -> PreparedNight {
    guard case .prepared(let night) = outcome else {
        Issue.record("night skipped: \(outcome.summary.skipReason ?? "")")
        throw SleepfoldError(.invalidValue, file: outcome.summary.id, field: "outcome", found: "skipped", expected: "prepared")
    }
    return night
}

@Test func sleepEDFPairWithoutTrimmingGivesTenWakeEpochsOfThePhysicalSignal() throws {
    let night = try prepared(Preparation.prepareNight(sleepEDFNight(), options: PrepareOptions(trimWakeMinutes: nil)))
    let r = night.recording
    #expect(r.id == "SC4001E0" && r.subject == "00" && r.night == 1)
    #expect(r.sampleRate == 100 && r.samplesPerEpoch == 3000)
    #expect(r.labels == Array(repeating: 0, count: 10))
    let physical: [Float] = try EDFReader(url: psgURL()).physicalSamples(signal: 0, as: Float.self)
    #expect(physical.count == 30_000)
    #expect(r.x == physical)
    #expect(night.channel == "EEG Fpz-Cz" && night.sourceSampleRate == 100)
    #expect(night.startTime == EDFDateTime(year: 1989, month: 4, day: 24, hour: 16, minute: 13, second: 0))
    #expect(night.epochOnsets == (0..<10).map { Double($0) * 30 })
    let s = night.summary
    #expect(s.epochsPerStage == [10, 0, 0, 0, 0])
    // The hypnogram scores 86,400 s = 2,880 epochs; all but the first 10 lie past the 300-s signal.
    #expect(s.epochsOutsideSignal == 2870)
    #expect(s.droppedEpochs.isEmpty && s.trimmedWakeEpochs == 0 && s.ignoredAnnotations.isEmpty)
    #expect(s.signalDuration == 300 && s.keptDuration == 300 && s.skipReason == nil)
}

@Test func sleepEDFPairWithDefaultTrimmingReportsTheNightWithoutSleep() throws {
    let outcome = try Preparation.prepareNight(sleepEDFNight())
    guard case .skipped(let summary) = outcome else {
        Issue.record("expected the night to be skipped")
        return
    }
    #expect(summary.id == "SC4001E0")
    #expect(summary.skipReason?.contains("no sleep epoch") == true)
    #expect(summary.epochCount == 0)
}

@Test func otherChannelsAndRatesAreResampled() throws {
    let options = PrepareOptions(channel: "EEG Pz-Oz", trimWakeMinutes: nil, sampleRate: 128)
    let night = try prepared(Preparation.prepareNight(sleepEDFNight(), options: options))
    let physical: [Double] = try EDFReader(url: psgURL()).physicalSamples(signal: 1)
    let resampled = try PolyphaseResampler(from: 100, to: 128).resample(physical)
    #expect(night.recording.samplesPerEpoch == 3840 && night.recording.sampleRate == 128)
    #expect(night.recording.x == resampled.map { Float($0) })
    #expect(night.sourceSampleRate == 100 && night.channel == "EEG Pz-Oz")
}

@Test func aMissingOrAmbiguousChannelIsAnErrorListingTheLabels() throws {
    let error = try #require(throws: SleepfoldError.self) {
        try Preparation.prepareNight(sleepEDFNight(), options: PrepareOptions(channel: "EEG C3-A2"))
    }
    #expect(error.code == .missingChannel && error.file == "SC4001E0-PSG-first300s.edf" && error.field == "channel")
    #expect(error.description.hasPrefix("SC4001E0-PSG-first300s.edf: channel: found no signal labelled 'EEG C3-A2', expected one of "))
    #expect(error.description.contains("'EEG Fpz-Cz', 'EEG Pz-Oz', 'EOG horizontal', 'Resp oro-nasal', 'EMG submental', 'Temp rectal', 'Event marker'"))

    let duplicate = NightFiles(id: "dup", psg: try EDFFixtures.url("samples/duplicate_channel_labels.edf"),
                               hypnogram: try hypnogramURL())
    let ambiguous = try #require(throws: SleepfoldError.self) {
        try Preparation.prepareNight(duplicate, options: PrepareOptions(channel: "EEG F1-Ref"))
    }
    #expect(ambiguous.code == .ambiguousChannel && ambiguous.field == "channel")
    #expect(ambiguous.message.hasPrefix("found 2 signals labelled 'EEG F1-Ref' (signals 1, 3), expected "), "\(ambiguous)")
    let trim = expectError(.invalidValue, field: "--trim-wake") {
        _ = try Preparation.prepareNight(sleepEDFNight(), options: PrepareOptions(trimWakeMinutes: -1))
    }
    #expect(trim?.file == nil && trim?.message == "found -1, expected minutes ≥ 0, or none")
    let rate = expectError(.invalidValue, field: "--rate") {
        _ = try Preparation.prepareNight(sleepEDFNight(), options: PrepareOptions(sampleRate: 100.01))
    }
    #expect(rate?.message.hasPrefix("found 100.01 Hz, expected ") == true)
}

// MARK: - A synthetic night written with EDFWriter

/// PSG start; the hypnogram starts one minute earlier, so its onsets are 60 s later.
private let psgStart = EDFDateTime(year: 2020, month: 12, day: 31, hour: 23, minute: 59, second: 30)
private let hypnogramStart = EDFDateTime(year: 2020, month: 12, day: 31, hour: 23, minute: 58, second: 30)
private let signalEpochs = 35

/// Hypnogram in PSG epochs (30 s): text, first epoch, epoch count.
private let script: [(String, Int, Int)] = [
    ("Sleep stage W", -2, 12),     // 2 epochs before the PSG starts
    ("Sleep stage 1", 10, 2),
    ("Movement time", 12, 1),
    ("Sleep stage 2", 13, 3),
    ("Sleep stage ?", 16, 1),
    ("Sleep stage 3", 17, 1),
    ("Sleep stage 4", 18, 1),
    ("Sleep stage R", 19, 2),
    ("Sleep stage W", 21, 19),     // runs 5 epochs past the end of the signal
]

/// Writes the synthetic pair into `directory` and returns its files. The EEG's value is
/// the second it was recorded at minus 1000, so each epoch shows where it came from.
private func writeSyntheticNight(in directory: URL, id: String = "SC4123E0", scorer: Character = "J") throws -> NightFiles {
    let seconds = signalEpochs * 30
    let eeg = EDFWriter.Signal(
        header: EDFSignalHeader(label: "EEG Fpz-Cz", physicalDimension: "uV", physicalMinimum: -32768,
                                physicalMaximum: 32767, digitalMinimum: -32768, digitalMaximum: 32767,
                                samplesPerRecord: 100),
        digitalSamples: (0..<(seconds * 100)).map { Int32($0 / 100 - 1000) })
    let emg = EDFWriter.Signal(
        header: EDFSignalHeader(label: "EMG submental", physicalMinimum: -5, physicalMaximum: 5,
                                digitalMinimum: -2500, digitalMaximum: 2500, samplesPerRecord: 1),
        digitalSamples: Array(repeating: 7, count: seconds))
    let psg = EDFWriter(startTime: psgStart, recordDuration: 1, signals: [eeg, emg],
                        annotations: [EDFAnnotation(onset: 5, duration: nil, text: "Lights off")])
    var annotations = script.map { text, first, count in
        EDFAnnotation(onset: Double(first * 30 + 60), duration: Double(count * 30), text: text)
    }
    annotations.insert(EDFAnnotation(onset: 560, duration: nil, text: "Lights on"), at: 5)
    let hypnogram = EDFWriter(startTime: hypnogramStart, recordDuration: 0, signals: [], annotations: annotations)
    let hypnogramID = String(id.dropLast()) + String(scorer)
    let files = NightFiles(id: id, psg: directory.appendingPathComponent("\(id)-PSG.edf"),
                           hypnogram: directory.appendingPathComponent("\(hypnogramID)-Hypnogram.edf"))
    try psg.write(to: files.psg)
    try hypnogram.write(to: files.hypnogram)
    return files
}

private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("sleepfold-prepare-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Epochs of the synthetic night that carry a stage and lie inside the signal, in order.
private let scoredEpochs = Array(0..<12) + [13, 14, 15, 17, 18, 19, 20] + Array(21..<35)

@Test func syntheticNightKeepsStagesDropsMovementAndUnknownAndTrimsWake() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let files = try writeSyntheticNight(in: directory)
    let eeg: [Float] = try EDFReader(url: files.psg).physicalSamples(signal: 0, as: Float.self)

    // No trimming: every scored epoch inside the signal.
    let all = try prepared(Preparation.prepareNight(files, options: PrepareOptions(trimWakeMinutes: nil)))
    #expect(all.recording.labels == [Int32](repeating: 0, count: 10) + [1, 1, 2, 2, 2, 3, 3, 4, 4]
        + [Int32](repeating: 0, count: 14))
    #expect(all.epochOnsets == scoredEpochs.map { Double($0 * 30) })
    for (k, epoch) in scoredEpochs.enumerated() {
        #expect(Array(all.recording.x[(k * 3000)..<((k + 1) * 3000)]) == Array(eeg[(epoch * 3000)..<((epoch + 1) * 3000)]))
        #expect(all.recording.x[k * 3000] == Float(epoch * 30 - 1000))
    }
    #expect(all.summary.epochsPerStage == [24, 2, 3, 2, 2])
    #expect(all.summary.droppedEpochs == ["Movement time": 1, "Sleep stage ?": 1])
    #expect(all.summary.epochsOutsideSignal == 2 + 5)
    #expect(all.summary.ignoredAnnotations == ["Lights on": 1])
    #expect(all.summary.trimmedWakeEpochs == 0 && all.summary.overlappingEpochs == 0)
    #expect(all.recording.subject == "12" && all.recording.night == 3)

    // Two minutes of wake = 4 kept epochs on each side of the sleep (kept indices 10…18).
    let trimmed = try prepared(Preparation.prepareNight(files, options: PrepareOptions(trimWakeMinutes: 2)))
    let kept = Array(scoredEpochs[6...22])
    #expect(kept == [6, 7, 8, 9, 10, 11, 13, 14, 15, 17, 18, 19, 20, 21, 22, 23, 24])
    #expect(trimmed.recording.labels == [0, 0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 0, 0, 0, 0])
    #expect(trimmed.epochOnsets == kept.map { Double($0 * 30) })
    #expect(trimmed.recording.x == kept.flatMap { eeg[($0 * 3000)..<(($0 + 1) * 3000)] })
    #expect(trimmed.summary.trimmedWakeEpochs == 6 + 10)
    #expect(trimmed.summary.epochsPerStage == [8, 2, 3, 2, 2])

    // The default 30 minutes reach past both ends of this short night: nothing trimmed.
    let defaultTrim = try prepared(Preparation.prepareNight(files))
    #expect(defaultTrim.recording.labels == all.recording.labels)
}

@Test func aDirectoryIsPreparedPairByPairWithASummaryTable() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    _ = try writeSyntheticNight(in: directory)
    _ = try writeSyntheticNight(in: directory, id: "SC4124E0", scorer: "C")
    try FileManager.default.copyItem(at: psgURL(), to: directory.appendingPathComponent("SC4001E0-PSG.edf"))
    try FileManager.default.copyItem(at: hypnogramURL(), to: directory.appendingPathComponent("SC4001EC-Hypnogram.edf"))
    try FileManager.default.copyItem(at: psgURL(), to: directory.appendingPathComponent("SC4002E0-PSG.edf"))
    try FileManager.default.copyItem(at: hypnogramURL(), to: directory.appendingPathComponent("SC4031EC-Hypnogram.edf"))

    var prepared: [String] = []
    let report = try Preparation.prepareDirectory(directory, options: PrepareOptions(trimWakeMinutes: 2)) { outcome in
        if case .prepared(let night) = outcome { prepared.append(night.recording.id) }
    }
    #expect(prepared == ["SC4123E0", "SC4124E0"])
    #expect(report.nights.map(\.id) == ["SC4001E0", "SC4123E0", "SC4124E0"])
    #expect(report.nights[0].skipReason?.contains("no sleep epoch") == true)
    #expect(report.unpaired == ["SC4002E0-PSG.edf: no hypnogram SC4002E?-Hypnogram.edf",
                                "SC4031EC-Hypnogram.edf: no PSG SC4031E?-PSG.edf"])
    let table = report.table()
    #expect(table.contains("| SC4123E0 | 17 | 8 | 2 | 3 | 2 | 2 | 2 | 7 | 16 | 0.3 | 0.1 |"))
    #expect(table.contains("| total | 34 | 16 | 4 | 6 | 4 | 4 | 4 | 2884 | 32 | 0.7 | 0.3 |"))
    #expect(table.contains("- skipped SC4001E0: no sleep epoch"))
    #expect(table.contains("- unpaired SC4002E0-PSG.edf"))

    let empty = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: empty) }
    let none = expectError(.noRecordings, file: empty.path) { _ = try Preparation.prepareDirectory(empty) { _ in } }
    #expect(none?.message == "found no *-PSG.edf file, expected pairs SC4ssNE0-PSG.edf + SC4ssNE?-Hypnogram.edf")
    let missing = empty.appendingPathComponent("absent")
    expectError(.fileNotFound, file: missing.path) { _ = try Preparation.prepareDirectory(missing) { _ in } }
}

@Test func epochPlanHandlesMissingDurationsPartialEpochsAndOverlaps() {
    let plan = Preparation.epochPlan(
        annotations: [
            EDFAnnotation(onset: 0, duration: nil, text: "Sleep stage 2"),    // one epoch
            EDFAnnotation(onset: 30, duration: 75, text: "Sleep stage 3"),    // two epochs + 15 s
            EDFAnnotation(onset: 60, duration: 30, text: "Sleep stage R"),    // overlaps the 3 at 60 s
            EDFAnnotation(onset: 1e300, duration: 1e300, text: "Sleep stage W"),  // absurd: outside
        ],
        signalCount: 10 * 3000, sampleRate: 100, mapping: .sleepEDF, trimWakeMinutes: 30)
    #expect(plan.starts == [0, 3000, 6000])
    #expect(plan.stages == [.n2, .n3, .n3])
    #expect(plan.partialEpochAnnotations == 1)
    #expect(plan.overlappingEpochs == 1)
    #expect(plan.epochsOutsideSignal == 1_000_000_000)
    #expect(plan.hasSleep)
}

@Test func aPSGWithGapsBetweenRecordsIsRejected() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let files = NightFiles(id: "SC4555E0", psg: directory.appendingPathComponent("SC4555E0-PSG.edf"),
                           hypnogram: directory.appendingPathComponent("SC4555EC-Hypnogram.edf"))
    try Data(patchedPlusFile(reserved: "EDF+D", lastRecordOnset: "+9")).write(to: files.psg)
    try EDFWriter(startTime: EDFDateTime(year: 2001, month: 2, day: 3, hour: 4, minute: 5, second: 6), recordDuration: 0,
                  signals: [], annotations: [EDFAnnotation(onset: 0, duration: 30, text: "Sleep stage W")])
        .write(to: files.hypnogram)
    let error = expectError(.discontinuousRecording, file: "SC4555E0-PSG.edf", field: "record 3 onset") {
        _ = try Preparation.prepareNight(files, options: PrepareOptions(channel: "EEG", sampleRate: 10))
    }
    #expect(error?.message == "found 9.0 s (a gap in an EDF+D file), expected 3.0 s: contiguous records")
}
