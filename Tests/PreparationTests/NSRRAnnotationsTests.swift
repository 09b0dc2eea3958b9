import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import Synthesis
import TestSupport

/// NSRR XML annotations (SHHS) and the preparation of EDF + XML pairs.
@Suite struct NSRRAnnotationsTests {
    /// The layout of a real shhs1-*-nsrr.xml, shortened: a start-time entry, stage
    /// events, a respiratory event and an arousal, in NSRR's own formatting.
    static let sample = """
    <?xml version="1.0" encoding="UTF-8" standalone="no"?>
    <PSGAnnotation>
    <SoftwareVersion>Compumedics</SoftwareVersion>
    <EpochLength>30</EpochLength>
    <ScoredEvents>
    <ScoredEvent>
    <EventType/>
    <EventConcept>Recording Start Time</EventConcept>
    <Start>0</Start>
    <Duration>32430.0</Duration>
    <ClockTime>00.00.00 23.00.00</ClockTime>
    </ScoredEvent>
    <ScoredEvent>
    <EventType>Stages|Stages</EventType>
    <EventConcept>Wake|0</EventConcept>
    <Start>0.0</Start>
    <Duration>60.0</Duration>
    </ScoredEvent>
    <ScoredEvent>
    <EventType>Respiratory|Respiratory</EventType>
    <EventConcept>SpO2 desaturation|SpO2 desaturation</EventConcept>
    <Start>45.3</Start>
    <Duration>12.0</Duration>
    <SignalLocation>SaO2</SignalLocation>
    <SpO2Nadir>89.0</SpO2Nadir>
    <SpO2Baseline>93.0</SpO2Baseline>
    </ScoredEvent>
    <ScoredEvent>
    <EventType>Stages|Stages</EventType>
    <EventConcept>Stage 4 sleep|4</EventConcept>
    <Start>60.0</Start>
    <Duration>30.0</Duration>
    </ScoredEvent>
    <ScoredEvent>
    <EventType>Arousals|Arousals</EventType>
    <EventConcept>Arousal ()|Arousal ()</EventConcept>
    <Start>75.5</Start>
    <Duration>5.0</Duration>
    </ScoredEvent>
    <ScoredEvent>
    <EventType>Stages|Stages</EventType>
    <EventConcept>REM sleep|5</EventConcept>
    <Start>90.0</Start>
    <Duration>90.0</Duration>
    </ScoredEvent>
    </ScoredEvents>
    </PSGAnnotation>
    """

