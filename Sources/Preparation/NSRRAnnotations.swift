import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Basics
import Recordings
import Cohorts
import EDF

/// The scored events of an NSRR annotation file (`shhs1-200001-nsrr.xml`), the
/// XML the National Sleep Research Resource publishes for SHHS, MESA, CFS, …:
///
/// ```xml
/// <PSGAnnotation>
///   <SoftwareVersion>Compumedics</SoftwareVersion>
///   <EpochLength>30</EpochLength>
///   <ScoredEvents>
///     <ScoredEvent>
///       <EventType>Stages|Stages</EventType>
///       <EventConcept>Stage 2 sleep|2</EventConcept>
///       <Start>4590.0</Start>
///       <Duration>120.0</Duration>
///       <ClockTime>00.00.00 23.16.30</ClockTime>
///     </ScoredEvent>
///     …
/// ```
///
/// Every event becomes an `EDFAnnotation` (onset = Start in seconds from the start of
/// the recording, duration, text = EventConcept), so the Sleep-EDF preparation rules
/// apply unchanged with `StageMapping.nsrr`. Events of other types (arousals,
/// respiratory events, SpO2 desaturations) keep their concept text, which the stage
/// mapping ignores.
public struct NSRRAnnotations: Sendable, Equatable {
    /// Seconds per scored epoch (`EpochLength`; 30 for SHHS).
    public var epochLength: Double
    /// All scored events, in file order.
    public var events: [EDFAnnotation]
    /// The event types, parallel to `events` (e.g. "Stages|Stages", "Arousals|Arousals").
    public var eventTypes: [String]

    /// The stage events only (EventType "Stages|Stages").
    public var stageEvents: [EDFAnnotation] {
        zip(events, eventTypes).filter { $0.1.hasPrefix("Stages") }.map(\.0)
    }

    public init(epochLength: Double, events: [EDFAnnotation], eventTypes: [String]) {
        precondition(events.count == eventTypes.count, "NSRRAnnotations: one type per event")
        self.epochLength = epochLength
        self.events = events
        self.eventTypes = eventTypes
    }

    /// Reads an NSRR XML file. Errors name the file, the element and the problem.
    public init(contentsOf url: URL) throws {
        let data = try fileAccess(url.path, cannot: "read the NSRR annotation file") { try Data(contentsOf: url) }
        try self.init(xml: data, file: url.path)
    }

    /// Parses NSRR XML `data`; `file` names it in errors: `.badXML` for XML that is not
    /// well-formed (a cut file too), `.truncated` for a file that ends inside the root
    /// element, `.badAnnotation` for a missing root or a bad EpochLength, Start or Duration.
    public init(xml data: Data, file: String) throws {
        let reader = Reader(file: file)
        try parseAnnotationXML(data, file: file, reader: reader, root: "PSGAnnotation", format: "NSRR annotation",
                               rootContent: "<ScoredEvents>")
        guard reader.epochLength > 0 else {
            throw SleepfoldError(.badAnnotation, file: file, field: "EpochLength", found: "\(reader.epochLength)",
                                 expected: "a positive number of seconds")
        }
        self.init(epochLength: reader.epochLength, events: reader.events, eventTypes: reader.types)
    }

    /// The XML of these events in the NSRR layout (tests and `sleepfold synth --format nsrr`).
    public func xml(software: String = "Compumedics") -> String {
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        func number(_ v: Double) -> String { v == v.rounded() ? String(format: "%.1f", v) : "\(v)" }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<PSGAnnotation>\n"
        out += "<SoftwareVersion>\(escape(software))</SoftwareVersion>\n<EpochLength>\(Int(epochLength))</EpochLength>\n"
        out += "<ScoredEvents>\n"
        out += "<ScoredEvent>\n<EventType/>\n<EventConcept>Recording Start Time</EventConcept>\n<Start>0</Start>\n"
        out += "<Duration>\(number(events.map { $0.onset + ($0.duration ?? 0) }.max() ?? 0))</Duration>\n"
        out += "<ClockTime>00.00.00 22.00.00</ClockTime>\n</ScoredEvent>\n"
        for (event, type) in zip(events, eventTypes) {
            out += "<ScoredEvent>\n<EventType>\(escape(type))</EventType>\n<EventConcept>\(escape(event.text))</EventConcept>\n"
            out += "<Start>\(number(event.onset))</Start>\n<Duration>\(number(event.duration ?? epochLength))</Duration>\n"
            out += "</ScoredEvent>\n"
        }
        return out + "</ScoredEvents>\n</PSGAnnotation>\n"
    }

    /// SAX reader: collects each <ScoredEvent>'s fields, checks numbers as they close.
    private final class Reader: NSObject, AnnotationXMLReader {
        let file: String
        var sawRoot = false
        var insideRoot = false
        var epochLength = 30.0
        var events: [EDFAnnotation] = []
        var types: [String] = []
        var problem: SleepfoldError?
        private var text = ""
        private var fields: [String: String]?
        private var eventIndex = 0

        init(file: String) { self.file = file }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String] = [:]) {
            text = ""
            switch name {
            case "PSGAnnotation":
                sawRoot = true
                insideRoot = true
            case "ScoredEvent": fields = [:]
            default: break
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            text = ""
            if name == "PSGAnnotation" { insideRoot = false }
            if name == "EpochLength" && fields == nil {
                guard let seconds = Double(value) else { return fail(parser, "EpochLength", "'\(value)'", "a number of seconds") }
                epochLength = seconds
            } else if name == "ScoredEvent" {
                guard let f = fields else { return }
                fields = nil
                let place = "ScoredEvent[\(eventIndex)]"
                eventIndex += 1
                let concept = f["EventConcept"] ?? ""
                // The "Recording Start Time" entry has no type: it is not an event.
                if concept == "Recording Start Time" { return }
                guard let startText = f["Start"], let start = Double(startText), start.isFinite, start >= 0 else {
                    return fail(parser, "\(place).Start", f["Start"].map { "'\($0)'" } ?? "nothing",
                                "seconds from the start of the recording (a number ≥ 0)")
                }
                var duration: Double?
                if let d = f["Duration"] {
                    guard let seconds = Double(d), seconds.isFinite, seconds >= 0 else {
                        return fail(parser, "\(place).Duration", "'\(d)'", "a number of seconds ≥ 0")
                    }
                    duration = seconds
                }
                events.append(EDFAnnotation(onset: start, duration: duration, text: concept))
                types.append(f["EventType"] ?? "")
            } else if fields != nil, ["EventType", "EventConcept", "Start", "Duration"].contains(name) {
                fields![name] = value
            }
        }

        private func fail(_ parser: XMLParser, _ field: String, _ found: String, _ expected: String) {
            if problem == nil {
                problem = SleepfoldError(.badAnnotation, file: file, field: field, found: found, expected: expected)
            }
            parser.abortParsing()
        }
    }
}

extension StageMapping {
    /// NSRR stage concepts (SHHS, MESA, …): "Wake|0", "Stage 1 sleep|1" … "Stage 4 sleep|4"
    /// (3 and 4 → N3), "REM sleep|5"; "Movement|6" and "Unscored|9" are dropped.
    public static let nsrr = StageMapping(
        stages: ["Wake|0": .wake, "Stage 1 sleep|1": .n1, "Stage 2 sleep|2": .n2, "Stage 3 sleep|3": .n3,
                 "Stage 4 sleep|4": .n3, "REM sleep|5": .rem],
        dropped: ["Movement|6", "Unscored|9"])
}
