import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import Synthesis
import TestSupport

/// Compumedics Profusion XML (the annotations the AttnSleep paper's SHHS preparation
/// reads), the reference's rule for values above 5, and the choice of channel.
@Suite struct ProfusionAnnotationsTests {
    /// Tests/Fixtures/profusion: hand-written files (see the README there).
    static func fixture(_ name: String) throws -> URL { try TestFixtures.url("profusion/" + name) }

    static let samplesPerEpoch = 3750  // 30 s at 125 Hz

    /// A plain-EDF SHHS1-style PSG of `epochs` 30-s epochs at 125 Hz: "EEG(sec)" listed
    /// before "EEG", as in SHHS1 files. Epoch e of "EEG" holds e·100 + (sample mod 50) and
    /// of "EEG(sec)" −(e·100 + 1), so a test can tell which epoch and which signal it got.
    static func writePSG(id: String, epochs: Int, in directory: URL) throws {
        func signal(_ label: String, _ value: (Int, Int) -> Int32) -> EDFWriter.Signal {
            EDFWriter.Signal(
                header: EDFSignalHeader(label: label, physicalDimension: "uV", physicalMinimum: -32_768,
                                        physicalMaximum: 32_767, digitalMinimum: -32_768, digitalMaximum: 32_767,
                                        samplesPerRecord: samplesPerEpoch),
                digitalSamples: (0..<(epochs * samplesPerEpoch)).map { value($0 / samplesPerEpoch, $0 % samplesPerEpoch) })
        }
        let edf = EDFWriter(startTime: EDFDateTime(year: 1995, month: 1, day: 1, hour: 22, minute: 0, second: 0),
                            recordDuration: 30,
                            signals: [signal("EEG(sec)") { e, _ in Int32(-(e * 100 + 1)) },
                                      signal("EEG") { e, i in Int32(e * 100 + i % 50) }],
                            plus: false)
        try edf.write(to: directory.appendingPathComponent(id + ".edf"))
    }

    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("profusion-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The epoch of the PSG that a prepared epoch came from (see `writePSG`).
    static func sourceEpoch(_ x: ArraySlice<Float>) -> Int { Int(x.first!) / 100 }

    @Test func readsTheStagesOfTheHandWrittenFile() throws {
        let url = try Self.fixture("shhs1-200001-profusion.xml")
        let a = try ProfusionAnnotations(contentsOf: url)
        #expect(a.stages == [0, 0, 1, 2, 3, 4, 2, 5, 5, 0])
        #expect(a.valueAboveFive == nil)
        #expect(a.events.map(\.onset) == (0..<10).map { Double($0) * 30 })
        #expect(a.events.allSatisfy { $0.duration == 30 })
        // 0 W, 1 N1, 2 N2, 3 and 4 N3, 5 REM; nothing dropped.
        let stages = a.events.map { StageMapping.profusion.action(for: $0.text) }
        #expect(stages == [.stage(.wake), .stage(.wake), .stage(.n1), .stage(.n2), .stage(.n3), .stage(.n3),
                           .stage(.n2), .stage(.rem), .stage(.rem), .stage(.wake)])
        #expect(StageMapping.profusion.action(for: "6") == .ignore)