    @Test func readsStageAndOtherEventsInFileOrder() throws {
        let a = try NSRRAnnotations(xml: Data(Self.sample.utf8), file: "shhs1-200001-nsrr.xml")
        #expect(a.epochLength == 30)
        #expect(a.events.map(\.text) == ["Wake|0", "SpO2 desaturation|SpO2 desaturation", "Stage 4 sleep|4",
                                         "Arousal ()|Arousal ()", "REM sleep|5"])
        #expect(a.stageEvents == [EDFAnnotation(onset: 0, duration: 60, text: "Wake|0"),
                                  EDFAnnotation(onset: 60, duration: 30, text: "Stage 4 sleep|4"),
                                  EDFAnnotation(onset: 90, duration: 90, text: "REM sleep|5")])
        #expect(a.events[1].onset == 45.3 && a.events[1].duration == 12)
        #expect(StageMapping.nsrr.action(for: "Stage 4 sleep|4") == .stage(.n3))
        #expect(StageMapping.nsrr.action(for: "Unscored|9") == .drop)
        #expect(StageMapping.nsrr.action(for: "Arousal ()|Arousal ()") == .ignore)
    }

    @Test func writtenXMLReadsBack() throws {
        let events = [EDFAnnotation(onset: 0, duration: 90, text: "Stage 2 sleep|2"),
                      EDFAnnotation(onset: 12.25, duration: 3.5, text: "Arousal <spontaneous> & co")]
        let a = NSRRAnnotations(epochLength: 30, events: events, eventTypes: ["Stages|Stages", "Arousals|Arousals"])
        #expect(try NSRRAnnotations(xml: Data(a.xml().utf8), file: "x.xml") == a)
    }

    @Test(arguments: [
        ("<PSGAnnotation><ScoredEvents><ScoredEvent>", SleepfoldError.Code.badXML, "line 1", "found malformed XML ("),
        ("<Other/>", .badAnnotation, "root element", "found no <PSGAnnotation>, expected <PSGAnnotation> with <ScoredEvents>"),
        ("<PSGAnnotation><EpochLength>thirty</EpochLength></PSGAnnotation>", .badAnnotation, "EpochLength",
         "found 'thirty', expected a number of seconds"),
        ("<PSGAnnotation><EpochLength>0</EpochLength></PSGAnnotation>", .badAnnotation, "EpochLength",
         "found 0.0, expected a positive number of seconds"),
        ("<PSGAnnotation><ScoredEvents><ScoredEvent><EventConcept>Wake|0</EventConcept><Start>ten</Start></ScoredEvent></ScoredEvents></PSGAnnotation>",
         .badAnnotation, "ScoredEvent[0].Start", "found 'ten', expected seconds from the start of the recording (a number ≥ 0)"),
        ("<PSGAnnotation><ScoredEvents><ScoredEvent><EventConcept>Wake|0</EventConcept><Duration>30</Duration></ScoredEvent></ScoredEvents></PSGAnnotation>",
         .badAnnotation, "ScoredEvent[0].Start", "found nothing, expected seconds from the start of the recording (a number ≥ 0)"),
        ("<PSGAnnotation><ScoredEvents><ScoredEvent><EventConcept>Wake|0</EventConcept><Start>0</Start><Duration>-30</Duration></ScoredEvent></ScoredEvents></PSGAnnotation>",
         .badAnnotation, "ScoredEvent[0].Duration", "found '-30', expected a number of seconds ≥ 0"),
    ] as [(String, SleepfoldError.Code, String, String)])
    func malformedFilesNameTheFileAndTheElement(xml: String, code: SleepfoldError.Code, field: String, message: String) {
        let error = expectError(code, file: "bad-nsrr.xml", field: field) {
            _ = try NSRRAnnotations(xml: Data(xml.utf8), file: "bad-nsrr.xml")
        }
        #expect(error?.message.hasPrefix(message) == true, "\(String(describing: error))")
    }

    /// A copy cut anywhere before the end of its root element is not a complete NSRR
    /// file: it is refused, never half read (events are only taken once the whole
    /// document parsed, so no prefix of them leaks out). From the root's start tag on,
    /// the cut is malformed XML (`.badXML`, naming the file and line); before it, XML
    /// parsers may see a document not yet begun, which has no root element
    /// (`.badAnnotation` at "root element"). A cut after the root reads the whole file.
    @Test func truncatedCopiesAreRefusedNamingTheFileAndLine() throws {
        let bytes = Array(Self.sample.utf8)
        let full = try NSRRAnnotations(xml: Data(bytes), file: "full.xml")
        #expect(full.events.count == 5)  // six ScoredEvents, one of them the recording start time
        func offset(after text: String) throws -> Int {
            let range = try #require(Self.sample.range(of: text))
            return Self.sample.utf8.distance(from: Self.sample.startIndex, to: range.upperBound)
        }
        let rootStart = try offset(after: "<PSGAnnotation>"), rootEnd = try offset(after: "</PSGAnnotation>")
        #expect(rootEnd == bytes.count)
        var malformed = 0
        for cut in 0..<bytes.count {
            do {
                let parsed = try NSRRAnnotations(xml: Data(bytes[0..<cut]), file: "cut.xml")
                Issue.record("a copy cut at byte \(cut) of \(bytes.count) parsed: \(parsed.events.count) events")
            } catch let error as SleepfoldError {
                #expect(error.file == "cut.xml", "cut at \(cut): \(error)")
                if error.code == .badXML {
                    malformed += 1
                    #expect(error.field?.hasPrefix("line ") == true, "cut at \(cut): \(error)")
                    #expect(error.message.hasPrefix("found malformed XML ("), "cut at \(cut): \(error)")
                } else {
                    #expect(cut < rootStart && error.code == .badAnnotation && error.field == "root element",
                            "cut at \(cut): \(error)")
                }
            }
        }
        #expect(malformed >= bytes.count - rootStart)
    }

    /// A synthetic SHHS-style night (EDF with EEG at 125 Hz + NSRR XML with stage 4, a
    /// movement epoch, an arousal and unscored time past the end) prepares to exactly the
    /// labels written, with x equal to the EDF's physical "EEG" signal.
    @Test func syntheticSHHSNightsPrepareToTheWrittenLabels() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nsrr-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let options = SynthOptions(subjects: 2, nights: 1, hours: 0.5, seed: 3)
        var written: [String: SynthNSRR.Night] = [:]
        for s in 0..<2 {
            let night = try SynthNSRR.write(try SynthCohort.night(subject: s, night: 1, options: options),
                                            subject: s, rate: 125, to: dir)
            written[night.id] = night
        }
        try Data("not a pair".utf8).write(to: dir.appendingPathComponent("shhs1-299999.edf"))

        var prepared: [PreparedNight] = []
        let report = try Preparation.prepareNSRR(
            edfDirectory: dir, annotationDirectory: dir,
            options: PrepareOptions(channel: "EEG", trimWakeMinutes: nil, sampleRate: 125)) { outcome in
            if case .prepared(let night) = outcome { prepared.append(night) }
        }
        #expect(report.unpaired.count == 1 && report.unpaired[0].contains("shhs1-299999.edf"))
        #expect(prepared.map(\.recording.id) == ["shhs1-200000", "shhs1-200001"])
        for night in prepared {
            let r = night.recording
            #expect(r.subject == String(r.id.dropFirst(6)) && r.night == 1)
            #expect(r.samplesPerEpoch == 3750 && r.sampleRate == 125 && night.sourceSampleRate == 125)
            #expect(r.labels == written[r.id]!.expectedLabels)
            #expect(r.labels.count == 59)  // 60 epochs, the movement epoch dropped
            #expect(night.summary.epochsOutsideSignal == 3)  // "Unscored|9" past the end
            // x is the EDF's EEG (physical values), epoch by epoch, with the movement epoch cut out.
            let edf = try EDFReader(url: dir.appendingPathComponent("\(r.id).edf"))
            let eeg: [Double] = try edf.physicalSamples(signal: edf.header.signals.firstIndex { $0.label == "EEG" }!)
            let kept = (0..<60).filter { $0 != 30 }
            for (e, source) in kept.enumerated() where e % 7 == 0 {
                #expect(Array(r.x[(e * 3750)..<((e + 1) * 3750)]) == eeg[(source * 3750)..<((source + 1) * 3750)].map { Float($0) })
            }
        }

        // Resampled to 100 Hz for the Sleep-EDF model; the channel can be the other derivation.
        var resampled: [PreparedNight] = []
        _ = try Preparation.prepareNSRR(edfDirectory: dir, annotationDirectory: dir,
                                        options: PrepareOptions(channel: "EEG(sec)", trimWakeMinutes: nil, sampleRate: 100)) {
            if case .prepared(let night) = $0 { resampled.append(night) }
        }
        #expect(resampled.allSatisfy { $0.recording.samplesPerEpoch == 3000 && $0.channel == "EEG(sec)" })
        #expect(resampled.map(\.recording.labels) == prepared.map(\.recording.labels))
    }
}
