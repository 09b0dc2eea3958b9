import Foundation
import Basics
import Recordings
import Evaluation

/// The result of a cross-validation run: the model of report.json (documented
/// key by key in docs/report-json.md) and the source of report.md.
///
/// JSON keys are snake_case, always present (undefined values are `null`), sorted,
/// pretty-printed. A report can be re-rendered from its report.json alone, and its
/// metrics rebuilt from predictions.csv (`rebuilt(from:)`), since it keeps the fold
/// plan (in `folds`) and the recording → subject map (in `subjects`).
public struct Report: Codable, Equatable, Sendable {
    /// Version of the report.json layout this code writes; bumped on any change of
    /// keys or meaning. Reading accepts this version and older ones.
    public static let currentSchemaVersion = 2

    /// JSON `schema_version`.
    public var schemaVersion: Int
    /// One line naming the run; says so when the selection leaked test data.
    public var title: String
    /// Version of the sleepfold that wrote the report.
    public var sleepfoldVersion: String
    /// When the report was made, ISO 8601 in UTC (e.g. "2025-11-25T03:46:43Z").
    public var createdAt: String
    /// The cohort.
    public var data: DataSummary
    /// Folds, fold plan, seed and selection mode; JSON `protocol`.
    public var evaluationProtocol: ProtocolSummary
    /// The run's model and training configuration, as given.
    public var config: JSONValue
    /// Metrics pooled over the predictions of all folds.
    public var pooled: Metrics
    /// One entry per fold, in fold order.
    public var folds: [FoldReport]
    /// One entry per subject, sorted by subject id.
    public var subjects: [SubjectMetrics]
    /// Mean ± sd over folds of accuracy, macro-F1, kappa and per-class F1.
    public var overFolds: FoldStatistics
    /// Where the predictions go wrong (transitions, top confusions, worst nights),
    /// of the same predictions as `pooled`. Nil only in a report read from a
    /// schema-1 report.json, which did not have it.
    public var errorAnalysis: ErrorAnalysis?
    /// The pooled scores of the same trained models under other checkpoint
    /// selections, by `SelectionMode` raw value ("validation", "last",
    /// "test-oracle"); only those the run produced. Empty in schema 1.
    public var selections: [String: Metrics]

    /// Suffix of the title of every report made with `--selection test-oracle`.
    public static let testOracleWarning =
        "test-oracle selection — leaks test data, only for comparison with published numbers"

