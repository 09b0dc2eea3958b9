import Foundation
import Basics
import Recordings

/// One recording file of a cohort and whose it is, before the file is read.
public struct CohortEntry: Equatable, Sendable, Codable {
    /// Recording id: the file name without extension.
    public var id: String
    /// The `.npz` file.
    public var url: URL
    /// Subject id.
    public var subject: String
    /// Night number, if known.
    public var night: Int?

    public init(id: String, url: URL, subject: String, night: Int?) {
        self.id = id
        self.url = url
        self.subject = subject
        self.night = night
    }
}

/// A checked set of recordings grouped into subjects, from a directory or a manifest.
///
/// **Directory**: every `*.npz` file directly inside it, sorted by file name. Each
/// name must follow the Sleep-EDF pattern (`SC4ssN…` or `ST7ssN…`; `ss` = subject,
/// `N` = night), and one directory must not mix SC4 and ST7 files (their subject
/// numbers denote different people). Other names need a manifest.
///
/// **Manifest**: a JSON file listing the recordings in the order given:
/// ```json
/// {
///   "recordings": [
///     {"path": "nights/a-1.npz", "subject": "A", "night": 1},
///     {"path": "/data/other/b.npz", "subject": "B"}
///   ]
/// }
/// ```
/// `path` (required) is relative to the manifest's folder, or absolute; `subject`
/// (required) is a non-empty string; `night` (optional) is an integer. Other keys
/// are ignored. Recording ids (file names without extension) must be unique.
///
/// Scanning checks every file (see `RecordingSummary.init(scanning:…)`) and
/// collects all problems into one `SleepfoldError` (`.invalidCohort`) whose `problems`
/// name each file.
public struct Cohort: Sendable {
    /// The directory or manifest the cohort was read from.
    public var source: URL
    /// The recordings, in directory (file-name) or manifest order.
    public var recordings: [RecordingSummary]
    /// The rate every recording was checked against (nil: any rate).
    public var expectedSampleRate: Double?

    public init(source: URL, recordings: [RecordingSummary], expectedSampleRate: Double?) {
        self.source = source
        self.recordings = recordings
        self.expectedSampleRate = expectedSampleRate
    }

    /// Subject ids in order of first appearance (sorted for Sleep-EDF directories).
    public var subjects: [String] {
        var seen = Set<String>()
        return recordings.map(\.subject).filter { seen.insert($0).inserted }
    }

    /// The nights of `subject`, in cohort order.
    public func recordings(ofSubject subject: String) -> [RecordingSummary] {
        recordings.filter { $0.subject == subject }
    }

    /// The recording with id `id`, if any.
    public func recording(id: String) -> RecordingSummary? {
        recordings.first { $0.id == id }
    }

    /// Total epochs over all recordings.
    public var epochCount: Int { recordings.reduce(0) { $0 + $1.epochCount } }

    /// Loads one recording completely (signal included), with the same checks as the scan.
    public func load(_ summary: RecordingSummary) throws -> Recording {
        try Recording(contentsOf: summary.url, subject: summary.subject, night: summary.night,
                      expectedSampleRate: expectedSampleRate)
    }

    /// Scans a directory of Sleep-EDF-named files or a manifest, whichever `url` is.
    ///
    /// - Parameters:
    ///   - expectedSampleRate: the rate every `fs` must equal (nil: any rate).
    ///   - checkSignal: stream every x to check for NaN/infinity (reads all data once).
    ///   - computeHashes: fill in each summary's `contentHash` (SHA-256 of the file).
    /// - Throws: `SleepfoldError` `.invalidCohort` naming `url`, with every problem in
    ///   `problems`, each naming its file.
    public static func scan(_ url: URL, expectedSampleRate: Double? = Recording.standardSampleRate,
                            checkSignal: Bool = true, computeHashes: Bool = false) throws -> Cohort {
        let (entries, listingProblems) = try listing(url)
        var problems = listingProblems
        var summaries: [RecordingSummary] = []
        for entry in entries {
            do {
                summaries.append(try RecordingSummary(scanning: entry.url, subject: entry.subject, night: entry.night,
                                                      expectedSampleRate: expectedSampleRate,
                                                      checkSignal: checkSignal, computeHash: computeHashes))
            } catch {
                problems.append(SleepfoldError.fileAccess(error, file: entry.url.path, cannot: "read the recording"))
            }
        }
        guard problems.isEmpty else {
            // Group the problems by file, keeping each file's own order.
            let ordered = problems.enumerated().sorted { ($0.element.file ?? "", $0.offset) < ($1.element.file ?? "", $1.offset) }
            throw SleepfoldError.invalidCohort(url.path, ordered.map(\.element))
        }
        return Cohort(source: url, recordings: summaries, expectedSampleRate: expectedSampleRate)
    }

