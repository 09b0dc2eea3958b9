import Foundation
import Basics

/// A JSON document sleepfold writes for programs (report.json, study.json): pretty,
/// keys sorted, ending with a newline, written atomically, carrying a
/// `schema_version` that readers check before anything else. One place for how
/// such a file is encoded, read and refused, so both documents behave alike.
struct VersionedJSON {
    /// Its name in messages, e.g. "report.json".
    let document: String
    /// The page that documents its keys, e.g. "docs/report-json.md".
    let docs: String
    /// The newest `schema_version` this code reads.
    let currentVersion: Int
    /// The code of every refusal but a too-new version (`.badVersion`).
    let badCode: SleepfoldError.Code

    /// The document's bytes.
    /// - Throws: `SleepfoldError` (`.invalidValue`) only if a number (in a config, say) is not finite.
    func data(_ value: some Encodable) throws(SleepfoldError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(value) + Data("\n".utf8)
        } catch let EncodingError.invalidValue(value, context) {
            throw SleepfoldError(.invalidValue, field: Self.path(context.codingPath),
                                 found: "\(value), which JSON cannot hold", expected: "finite numbers only")
        } catch {
            throw SleepfoldError(.invalidValue, found: "a value \(document) cannot hold (\(error))", expected: "finite numbers only")
        }
    }

    /// Writes `data()` to `url` atomically (temporary file in the same directory, then rename).
    func write(_ value: some Encodable, to url: URL) throws(SleepfoldError) {
        let bytes: Data
        do {
            bytes = try data(value)
        } catch {
            throw error.located(file: url.path)
        }
        try AtomicFile.write(bytes, to: url)
    }

    /// Parses the document; `file` names it in errors.
    /// - Throws: `SleepfoldError` naming `file` and the key: `.badVersion` when
    ///   `schema_version` is newer than `currentVersion`, `badCode` when the JSON is
    ///   malformed or a key is missing, null or of the wrong type.
    func decode<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws(SleepfoldError) -> T {
        let decoder = JSONDecoder()
        do {
            let version = try decoder.decode(Version.self, from: data).schemaVersion
            if version > currentVersion {
                throw SleepfoldError(.badVersion, file: file, field: "schema_version", found: "\(version)",
                                     expected: "at most \(currentVersion) (it was written by a newer sleepfold)")
            }
            return try decoder.decode(T.self, from: data)
        } catch let error as SleepfoldError {
            throw error
        } catch let DecodingError.keyNotFound(key, context) {
            throw SleepfoldError(badCode, file: file, field: Self.path(context.codingPath + [key]),
                                 found: "no such key", expected: "it (see \(docs))")
        } catch let DecodingError.typeMismatch(type, context) {
            throw SleepfoldError(badCode, file: file, field: Self.path(context.codingPath),
                                 found: "a value of the wrong type", expected: "\(type)")
        } catch let DecodingError.valueNotFound(type, context) {
            throw SleepfoldError(badCode, file: file, field: Self.path(context.codingPath), found: "null", expected: "\(type)")
        } catch let DecodingError.dataCorrupted(context) {
            throw SleepfoldError(badCode, file: file, field: Self.path(context.codingPath),
                                 "\(context.debugDescription); expected a \(document) as \(docs) describes")
        } catch {
            throw SleepfoldError(badCode, file: file, found: "\(error)", expected: "a \(document)")
        }
    }

    /// The one key read before the rest.
    private struct Version: Decodable {
        let schemaVersion: Int
        enum CodingKeys: String, CodingKey { case schemaVersion = "schema_version" }
    }

    /// A coding path as errors name it: "folds.[2].metrics".
    static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty ? "(top level)" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
