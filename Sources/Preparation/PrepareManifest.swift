import Foundation
import Basics
import Recordings
import Cohorts
import EDF

/// The nights to prepare when file names do not follow Sleep-EDF's pattern:
/// a JSON file listing each night's PSG and hypnogram with its subject.
///
///     {"nights": [
///       {"psg": "raw/patient7-night1.edf", "hypnogram": "raw/patient7-night1-stages.edf",
///        "subject": "patient7", "night": 1, "id": "P7N1"}
///     ]}
///
/// `psg`, `hypnogram` and `subject` are required; paths are relative to the
/// manifest's folder or absolute; `night` is optional; `id` (the output file's
/// name) defaults to the PSG's file name without extension. Ids must be unique.
public enum PrepareManifest {
    public static func read(_ url: URL) throws -> [NightFiles] {
        func fail(_ field: String?, _ found: String, _ expected: String) -> SleepfoldError {
            SleepfoldError(.badManifest, file: url.path, field: field, found: found, expected: expected)
        }
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw SleepfoldError(.fileNotFound, file: url.path, found: "no such file", expected: "a JSON prepare manifest")
        }
        let data = try fileAccess(url.path, cannot: "read the prepare manifest") { try Data(contentsOf: url) }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let entries = root["nights"] as? [Any] else {
            throw fail("nights", "no \"nights\" array", "{\"nights\": [{\"psg\", \"hypnogram\", \"subject\"}, …]}")
        }
        guard !entries.isEmpty else { throw fail("nights", "an empty list", "at least one night") }
        let folder = url.deletingLastPathComponent()
        func path(_ text: String) -> URL {
            text.hasPrefix("/") ? URL(fileURLWithPath: text) : folder.appendingPathComponent(text)
        }
        var nights: [NightFiles] = []
        var seen: Set<String> = []
        for (i, item) in entries.enumerated() {
            guard let entry = item as? [String: Any] else { throw fail("nights[\(i)]", "\(item)", "an object") }
            func text(_ key: String) throws -> String {
                guard let value = entry[key] as? String, !value.isEmpty else {
                    throw fail("nights[\(i)].\(key)", entry[key].map { "\($0)" } ?? "nothing", "a non-empty string")
                }
                return value
            }
            let psg = path(try text("psg")), hypnogram = path(try text("hypnogram"))
            let subject = try text("subject")
            var night: Int?
            if let value = entry["night"] {
                guard let n = value as? Int, n >= 1 else { throw fail("nights[\(i)].night", "\(value)", "a positive integer") }
                night = n
            }
            let id = (entry["id"] as? String) ?? psg.deletingPathExtension().lastPathComponent
            guard !id.isEmpty, !id.contains("/"), seen.insert(id).inserted else {
                throw fail("nights[\(i)].id", "\"\(id)\"", "a unique file name")
            }
            for (field, file) in [("psg", psg), ("hypnogram", hypnogram)] where !FileManager.default.fileExists(atPath: file.path) {
                throw SleepfoldError(.fileNotFound, file: url.path, field: "nights[\(i)].\(field)",
                                     found: "\(file.path), which does not exist", expected: "an existing EDF file")
            }
            nights.append(NightFiles(id: id, subject: subject, night: night, psg: psg, hypnogram: hypnogram))
        }
        return nights
    }
}