    /// The recordings a directory or manifest names, without reading them.
    ///
    /// - Throws: `SleepfoldError` `.invalidCohort` for file names without the Sleep-EDF pattern, mixed
    ///   SC4/ST7 directories, an unreadable or malformed manifest, duplicate ids.
    public static func entries(_ url: URL) throws -> [CohortEntry] {
        let (entries, problems) = try listing(url)
        guard problems.isEmpty else { throw SleepfoldError.invalidCohort(url.path, problems) }
        return entries
    }

    /// Entries that could be resolved, and the problems with the others.
    /// Throws only when there is nothing to list at all.
    private static func listing(_ url: URL) throws -> ([CohortEntry], [SleepfoldError]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw SleepfoldError.invalidCohort(url.path, [
                SleepfoldError(.fileNotFound, file: url.path, found: "no such file or directory",
                               expected: "a directory of .npz recordings or a JSON manifest"),
            ])
        }
        return isDirectory.boolValue ? try directoryListing(url) : try manifestListing(url)
    }

    /// `*.npz` files of a directory named by the Sleep-EDF pattern.
    private static func directoryListing(_ directory: URL) throws -> ([CohortEntry], [SleepfoldError]) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw SleepfoldError.invalidCohort(directory.path, [
                SleepfoldError.fileAccess(error, file: directory.path, cannot: "list the directory"),
            ])
        }
        let files = names.filter { !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".npz") }.sorted()
        guard !files.isEmpty else {
            throw SleepfoldError.invalidCohort(directory.path, [
                SleepfoldError(.noRecordings, file: directory.path, found: "no .npz files in the directory",
                               expected: "recordings named *.npz (or a manifest listing them)"),
            ])
        }
        var entries: [CohortEntry] = []
        var problems: [SleepfoldError] = []
        var studies = Set<SleepEDFName.Study>()
        for file in files {
            let url = directory.appendingPathComponent(file)
            do {
                let (subject, night) = try Recording.identity(of: url, subject: nil, night: nil)
                if let name = SleepEDFName(fileName: file) { studies.insert(name.study) }
                entries.append(CohortEntry(id: Recording.id(of: url), url: url, subject: subject, night: night))
            } catch {
                problems.append(SleepfoldError.fileAccess(error, file: url.path, cannot: "name the recording"))
            }
        }
        problems += duplicateProblems(entries, file: { $0.url.path }, place: { "file \(entries[$0].url.lastPathComponent)" })
        if studies.count > 1 {
            problems.append(SleepfoldError(.mixedStudies, file: directory.path,
                                           "found Sleep Cassette (SC4…) and Sleep Telemetry (ST7…) files, whose "
                                           + "subject numbers denote different people, expected one study; put them in "
                                           + "separate directories or give explicit subjects in a manifest"))
        }
        return (entries, problems)
    }

    /// Recordings listed in a manifest JSON (format in the type's documentation).
    private static func manifestListing(_ manifest: URL) throws -> ([CohortEntry], [SleepfoldError]) {
        func fail(_ field: String?, found: String, expected: String) -> SleepfoldError {
            SleepfoldError.invalidCohort(manifest.path, [
                SleepfoldError(.badManifest, file: manifest.path, field: field, found: found, expected: expected),
            ])
        }
        let bytes: Data
        do {
            bytes = Data(try readFile(manifest))
        } catch {
            throw SleepfoldError.invalidCohort(manifest.path, [SleepfoldError.fileAccess(error, file: manifest.path, cannot: "read")])
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: bytes)
        } catch {
            throw fail(nil, found: "text that is not valid JSON (\(error.localizedDescription))",
                       expected: "a JSON manifest {\"recordings\": [...]}")
        }
        guard let top = json as? [String: Any] else {
            throw fail(nil, found: "\(jsonKind(json)) at the top level", expected: "a JSON object {\"recordings\": [...]}")
        }
        guard let items = top["recordings"] as? [Any] else {
            throw fail("recordings", found: jsonKind(top["recordings"]), expected: "the key \"recordings\" with an array of recordings")
        }
        guard !items.isEmpty else { throw fail("recordings", found: "an empty array", expected: "at least one recording") }
        let folder = manifest.deletingLastPathComponent()
        var entries: [CohortEntry] = []
        var places: [String] = []
        var problems: [SleepfoldError] = []
        for (index, item) in items.enumerated() {
            let place = "recordings[\(index)]"
            func problem(_ key: String, _ found: String, _ expected: String) {
                problems.append(SleepfoldError(.badManifest, file: manifest.path, field: place + key, found: found, expected: expected))
            }
            guard let fields = item as? [String: Any] else {
                problem("", jsonKind(item), "an object with \"path\" and \"subject\"")
                continue
            }
            guard let path = fields["path"] as? String, !path.isEmpty else {
                problem(".path", jsonKind(fields["path"]), "a non-empty string (the .npz file)")
                continue
            }
            guard let subject = fields["subject"] as? String, !subject.isEmpty else {
                problem(".subject", jsonKind(fields["subject"]), "a non-empty string")
                continue
            }
            var night: Int?
            if let value = fields["night"], !(value is NSNull) {
                guard let number = value as? NSNumber, !isBoolean(number),
                      let integer = Int(exactly: number.doubleValue) else {
                    problem(".night", jsonKind(value), "an integer")
                    continue
                }
                night = integer
            }
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path)
                                          : folder.appendingPathComponent(path).standardizedFileURL
            entries.append(CohortEntry(id: Recording.id(of: url), url: url, subject: subject, night: night))
            places.append("\(place) (\(path))")
        }
        problems += duplicateProblems(entries, file: { _ in manifest.path }, place: { places[$0] })
        return (entries, problems)
    }

    /// One problem per recording whose id an earlier one already has; `place(i)`
    /// says where entry `i` comes from, for the message.
    private static func duplicateProblems(_ entries: [CohortEntry], file: (CohortEntry) -> String,
                                          place: (Int) -> String) -> [SleepfoldError] {
        var firstIndex: [String: Int] = [:]
        var problems: [SleepfoldError] = []
        for (index, entry) in entries.enumerated() {
            if let first = firstIndex[entry.id] {
                problems.append(SleepfoldError(.duplicateRecording, file: file(entry), field: place(index),
                                               found: "recording id '\(entry.id)', as \(place(first)) has",
                                               expected: "recording ids (file names without extension) unique in a cohort"))
            } else {
                firstIndex[entry.id] = index
            }
        }
        return problems
    }
}

