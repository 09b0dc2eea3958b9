import Foundation
import Basics
import Evaluation
import Reports

extension SleepfoldError.Code {
    /// A study file breaks one of `StudyFile`'s rules (a missing or mistyped field,
    /// an unknown baseline, two arms of one name, …).
    public static let invalidStudy = Self("invalidStudy")
}

/// A study: several model configs (arms) trained with several seeds on the
/// same subject-wise folds, run as one queue of (arm, seed, fold) tasks by
/// `sleepfold study FILE.json`. The file, e.g. configs/study-sleep-edf-20.json:
///
///     {"name": "sleep-edf-20", "data": "../data/sleep-edf-20", "folds": 20,
///      "fold_plan": "attnsleep", "seeds": [0, 1, 2], "baseline": "ex1",
///      "paper_protocol": true,
///      "arms": [{"name": "ex1", "config": "ex1-attnsleep.json"}, …]}
///
/// Relative paths are relative to the study file. `epochs` (optional) overrides
/// every arm's training epochs; `paper_protocol` (default false) adds per arm
/// and seed the run `sleepfold run --selection test-oracle` would make.
public struct StudyFile: Sendable, Equatable {
    public struct Arm: Sendable, Equatable {
        /// Plain name, also the arm's directory: letters, digits, '.', '_' and '-'.
        public var name: String
        /// The arm's experiment config (model and training).
        public var config: URL
    }

    /// The file the study was read from.
    public var url: URL
    public var name: String
    /// Directory of recordings or a cohort manifest.
    public var data: URL
    public var folds: Int
    public var foldPlan: FoldPlanKind
    public var seeds: [UInt64]
    /// The arm every other arm is compared with.
    public var baseline: String
    public var arms: [Arm]
    public var paperProtocol: Bool
    /// Overrides every arm's training epochs when set.
    public var epochs: Int?

    static let keys: Set<String> = ["name", "data", "folds", "fold_plan", "seeds", "baseline", "arms", "paper_protocol", "epochs"]

    /// Reads and checks a study file.
    /// - Throws: `SleepfoldError`: `.fileNotFound`/`.io` when it cannot be read;
    ///   `.invalidStudy` naming the file and the field for anything else.
    public static func load(from url: URL) throws -> StudyFile {
        let data = try fileAccess(url.path, cannot: "read the study file") { try Data(contentsOf: url) }
        return try StudyFile(json: data, url: url)
    }

    /// Parses study JSON read from `url` (relative paths resolve against its directory).
    public init(json: Data, url: URL) throws(SleepfoldError) {
        let file = url.path
        func invalid(_ field: String, found: String, expected: String) -> SleepfoldError {
            SleepfoldError(.invalidStudy, file: file, field: field, found: found, expected: expected)
        }
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: json) else {
            throw invalid("(file)", found: "text that is not a JSON object",
                          expected: "a JSON object with the keys \(Self.keys.sorted().joined(separator: ", "))")
        }
        if let unknown = object.keys.sorted().first(where: { !Self.keys.contains($0) }) {
            throw invalid(unknown, found: "an unknown key", expected: "one of \(Self.keys.sorted().joined(separator: ", "))")
        }
        let directory = url.deletingLastPathComponent()
        func path(_ relative: String) -> URL {
            relative.hasPrefix("/") ? URL(fileURLWithPath: relative) : directory.appendingPathComponent(relative).standardizedFileURL
        }
        func string(_ value: JSONValue?, _ field: String) throws(SleepfoldError) -> String {
            guard case .string(let s)? = value, !s.isEmpty else {
                throw invalid(field, found: Self.describe(value), expected: "a non-empty string")
            }
            return s
        }
        func integer(_ value: JSONValue?, _ field: String, atLeast minimum: Int) throws(SleepfoldError) -> Int {
            guard case .integer(let i)? = value, i >= minimum else {
                throw invalid(field, found: Self.describe(value), expected: "an integer ≥ \(minimum)")
            }
            return i
        }

