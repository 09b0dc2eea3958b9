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
    public static let currentSchemaVersion = 1

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
    ///   - createdAt: the time the report is made.
    /// - Throws: `SleepfoldError` from `Evaluation.init` when the predictions do not
    ///   fit the plan or the cohort (`.unknownRecording`, `.wrongFold`, …).
    public init(predictions: [Prediction], plan: FoldPlan, recordingSubjects: [String: String],
                runs: [Int: FoldRun] = [:], data: DataSummary, protocol evaluationProtocol: ProtocolSummary,
                config: JSONValue, sleepfoldVersion: String, createdAt: Date = Date()) throws(SleepfoldError) {
        let evaluation = try Evaluation(predictions: predictions, plan: plan, recordingSubjects: recordingSubjects)
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
    /// from predictions.csv); title, times, data, protocol, config and fold runs kept.
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
        return copy
    }

    // MARK: JSON

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", title, sleepfoldVersion = "sleepfold_version",
             createdAt = "created_at", data, evaluationProtocol = "protocol", config, pooled,
             folds, subjects, overFolds = "over_folds"
    }

    /// report.json's bytes: pretty-printed, keys sorted, ending with a newline.
    ///
    /// - Throws: `SleepfoldError` (`.invalidValue`) only if a number (in `config`, say)
    ///   is not finite.
    public func jsonData() throws(SleepfoldError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(self) + Data("\n".utf8)
        } catch let EncodingError.invalidValue(value, context) {
            throw SleepfoldError(.invalidValue, field: Self.path(context.codingPath),
                                 found: "\(value), which JSON cannot hold", expected: "finite numbers only")
        } catch {
            throw SleepfoldError(.invalidValue, found: "a report JSON cannot hold (\(error))", expected: "finite numbers only")
        }
    }

    /// Parses report.json; `file` names it in error messages.
    ///
    /// - Throws: `SleepfoldError` naming `file` and the key: `.badReport` when the JSON is
    ///   malformed or a key is missing or of the wrong type, `.badVersion` when
    ///   `schema_version` is newer than `currentSchemaVersion`.
    public static func decode(_ data: Data, file: String = "report.json") throws(SleepfoldError) -> Report {
        struct Version: Decodable {
            let schemaVersion: Int
            enum CodingKeys: String, CodingKey { case schemaVersion = "schema_version" }
        }
        let decoder = JSONDecoder()
        do {
            let version = try decoder.decode(Version.self, from: data).schemaVersion
            if version > currentSchemaVersion {
                throw SleepfoldError(.badVersion, file: file, field: "schema_version", found: "\(version)",
                                     expected: "at most \(currentSchemaVersion) (it was written by a newer sleepfold)")
            }
            return try decoder.decode(Report.self, from: data)
        } catch let error as SleepfoldError {
            throw error
        } catch let DecodingError.keyNotFound(key, context) {
            throw SleepfoldError(.badReport, file: file, field: Self.path(context.codingPath + [key]),
                                 found: "no such key", expected: "it (see docs/report-json.md)")
        } catch let DecodingError.typeMismatch(type, context) {
            throw SleepfoldError(.badReport, file: file, field: Self.path(context.codingPath),
                                 found: "a value of the wrong type", expected: "\(type)")
        } catch let DecodingError.valueNotFound(type, context) {
            throw SleepfoldError(.badReport, file: file, field: Self.path(context.codingPath), found: "null", expected: "\(type)")
        } catch let DecodingError.dataCorrupted(context) {
            throw SleepfoldError(.badReport, file: file, field: Self.path(context.codingPath),
                                 "\(context.debugDescription); expected a report.json as docs/report-json.md describes")
        } catch {
            throw SleepfoldError(.badReport, file: file, found: "\(error)", expected: "a report.json")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty ? "(top level)" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    /// Writes report.json to `url` atomically (temporary file in the same directory, then rename).
    public func write(to url: URL) throws(SleepfoldError) {
        let data: Data
        do {
            data = try jsonData()
        } catch {
            throw error.located(file: url.path)
        }
        try AtomicFile.write(data, to: url)
    }

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