/// A JSON value's kind for messages: "a string", "a number (3)", "nothing".
private func jsonKind(_ value: Any?) -> String {
    switch value {
    case nil: return "nothing"
    case is NSNull: return "null"
    case let number as NSNumber: return isBoolean(number) ? "a boolean" : "a number (\(number))"
    case let string as String: return string.isEmpty ? "an empty string" : "a string"
    case is [Any]: return "an array"
    case is [String: Any]: return "an object"
    case let other?: return "\(type(of: other))"
    }
}

/// Whether a JSONSerialization number came from `true`/`false`.
private func isBoolean(_ number: NSNumber) -> Bool {
    #if canImport(Darwin)
    return CFGetTypeID(number) == CFBooleanGetTypeID()
    #else
    return String(cString: number.objCType) == "c"
    #endif
}

// Cohort codes (a recording's own problems have the codes of Recording+NPZ.swift).
extension SleepfoldError.Code {
    /// A cohort with problems; each is one of `problems`, naming its file.
    public static let invalidCohort = Self("invalidCohort")
    /// A directory with no `.npz` files (or, preparing, no PSG/hypnogram pair).
    public static let noRecordings = Self("noRecordings")
    /// Sleep-EDF cassette (SC4) and telemetry (ST7) names mixed in one directory.
    public static let mixedStudies = Self("mixedStudies")
    /// A manifest that is not valid JSON or not of the documented form.
    public static let badManifest = Self("badManifest")
    /// Two recordings of a cohort share an id.
    public static let duplicateRecording = Self("duplicateRecording")
}

extension SleepfoldError {
    /// The one error of a cohort with problems: `.invalidCohort` naming `source` (the
    /// directory or manifest), the problems in `problems`.
    static func invalidCohort(_ source: String, _ problems: [SleepfoldError]) -> SleepfoldError {
        let count = problems.count == 1 ? "1 problem" : "\(problems.count) problems"
        return SleepfoldError(.invalidCohort, file: source, "found \(count) (listed below), expected none",
                              problems: problems)
    }
}
