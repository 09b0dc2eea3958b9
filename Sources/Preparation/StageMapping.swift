import Foundation
import Basics
import Recordings
import Cohorts
import EDF

/// Which annotation texts of a hypnogram are sleep stages, which mark epochs to drop,
/// and (implicitly) which are other events to ignore.
///
/// The default, `sleepEDF`, is the vocabulary of the PhysioNet Sleep-EDF hypnograms
/// (Rechtschaffen & Kales): "Sleep stage W/1/2/3/4/R" map to W, N1, N2, N3, N3, REM;
/// "Sleep stage ?" and "Movement time" are dropped. Other vocabularies come from a
/// small JSON file:
///
/// ```json
/// {
///   "stages": {
///     "Sleep stage W": "W",
///     "Sleep stage N1": "N1",
///     "Sleep stage N2": "N2",
///     "Sleep stage N3": "N3",
///     "Sleep stage R": "REM"
///   },
///   "drop": ["Sleep stage ?", "Movement time"]
/// }
/// ```
///
/// - `stages` (required, non-empty): annotation text → stage, written as "W", "N1",
///   "N2", "N3", "REM" (or "R") or as the label number 0…4. Several texts may map to
///   one stage (R&K "3" and "4" both to "N3").
/// - `drop` (optional): texts whose epochs are removed and counted as dropped.
/// - Texts must match exactly (case and spaces). A text in neither list is an event,
///   not a stage ("Lights off"): it is ignored and counted in the night summary.
public struct StageMapping: Sendable, Equatable {
    /// What to do with the epochs an annotation covers.
    public enum Action: Sendable, Equatable {
        /// Epochs get this stage.
        case stage(Stage)
        /// Epochs are removed (unknown stage, movement).
        case drop
        /// Not a stage annotation: no epochs.
        case ignore
    }

    /// Annotation text → stage.
    public var stages: [String: Stage]
    /// Annotation texts whose epochs are dropped.
    public var dropped: Set<String>

    public init(stages: [String: Stage], dropped: Set<String>) {
        self.stages = stages
        self.dropped = dropped
    }

    /// The action for an annotation text.
    public func action(for text: String) -> Action {
        if let stage = stages[text] { return .stage(stage) }
        return dropped.contains(text) ? .drop : .ignore
    }

    /// Sleep-EDF (R&K) hypnogram vocabulary, as the reference preparation maps it.
    public static let sleepEDF = StageMapping(
        stages: ["Sleep stage W": .wake, "Sleep stage 1": .n1, "Sleep stage 2": .n2,
                 "Sleep stage 3": .n3, "Sleep stage 4": .n3, "Sleep stage R": .rem],
        dropped: ["Sleep stage ?", "Movement time"])

    /// Reads a mapping in the JSON format above; `file` names it in errors.
    public init(json: Data, file: String) throws {
        let parsed: MappingFile
        do {
            parsed = try JSONDecoder().decode(MappingFile.self, from: json)
        } catch let error as SleepfoldError {
            throw error.located(file: file)
        } catch {
            throw SleepfoldError(.badStageMap, file: file, found: "invalid JSON (\(Self.describe(error)))",
                                 expected: "a JSON object {\"stages\": {…}, \"drop\": […]}")
        }
        if let both = parsed.dropped.intersection(parsed.stages.keys).sorted().first {
            throw SleepfoldError(.badStageMap, file: file, field: "drop['\(both)']", found: "a text also listed in \"stages\"",
                                 expected: "each text either a stage or dropped")
        }
        self.init(stages: parsed.stages, dropped: parsed.dropped)
    }

    /// Reads a mapping file in the JSON format above.
    public init(contentsOf url: URL) throws {
        let data = try fileAccess(url.lastPathComponent, cannot: "read the stage map \(url.path)") { try Data(contentsOf: url) }
        try self.init(json: data, file: url.lastPathComponent)
    }

    /// A short text for a JSON decoding error.
    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): return context.debugDescription
        case DecodingError.typeMismatch(_, let context): return context.debugDescription
        case DecodingError.keyNotFound(let key, _): return "no key '\(key.stringValue)'"
        case DecodingError.valueNotFound(_, let context): return context.debugDescription
        default: return "\(error)"
        }
    }
}

/// The JSON file: `{"stages": {text: stage}, "drop": [text]}`; errors come out as
/// `SleepfoldError`s (`.badStageMap`) without a file name (the caller adds it).
private struct MappingFile: Decodable {
    var stages: [String: Stage] = [:]
    var dropped: Set<String> = []

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        let root: KeyedDecodingContainer<Key>
        do {
            root = try decoder.container(keyedBy: Key.self)
        } catch {
            throw SleepfoldError(.badStageMap, found: "JSON that is not an object",
                                 expected: "a JSON object {\"stages\": {…}, \"drop\": […]}")
        }
        for key in root.allKeys where key.stringValue != "stages" && key.stringValue != "drop" {
            throw SleepfoldError(.badStageMap, field: "key '\(key.stringValue)'", found: "an unknown key",
                                 expected: "only \"stages\" and \"drop\"")
        }
        let stageContainer: KeyedDecodingContainer<Key>
        do {
            stageContainer = try root.nestedContainer(keyedBy: Key.self, forKey: Key(stringValue: "stages"))
        } catch {
            throw SleepfoldError(.badStageMap, field: "stages", found: "no object",
                                 expected: "an object of annotation text → stage")
        }
        for key in stageContainer.allKeys {
            let field = "stages['\(key.stringValue)']"
            if let name = try? stageContainer.decode(String.self, forKey: key) {
                guard let stage = Self.stages[name] else {
                    throw SleepfoldError(.badStageMap, field: field, found: "\"\(name)\"",
                                         expected: "one of \"W\", \"N1\", \"N2\", \"N3\", \"REM\" or a number 0…4")
                }
                stages[key.stringValue] = stage
            } else if let number = try? stageContainer.decode(Int32.self, forKey: key), let stage = Stage(rawValue: number) {
                stages[key.stringValue] = stage
            } else {
                throw SleepfoldError(.badStageMap, field: field, found: "a value that is no stage name or number 0…4",
                                     expected: "one of \"W\", \"N1\", \"N2\", \"N3\", \"REM\" or a number 0…4")
            }
        }
        guard !stages.isEmpty else {
            throw SleepfoldError(.badStageMap, field: "stages", found: "an empty object",
                                 expected: "at least one annotation text → stage")
        }
        if root.contains(Key(stringValue: "drop")) {
            do {
                dropped = Set(try root.decode([String].self, forKey: Key(stringValue: "drop")))
            } catch {
                throw SleepfoldError(.badStageMap, field: "drop", found: "something other than an array of strings",
                                     expected: "an array of annotation texts")
            }
        }
    }

    static let stages: [String: Stage] = ["W": .wake, "N1": .n1, "N2": .n2, "N3": .n3, "REM": .rem, "R": .rem]
}