    /// The report of a run: every metric computed from `predictions` (see
    /// `Evaluation`), with the facts about the run that predictions do not hold.
    ///
    /// - Parameters:
    ///   - predictions: the test predictions of all folds (any order; folds not yet
    ///     predicted get empty metrics).
    ///   - plan: the run's fold plan.
    ///   - recordingSubjects: the subject of every recording of the cohort.
    ///   - runs: per-fold training facts by fold number; missing folds get nulls.
    ///   - selections: the test predictions the same trained models made under other
    ///     checkpoint selections, keyed by `SelectionMode` raw value ("validation",
    ///     "last", "test-oracle"); each is scored pooled, as `pooled` is, so the report
    ///     shows what the selection alone changes. The run's own selection may be among
    ///     them.
    ///   - createdAt: the time the report is made.
    /// - Throws: `SleepfoldError` from `Evaluation.init` when the predictions (or those
    ///   of a selection, the field then names it) do not fit the plan or the cohort
    ///   (`.unknownRecording`, `.wrongFold`, …); `.invalidValue` (field `selections`)
    ///   for a key that is not a selection mode.
    public init(predictions: [Prediction], plan: FoldPlan, recordingSubjects: [String: String],
                runs: [Int: FoldRun] = [:], selections: [String: [Prediction]] = [:], data: DataSummary,
                protocol evaluationProtocol: ProtocolSummary, config: JSONValue, sleepfoldVersion: String,
                createdAt: Date = Date()) throws(SleepfoldError) {
        let evaluation = try Evaluation(predictions: predictions, plan: plan, recordingSubjects: recordingSubjects)
        var selectionScores: [String: Metrics] = [:]
        // Sorted, so that an error names the same selection every time.
        for (name, selected) in selections.sorted(by: { $0.key < $1.key }) {
            guard SelectionMode(rawValue: name) != nil else {
                throw SleepfoldError(.invalidValue, field: "selections", found: "selection \"\(name)\"",
                                     expected: SelectionMode.allCases.map(\.rawValue).joined(separator: ", "))
            }
            do {
                selectionScores[name] = try Evaluation(predictions: selected, plan: plan,
                                                       recordingSubjects: recordingSubjects).pooled
            } catch {
                throw SleepfoldError(error.code, file: error.file,
                                     field: "selections.\(name)" + (error.field.map { ": \($0)" } ?? ""), error.message)
            }
        }
        schemaVersion = Self.currentSchemaVersion
        title = Self.title(data: data, protocol: evaluationProtocol)
        self.sleepfoldVersion = sleepfoldVersion
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        self.createdAt = formatter.string(from: createdAt)
        self.data = data
        self.evaluationProtocol = evaluationProtocol
        self.config = config
        // Evaluation has one entry per fold of this plan.
        pooled = evaluation.pooled
        folds = zip(plan.folds, evaluation.folds).map { fold, metrics in
            FoldReport(fold: fold, metrics: metrics, run: runs[fold.index] ?? FoldRun())
        }
        subjects = evaluation.subjects
        overFolds = evaluation.overFolds
        errorAnalysis = ErrorAnalysis(predictions: predictions, recordingSubjects: recordingSubjects)
        self.selections = selectionScores
    }

    /// The title of a run's report: e.g. "sleepfold: 20-fold subject-wise
    /// cross-validation, 20 subjects of data/sleep-edf-20, validation selection",
    /// followed by `testOracleWarning` for `test-oracle`.
    public static func title(data: DataSummary, protocol evaluationProtocol: ProtocolSummary) -> String {
        var title = "sleepfold: \(evaluationProtocol.folds)-fold subject-wise cross-validation, "
            + "\(data.subjects) subjects of \(data.directory), "
        if evaluationProtocol.selection.leaksTestData {
            title += testOracleWarning
        } else {
            title += "\(evaluationProtocol.selection.rawValue) selection"
        }
        return title
    }

    /// The fold plan the report's folds record (`.invalidPlan` if they break its invariants).
    public func plan() throws(SleepfoldError) -> FoldPlan {
        try FoldPlan(folds: folds.map(\.fold))
    }

    /// The subject of every recording the report lists.
    public var recordingSubjects: [String: String] {
        var map: [String: String] = [:]
        for subject in subjects {
            for recording in subject.recordings { map[recording] = subject.subject }
        }
        return map
    }

    /// The same report with every metric recomputed from `predictions` (e.g. read
    /// from predictions.csv), the error analysis included; title, times, data,
    /// protocol, config, fold runs and the other selections' scores (whose
    /// predictions are not in predictions.csv) kept. It is written in the current
    /// schema, so a schema-1 report comes back as schema 2 with its error analysis.
    ///
    /// - Throws: `SleepfoldError` `.invalidPlan` (folds that break the plan's invariants)
    ///   or an `Evaluation.init` error (predictions that do not fit the plan or cohort).
    public func rebuilt(from predictions: [Prediction]) throws(SleepfoldError) -> Report {
        let plan = try self.plan()
        let evaluation = try Evaluation(predictions: predictions, plan: plan, recordingSubjects: recordingSubjects)
        var copy = self
        copy.pooled = evaluation.pooled
        copy.folds = zip(folds, evaluation.folds).map { FoldReport(fold: $0.fold, metrics: $1, run: $0.run) }
        copy.subjects = evaluation.subjects
        copy.overFolds = evaluation.overFolds
        copy.errorAnalysis = ErrorAnalysis(predictions: predictions, recordingSubjects: recordingSubjects)
        copy.schemaVersion = Self.currentSchemaVersion
        return copy
    }

