import Foundation
import Basics
import Recordings
import Cohorts
import EDF
import Preparation

/// Synthetic nights in the NSRR layout of SHHS: `shhs1-<id>.edf` (plain EDF, 1-s records,
/// "EEG(sec)" = C3-A2 listed before "EEG" = C4-A1 at `rate` Hz, as in SHHS1 files, and
/// "SaO2" at 1 Hz) with either
/// - `shhs1-<id>-nsrr.xml` (stage events in 30-s multiples, plus the things real files
///   have: stage 4 next to stage 3, a movement epoch, an arousal, and unscored time that
///   runs past the end of the signal), or
/// - `shhs1-<id>-profusion.xml` (Compumedics Profusion: one value per 30-s epoch of the
///   signal, 4 for every other run of N3, a scored arousal; no value above 5, which would
///   make the night skipped).
///
/// The signal is a `SynthCohort` night resampled from 100 Hz, so a model learns on it
/// as on the Sleep-EDF-style synthetic cohort.
public enum SynthNSRR {
    /// Which annotation file a night gets.
    public enum Annotations: String, Sendable, CaseIterable {
        case nsrr, profusion
    }

    /// What was written for one night: its id and the labels `sleepfold prepare --trim-wake
    /// none` must produce (NSRR: the movement epoch dropped; Profusion: every epoch).
    public struct Night: Sendable {
        public var id: String
        public var expectedLabels: [Int32]
    }

    /// NSRR id of synthetic subject `subject` at `visit` ("shhs1-200000" for subject 0, visit 1).
    public static func id(subject: Int, visit: Int = 1) -> String { "shhs\(visit)-\(200_000 + subject)" }

    /// Writes the EDF + XML pair of `recording` (a 100-Hz synthetic night) into `directory`.
    public static func write(_ recording: Recording, subject: Int, visit: Int = 1, rate: Double,
                             annotations: Annotations = .nsrr, to directory: URL) throws -> Night {
        let id = id(subject: subject, visit: visit)
        let source = recording.x.map(Double.init)
        let eeg = rate == recording.sampleRate ? source
            : try PolyphaseResampler(from: recording.sampleRate, to: rate).resample(source)
        let perRecord = Int(rate.rounded())
        let seconds = eeg.count / perRecord
        // The second derivation: the same activity, other amplitude, a little phase lag.
        let secondary = (0..<seconds * perRecord).map { i in 0.8 * eeg[max(0, i - 3)] }
        let spo2 = (0..<seconds).map { 95 + 2 * sin(Double($0) / 300) }

        func signal(_ label: String, _ values: [Double], perRecord: Int, range: Double, unit: String) throws -> EDFWriter.Signal {
            try EDFWriter.Signal(
                header: EDFSignalHeader(label: label, physicalDimension: unit, physicalMinimum: -range, physicalMaximum: range,
                                        digitalMinimum: -32_768, digitalMaximum: 32_767, samplesPerRecord: perRecord),
                physicalSamples: Array(values.prefix(seconds * perRecord)))
        }
        let peak = max(1, ((eeg.map(abs).max() ?? 1) * 1.05).rounded(.up))  // EDF fields hold 8 characters
        let edf = EDFWriter(
            startTime: EDFDateTime(year: 1995, month: 1, day: 1, hour: 22, minute: 0, second: 0), recordDuration: 1,
            signals: [try signal("EEG(sec)", secondary, perRecord: perRecord, range: peak, unit: "uV"),
                      try signal("EEG", eeg, perRecord: perRecord, range: peak, unit: "uV"),
                      try signal("SaO2", spo2, perRecord: 1, range: 100, unit: "%")],
            plus: false, patient: "\(id) X X X")
        try edf.write(to: directory.appendingPathComponent("\(id).edf"))

        let labels = recording.labels
        if annotations == .profusion {
            // One value per epoch; N3 runs alternate 3 and 4 (R&K stage 4), as NSRR's do below.
            var values: [Int] = [], n3Runs = 0
            for (e, label) in labels.enumerated() {
                switch Stage(rawValue: label)! {
                case .wake: values.append(0)
                case .n1: values.append(1)
                case .n2: values.append(2)
                case .n3:
                    if e == 0 || labels[e - 1] != label { n3Runs += 1 }
                    values.append(n3Runs % 2 == 1 ? 3 : 4)
                case .rem: values.append(5)
                }
            }
            let xmlURL = directory.appendingPathComponent(id + NightFiles.profusionSuffix)
            let xml = ProfusionAnnotations(stages: values).xml()
            try fileAccess(xmlURL.path, cannot: "write the annotations") { try Data(xml.utf8).write(to: xmlURL) }
            return Night(id: id, expectedLabels: labels)
        }

        // Stage events: runs of one stage; N3 alternates "Stage 3"/"Stage 4" by run.
        let movement = labels.count / 2
        var events: [EDFAnnotation] = [], types: [String] = []
        var expected: [Int32] = []
        var start = 0, n3Runs = 0
        while start < labels.count {
            var end = start + 1
            while end < labels.count && labels[end] == labels[start] && end != movement && start != movement { end += 1 }
            let concept: String
            if start == movement {
                concept = "Movement|6"
            } else {
                switch Stage(rawValue: labels[start])! {
                case .wake: concept = "Wake|0"
                case .n1: concept = "Stage 1 sleep|1"
                case .n2: concept = "Stage 2 sleep|2"
                case .n3:
                    concept = n3Runs % 2 == 0 ? "Stage 3 sleep|3" : "Stage 4 sleep|4"
                    n3Runs += 1
                case .rem: concept = "REM sleep|5"
                }
                expected += labels[start..<end]
            }
            events.append(EDFAnnotation(onset: Double(start) * 30, duration: Double(end - start) * 30, text: concept))
            types.append("Stages|Stages")
            start = end
        }
        // Scored past the end of the signal, as real files often are, and one non-stage event.
        events.append(EDFAnnotation(onset: Double(labels.count) * 30, duration: 90, text: "Unscored|9"))
        types.append("Stages|Stages")
        events.append(EDFAnnotation(onset: 95.5, duration: 12.5, text: "Arousal ()|Arousal ()"))
        types.append("Arousals|Arousals")
        let xml = NSRRAnnotations(epochLength: 30, events: events, eventTypes: types).xml()
        let xmlURL = directory.appendingPathComponent("\(id)-nsrr.xml")
        try fileAccess(xmlURL.path, cannot: "write the annotations") { try Data(xml.utf8).write(to: xmlURL) }
        return Night(id: id, expectedLabels: expected)
    }
}