        let six = try ProfusionAnnotations(contentsOf: try Self.fixture("shhs1-200002-profusion.xml"))
        #expect(six.valueAboveFive?.epoch == 6 && six.valueAboveFive?.value == 6)
    }

    @Test func writtenXMLReadsBack() throws {
        let a = ProfusionAnnotations(stages: [0, 1, 2, 3, 4, 5, 9, 0])
        let b = try ProfusionAnnotations(xml: Data(a.xml().utf8), file: "x.xml")
        #expect(b == a)
        #expect(b.valueAboveFive?.epoch == 6 && b.valueAboveFive?.value == 9)
    }

    @Test(arguments: [
        ("<CMPStudyConfig><SleepStages><SleepStage>0</SleepStage>", SleepfoldError.Code.badXML, "line 1",
         "found malformed XML ("),
        ("<PSGAnnotation/>", .badAnnotation, "root element", "found no <CMPStudyConfig>, expected <CMPStudyConfig> with <SleepStages>"),
        ("<CMPStudyConfig><EpochLength>20</EpochLength><SleepStages><SleepStage>0</SleepStage></SleepStages></CMPStudyConfig>",
         .badAnnotation, "EpochLength", "found '20', expected 30 (seconds per <SleepStage>)"),
        ("<CMPStudyConfig><SleepStages><SleepStage>0</SleepStage><SleepStage>two</SleepStage></SleepStages></CMPStudyConfig>",
         .badAnnotation, "SleepStages.SleepStage[1]", "found 'two', expected an integer stage ≥ 0"),
        ("<CMPStudyConfig><SleepStages><SleepStage>-1</SleepStage></SleepStages></CMPStudyConfig>",
         .badAnnotation, "SleepStages.SleepStage[0]", "found '-1', expected an integer stage ≥ 0"),
        ("<CMPStudyConfig><SleepStages><SleepStage>2.5</SleepStage></SleepStages></CMPStudyConfig>",
         .badAnnotation, "SleepStages.SleepStage[0]", "found '2.5', expected an integer stage ≥ 0"),
        ("<CMPStudyConfig><SleepStages><SleepStage></SleepStage></SleepStages></CMPStudyConfig>",
         .badAnnotation, "SleepStages.SleepStage[0]", "found '', expected an integer stage ≥ 0"),
        ("<CMPStudyConfig><EpochLength>30</EpochLength></CMPStudyConfig>", .badAnnotation, "SleepStages",
         "found no <SleepStages> element"),
        ("<CMPStudyConfig><SleepStages/></CMPStudyConfig>", .badAnnotation, "SleepStages", "found no <SleepStage> in it"),
        ("<CMPStudyConfig><SleepStages><SleepStage>0</SleepStage></SleepStages><SleepStages><SleepStage>1</SleepStage></SleepStages></CMPStudyConfig>",
         .badAnnotation, "SleepStages", "found 2 <SleepStages> elements"),
    ] as [(String, SleepfoldError.Code, String, String)])
    func malformedFilesNameTheFileAndTheElement(xml: String, code: SleepfoldError.Code, field: String, message: String) {
        let error = expectError(code, file: "bad-profusion.xml", field: field) {
            _ = try ProfusionAnnotations(xml: Data(xml.utf8), file: "bad-profusion.xml")
        }
        #expect(error?.message.hasPrefix(message) == true, "\(String(describing: error))")
    }

    /// A stage list elsewhere than directly in the root is not the night's stages.
    @Test func onlyTheRootsSleepStagesCount() throws {
        let xml = "<CMPStudyConfig><Other><SleepStages><SleepStage>2</SleepStage></SleepStages></Other>"
            + "<SleepStages><SleepStage>0</SleepStage><SleepStage>5</SleepStage></SleepStages></CMPStudyConfig>"
        #expect(try ProfusionAnnotations(xml: Data(xml.utf8), file: "x.xml").stages == [0, 5])
    }

    /// A copy of the hand-written file cut anywhere inside its root is refused, naming the file.
    @Test func truncatedCopiesAreRefused() throws {
        let bytes = [UInt8](try Data(contentsOf: try Self.fixture("shhs1-200001-profusion.xml")))
        let text = String(decoding: bytes, as: UTF8.self)
        let rootStart = text.utf8.distance(from: text.startIndex, to: try #require(text.range(of: "<CMPStudyConfig>")).upperBound)
        for cut in rootStart..<(bytes.count - 1) {
            do {
                let parsed = try ProfusionAnnotations(xml: Data(bytes[0..<cut]), file: "cut.xml")
                Issue.record("a copy cut at byte \(cut) parsed: \(parsed.stages)")
            } catch let error as SleepfoldError {
                #expect(error.file == "cut.xml" && [.badXML, .truncated].contains(error.code), "cut at \(cut): \(error)")
            }
        }
    }

    /// EDF + hand-written Profusion XML: every epoch kept with its stage (4 → N3, 5 → REM),
    /// aligned to the signal; the night with a 6 skipped whole, with the reason in the report.
    @Test func preparesAHandWrittenNightAndSkipsTheOneWithAValueAboveFive() throws {
        let edfs = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: edfs) }
        try Self.writePSG(id: "shhs1-200001", epochs: 10, in: edfs)
        try Self.writePSG(id: "shhs1-200002", epochs: 10, in: edfs)
        let annotations = try Self.fixture("shhs1-200001-profusion.xml").deletingLastPathComponent()

        var outcomes: [NightOutcome] = []
        let report = try Preparation.prepareNSRR(
            edfDirectory: edfs, annotationDirectory: annotations,
            options: PrepareOptions(channel: "EEG", trimWakeMinutes: nil, sampleRate: 125)) { outcomes.append($0) }
        #expect(report.unpaired.isEmpty)
        #expect(outcomes.count == 2)
        guard case .prepared(let night) = outcomes[0] else {
            Issue.record("shhs1-200001 was not prepared: \(outcomes[0].summary)")
            return
        }
        let r = night.recording
        #expect(r.id == "shhs1-200001" && r.subject == "200001" && r.night == 1)
        #expect(r.labels == [0, 0, 1, 2, 3, 3, 2, 4, 4, 0])
        #expect(night.channel == "EEG" && r.samplesPerEpoch == 3750)
        #expect((0..<10).map { Self.sourceEpoch(r.x[($0 * 3750)..<(($0 + 1) * 3750)]) } == Array(0..<10))
        #expect(Array(r.x[3750..<3800]) == (0..<50).map { Float(100 + $0) })

        guard case .skipped(let summary) = outcomes[1] else {
            Issue.record("shhs1-200002 has a stage 6 and must be skipped")
            return
        }
        #expect(summary.id == "shhs1-200002" && summary.epochCount == 0)
        #expect(summary.skipReason == "stage value 6 (above 5: unscored or movement) at epoch 6 of "
                + "shhs1-200002-profusion.xml; the reference preparation leaves such nights out")
        #expect(report.table().contains("- skipped shhs1-200002: stage value 6"))
        #expect(report.table().contains("shhs1-200002 (skipped)"))
    }

    /// The reference keeps 30 min (60 epochs) of wake around sleep, counted in epochs;
    /// with 0 minutes only the sleep period remains, still aligned to the signal.
    @Test func wakeIsTrimmedAroundTheSleepPeriod() throws {
        let edfs = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: edfs) }
        try Self.writePSG(id: "shhs1-200001", epochs: 10, in: edfs)
        let files = NightFiles(id: "shhs1-200001", subject: "200001", night: 1, psg: edfs.appendingPathComponent("shhs1-200001.edf"),
                               hypnogram: try Self.fixture("shhs1-200001-profusion.xml"))
        guard case .prepared(let all) = try Preparation.prepareNight(files, options: PrepareOptions(channel: "EEG", sampleRate: 125)),
              case .prepared(let sleep) = try Preparation.prepareNight(
                files, options: PrepareOptions(channel: "EEG", trimWakeMinutes: 0, sampleRate: 125)) else {
            Issue.record("the night must be prepared")
            return
        }
        #expect(all.recording.epochCount == 10)  // 30 min of wake is more than the night has
        #expect(sleep.recording.labels == [1, 2, 3, 3, 2, 4, 4])
        #expect(sleep.summary.trimmedWakeEpochs == 3)
        #expect(sleep.epochOnsets == (2...8).map { Double($0) * 30 })
        #expect(Self.sourceEpoch(sleep.recording.x[0..<3750]) == 2)
    }

    /// The reference takes the first signal whose label contains "EEG": "EEG(sec)" in SHHS1.
    @Test func channelMatchFirstContainingPicksTheReferencesChannel() throws {
        let edfs = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: edfs) }
        try Self.writePSG(id: "shhs1-200001", epochs: 10, in: edfs)
        let files = NightFiles(id: "shhs1-200001", subject: "200001", night: 1, psg: edfs.appendingPathComponent("shhs1-200001.edf"),
                               hypnogram: try Self.fixture("shhs1-200001-profusion.xml"))
        func prepared(_ channel: String, _ match: ChannelMatch) throws -> PreparedNight? {
            let options = PrepareOptions(channel: channel, channelMatch: match, trimWakeMinutes: nil, sampleRate: 125)
            guard case .prepared(let night) = try Preparation.prepareNight(files, options: options) else { return nil }
            return night
        }
        let reference = try #require(try prepared("EEG", .firstContaining))
        #expect(reference.channel == "EEG(sec)" && reference.summary.channel == "EEG(sec)")
        #expect(reference.recording.x[0] == -1 && reference.recording.x[3750 * 9] == -901)
        let exact = try #require(try prepared("EEG", .exact))
        #expect(exact.channel == "EEG" && exact.recording.x[0] == 0)
        #expect(try prepared("(sec)", .firstContaining)?.channel == "EEG(sec)")
        let error = expectError(.missingChannel, file: "shhs1-200001.edf", field: "channel") {
            _ = try prepared("EOG", .firstContaining)
        }
        #expect(error?.message == "found no signal whose label contains 'EOG', expected one of 'EEG(sec)', 'EEG'")
        #expect(ChannelMatch.allCases.map(\.rawValue) == ["exact", "first-containing"])
    }

    /// `<id>-nsrr.xml` is taken when both kinds are there; `<id>-profusion.xml` otherwise.
    @Test func pairingPrefersNSRRXMLAndFallsBackToProfusion() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        for id in ["shhs1-200001", "shhs1-200002", "shhs1-200003"] { try Data().write(to: dir.appendingPathComponent(id + ".edf")) }
        try Data().write(to: dir.appendingPathComponent("shhs1-200001-nsrr.xml"))
        try Data().write(to: dir.appendingPathComponent("shhs1-200001-profusion.xml"))
        try Data().write(to: dir.appendingPathComponent("shhs1-200002-profusion.xml"))
        let (pairs, unpaired) = try NightFiles.nsrrPairs(edfDirectory: dir, annotationDirectory: dir)
        #expect(pairs.map(\.hypnogram.lastPathComponent) == ["shhs1-200001-nsrr.xml", "shhs1-200002-profusion.xml"])
        #expect(unpaired == ["shhs1-200003.edf: no shhs1-200003-nsrr.xml or shhs1-200003-profusion.xml in \(dir.path)"])
    }

    /// `SynthNSRR` with Profusion XML: every epoch of the synthetic night comes back with its
    /// label, x equal to the EDF's "EEG" signal.
    @Test func syntheticProfusionNightsPrepareToTheWrittenLabels() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recording = try SynthCohort.night(subject: 1, night: 1, options: SynthOptions(subjects: 2, nights: 1, hours: 0.5, seed: 5))
        let written = try SynthNSRR.write(recording, subject: 1, rate: 125, annotations: .profusion, to: dir)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("shhs1-200001-profusion.xml").path))
        let stages = try ProfusionAnnotations(contentsOf: dir.appendingPathComponent("shhs1-200001-profusion.xml")).stages
        #expect(stages.count == recording.labels.count)
        #expect(zip(stages, recording.labels).allSatisfy { ($0 == 4 ? 3 : $0 == 5 ? 4 : Int32($0)) == $1 })
        var nights: [PreparedNight] = []
        _ = try Preparation.prepareNSRR(edfDirectory: dir, annotationDirectory: dir,
                                        options: PrepareOptions(channel: "EEG", trimWakeMinutes: nil, sampleRate: 125)) {
            if case .prepared(let night) = $0 { nights.append(night) }
        }
        let night = try #require(nights.first)
        #expect(night.recording.labels == written.expectedLabels && written.expectedLabels == recording.labels)
        let edf = try EDFReader(url: dir.appendingPathComponent("shhs1-200001.edf"))
        let eeg: [Double] = try edf.physicalSamples(signal: edf.header.signals.firstIndex { $0.label == "EEG" }!)
        #expect(night.recording.x == eeg.map { Float($0) })
    }
}