    // MARK: JSON

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", title, sleepfoldVersion = "sleepfold_version",
             createdAt = "created_at", data, evaluationProtocol = "protocol", config, pooled,
             folds, subjects, overFolds = "over_folds", errorAnalysis = "error_analysis", selections
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try container.decode(Int.self, forKey: .schemaVersion)
        title = try container.decode(String.self, forKey: .title)
        sleepfoldVersion = try container.decode(String.self, forKey: .sleepfoldVersion)
        createdAt = try container.decode(String.self, forKey: .createdAt)
        data = try container.decode(DataSummary.self, forKey: .data)
        evaluationProtocol = try container.decode(ProtocolSummary.self, forKey: .evaluationProtocol)
        config = try container.decode(JSONValue.self, forKey: .config)
        pooled = try container.decode(Metrics.self, forKey: .pooled)
        folds = try container.decode([FoldReport].self, forKey: .folds)
        subjects = try container.decode([SubjectMetrics].self, forKey: .subjects)
        overFolds = try container.decode(FoldStatistics.self, forKey: .overFolds)
        // Schema 2 added these two; a schema-1 file has neither, a schema-2 file both.
        if schemaVersion < 2 {
            errorAnalysis = try container.decodeIfPresent(ErrorAnalysis.self, forKey: .errorAnalysis)
            selections = try container.decodeIfPresent([String: Metrics].self, forKey: .selections) ?? [:]
        } else {
            errorAnalysis = try container.decode(ErrorAnalysis?.self, forKey: .errorAnalysis)
            selections = try container.decode([String: Metrics].self, forKey: .selections)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schemaVersion, forKey: .schemaVersion)
        try container.encode(title, forKey: .title)
        try container.encode(sleepfoldVersion, forKey: .sleepfoldVersion)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(data, forKey: .data)
        try container.encode(evaluationProtocol, forKey: .evaluationProtocol)
        try container.encode(config, forKey: .config)
        try container.encode(pooled, forKey: .pooled)
        try container.encode(folds, forKey: .folds)
        try container.encode(subjects, forKey: .subjects)
        try container.encode(overFolds, forKey: .overFolds)
        try container.encode(errorAnalysis, forKey: .errorAnalysis)  // explicit null: keys always present
        try container.encode(selections, forKey: .selections)
    }

    /// How report.json is encoded, read and refused (shared with study.json).
    static let json = VersionedJSON(document: "report.json", docs: "docs/report-json.md",
                                    currentVersion: currentSchemaVersion, badCode: .badReport)

    /// report.json's bytes: pretty-printed, keys sorted, ending with a newline.
    ///
    /// - Throws: `SleepfoldError` (`.invalidValue`) only if a number (in `config`, say)
    ///   is not finite.
    public func jsonData() throws(SleepfoldError) -> Data { try Self.json.data(self) }

    /// Parses report.json; `file` names it in error messages.
    ///
    /// - Throws: `SleepfoldError` naming `file` and the key: `.badReport` when the JSON is
    ///   malformed or a key is missing or of the wrong type, `.badVersion` when
    ///   `schema_version` is newer than `currentSchemaVersion`.
    public static func decode(_ data: Data, file: String = "report.json") throws(SleepfoldError) -> Report {
        try json.decode(Report.self, from: data, file: file)
    }

    /// Writes report.json to `url` atomically (temporary file in the same directory, then rename).
    public func write(to url: URL) throws(SleepfoldError) { try Self.json.write(self, to: url) }

    /// Reads report.json from `url`.
    public static func read(from url: URL) throws(SleepfoldError) -> Report {
        let data = try fileAccess(url.path, cannot: "read the report") { try Data(contentsOf: url) }
        return try decode(data, file: url.path)
    }
}

// Codes of report.json (a newer schema is Basics' `.badVersion`).
extension SleepfoldError.Code {
    /// report.json is not JSON, or a key is missing, null or of the wrong type.
    public static let badReport = Self("badReport")
}
