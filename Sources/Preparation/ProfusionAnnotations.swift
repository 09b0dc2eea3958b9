import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Basics
import Recordings
import Cohorts
import EDF

/// The sleep stages of a Compumedics Profusion annotation file
/// (`shhs1-200001-profusion.xml`, NSRR's `annotations-events-profusion`), the file the
/// AttnSleep paper's SHHS preparation (`prepare_shhs.py`) reads:
///
/// ```xml
/// <CMPStudyConfig>
///   <EpochLength>30</EpochLength>
///   <StepChannels>…</StepChannels>
///   <ScoredEvents>…</ScoredEvents>
///   <SleepStages>
///     <SleepStage>0</SleepStage>
///     <SleepStage>2</SleepStage>
///     …
///   </SleepStages>
/// </CMPStudyConfig>
/// ```
///
/// One `<SleepStage>` integer per 30-s epoch from the start of the recording: 0 W,
/// 1 N1, 2 N2, 3 N3, 4 (R&K stage 4) N3, 5 REM; values above 5 (movement, unscored)
/// make the reference skip the whole night (`valueAboveFive`). Only `<SleepStages>`
/// and `<EpochLength>` are read; the scored events (arousals, desaturations) are not
/// stages. The reference takes the root's fifth child as the stage list; this reader
/// finds `<SleepStages>` by name, which is the same element in SHHS files.
public struct ProfusionAnnotations: Sendable, Equatable {
    /// Seconds per stage value: Profusion files and the reference use 30.
    public static let epochSeconds = 30.0

    /// The stage values in file order, one per 30-s epoch.
    public var stages: [Int]

    public init(stages: [Int]) {
        self.stages = stages
    }

    /// Reads a Profusion XML file. Errors name the file, the element and the problem.
    public init(contentsOf url: URL) throws {
        let data = try fileAccess(url.path, cannot: "read the Profusion annotation file") { try Data(contentsOf: url) }
        try self.init(xml: data, file: url.path)
    }

    /// Parses Profusion XML `data`; `file` names it in errors: `.badXML` for XML that is
    /// not well-formed, `.truncated` for a file that ends inside `<CMPStudyConfig>`,
    /// `.badAnnotation` for a missing root, an `EpochLength` other than 30, no
    /// `<SleepStages>` (or several, or an empty one) and a `<SleepStage>` that is not an
    /// integer ≥ 0 (field `SleepStages.SleepStage[i]`, counted from 0).
    public init(xml data: Data, file: String) throws {
        let reader = Reader(file: file)
        try parseAnnotationXML(data, file: file, reader: reader, root: "CMPStudyConfig", format: "Profusion annotation",
                               rootContent: "<SleepStages>")
        guard reader.stageLists == 1 else {
            throw SleepfoldError(.badAnnotation, file: file, field: "SleepStages",
                                 found: reader.stageLists == 0 ? "no <SleepStages> element" : "\(reader.stageLists) <SleepStages> elements",
                                 expected: "one <SleepStages> with a <SleepStage> per 30-s epoch")
        }
        guard !reader.stages.isEmpty else {
            throw SleepfoldError(.badAnnotation, file: file, field: "SleepStages", found: "no <SleepStage> in it",
                                 expected: "a <SleepStage> per 30-s epoch")
        }
        self.init(stages: reader.stages)
    }

    /// The first epoch whose value is above 5 (6 movement, 9 unscored, …), if any: the
    /// reference preparation skips such a night whole, and so does `Preparation`.
    public var valueAboveFive: (epoch: Int, value: Int)? {
        stages.firstIndex { $0 > 5 }.map { ($0, stages[$0]) }
    }

    /// Epoch `i` as an annotation at `i · 30` s lasting 30 s, its text the value ("0"…"5"),
    /// so the common epoch rules apply with `StageMapping.profusion`.
    public var events: [EDFAnnotation] {
        stages.enumerated().map {
            EDFAnnotation(onset: Double($0.offset) * Self.epochSeconds, duration: Self.epochSeconds, text: String($0.element))
        }
    }

    /// The XML of these stages in the Profusion layout (tests and `sleepfold synth
    /// --format profusion`), with a scored event before the stages as real files have.
    public func xml() -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<CMPStudyConfig>\n"
        out += "<SoftwareVersion>Compumedics</SoftwareVersion>\n<EpochLength>30</EpochLength>\n"
        out += "<StepChannels>\n<StepChannel>\n<Input>Light</Input>\n<Labels>\n<Label>OFF</Label>\n<Label>ON</Label>\n"
        out += "</Labels>\n<Data>\n<Value Time=\"0\">1</Value>\n</Data>\n</StepChannel>\n</StepChannels>\n"
        out += "<ScoredEvents>\n<ScoredEvent>\n<Name>Arousal ()</Name>\n<Start>95.5</Start>\n<Duration>12.5</Duration>\n"
        out += "<Input>EEG</Input>\n</ScoredEvent>\n</ScoredEvents>\n<SleepStages>\n"
        for stage in stages { out += "<SleepStage>\(stage)</SleepStage>\n" }
        return out + "</SleepStages>\n</CMPStudyConfig>\n"
    }

    /// SAX reader: the root's EpochLength, and the integers inside <SleepStages>.
    private final class Reader: NSObject, AnnotationXMLReader {
        let file: String
        var sawRoot = false
        var insideRoot = false
        var problem: SleepfoldError?
        var stages: [Int] = []
        var stageLists = 0
        private var text = ""
        private var path: [String] = []

        init(file: String) { self.file = file }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String] = [:]) {
            text = ""
            path.append(name)
            if path == ["CMPStudyConfig"] {
                sawRoot = true
                insideRoot = true
            }
            if path == ["CMPStudyConfig", "SleepStages"] { stageLists += 1 }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            text = ""
            if path == ["CMPStudyConfig"] { insideRoot = false }
            if path == ["CMPStudyConfig", "EpochLength"], Double(value) != ProfusionAnnotations.epochSeconds {
                // The stage list has no times of its own: its epochs are 30 s, as the reference assumes.
                fail(parser, "EpochLength", "'\(value)'", "30 (seconds per <SleepStage>)")
            }
            if path == ["CMPStudyConfig", "SleepStages", "SleepStage"] {
                // A plain decimal integer, as the reference's int(text) reads it; negative values are no stage.
                if let stage = Int(value), stage >= 0 {
                    stages.append(stage)
                } else {
                    fail(parser, "SleepStages.SleepStage[\(stages.count)]", "'\(value)'",
                         "an integer stage ≥ 0 (0 W, 1 N1, 2 N2, 3 and 4 N3, 5 REM; above 5 unscored)")
                }
            }
            if !path.isEmpty { path.removeLast() }
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
    /// Profusion stage values (the texts of `ProfusionAnnotations.events`): 0 W, 1 N1,
    /// 2 N2, 3 and 4 N3, 5 REM, as the reference maps them. Nothing is dropped: a night
    /// with a value above 5 is skipped before mapping.
    public static let profusion = StageMapping(
        stages: ["0": .wake, "1": .n1, "2": .n2, "3": .n3, "4": .n3, "5": .rem], dropped: [])
}