        self.url = url
        name = try string(object["name"], "name")
        data = path(try string(object["data"], "data"))
        folds = try integer(object["folds"], "folds", atLeast: 2)
        if let kind = object["fold_plan"] {
            guard case .string(let raw) = kind, let plan = FoldPlanKind(rawValue: raw) else {
                throw invalid("fold_plan", found: Self.describe(kind),
                              expected: FoldPlanKind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or "))
            }
            foldPlan = plan
        } else {
            foldPlan = .seeded
        }

        guard case .array(let seedValues)? = object["seeds"], !seedValues.isEmpty else {
            throw invalid("seeds", found: Self.describe(object["seeds"]), expected: "a non-empty array of seeds (integers ≥ 0)")
        }
        seeds = []
        for (i, value) in seedValues.enumerated() {
            let seed = UInt64(try integer(value, "seeds[\(i)]", atLeast: 0))
            if seeds.contains(seed) { throw invalid("seeds[\(i)]", found: "\(seed) a second time", expected: "distinct seeds") }
            seeds.append(seed)
        }

        guard case .array(let armValues)? = object["arms"], !armValues.isEmpty else {
            throw invalid("arms", found: Self.describe(object["arms"]), expected: "a non-empty array of {\"name\", \"config\"}")
        }
        arms = []
        for (i, value) in armValues.enumerated() {
            guard case .object(let arm) = value else {
                throw invalid("arms[\(i)]", found: Self.describe(value), expected: "an object {\"name\": …, \"config\": …}")
            }
            if let unknown = arm.keys.sorted().first(where: { $0 != "name" && $0 != "config" }) {
                throw invalid("arms[\(i)].\(unknown)", found: "an unknown key", expected: "name and config")
            }
            let name = try string(arm["name"], "arms[\(i)].name")
            guard Self.isPlainName(name) else {
                throw invalid("arms[\(i)].name", found: "\"\(name)\"",
                              expected: "a plain directory name: letters, digits, '.', '_', '-', not starting with '.'")
            }
            if arms.map(\.name).contains(name) {
                throw invalid("arms[\(i)].name", found: "\"\(name)\" a second time", expected: "distinct arm names")
            }
            let config = path(try string(arm["config"], "arms[\(i)].config"))
            guard FileManager.default.fileExists(atPath: config.path) else {
                throw invalid("arms[\(i)].config", found: "no file at \(config.path)",
                              expected: "an experiment config (JSON), relative to the study file")
            }
            arms.append(Arm(name: name, config: config))
        }
        let baseline = try string(object["baseline"], "baseline"), armNames = arms.map(\.name)
        guard armNames.contains(baseline) else {
            throw invalid("baseline", found: "\"\(baseline)\"",
                          expected: "the name of an arm: \(armNames.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        self.baseline = baseline
        switch object["paper_protocol"] {
        case nil: paperProtocol = false
        case .bool(let flag)?: paperProtocol = flag
        case let other: throw invalid("paper_protocol", found: Self.describe(other), expected: "true or false")
        }
        if let value = object["epochs"] {
            epochs = try integer(value, "epochs", atLeast: 1)
        } else {
            epochs = nil
        }
    }

    /// Letters, digits, '.', '_' and '-', not starting with '.': safe as a directory name.
    static func isPlainName(_ s: String) -> Bool {
        !s.isEmpty && !s.hasPrefix(".") && s.utf8.count <= 64 && s.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-"
        }
    }

    /// A JSON value as an error message shows it.
    static func describe(_ value: JSONValue?) -> String {
        switch value {
        case nil: return "nothing (missing)"
        case .null?: return "null"
        case .bool(let b)?: return b ? "true" : "false"
        case .integer(let i)?: return "\(i)"
        case .number(let d)?: return "\(d)"
        case .string(let s)?: return "\"\(s.prefix(80))\""
        case .array?: return "an array"
        case .object?: return "an object"
        }
    }
}
