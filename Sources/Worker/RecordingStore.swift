import Foundation
import Basics
import Recordings
import Cohorts
import Evaluation
import SleepNet
import Shared

/// Finds the recordings a fold needs on this machine: in shared data (`--data`:
/// a directory, or a cohort manifest naming each file), or in the worker's cache,
/// where recordings fetched from the coordinator are kept under their content hash.
///
/// Every file is checked against the task's SHA-256 before training uses it;
/// a hash is computed once per (path, size, modification time). Several workers
/// may share one cache: each receives into a file of its own and renames it into
/// place, which is atomic.
final class RecordingStore {
    let dataDirectory: URL?
    let cacheDirectory: URL
    /// Recording id → file, when `--data` is a manifest.
    private let manifestFiles: [String: URL]?
    private var verified: [String: String] = [:]   // "path|size|mtime" → sha256

    init(dataDirectory: URL?, cacheDirectory: URL) throws {
        var isDirectory: ObjCBool = false
        if let data = dataDirectory, FileManager.default.fileExists(atPath: data.path, isDirectory: &isDirectory),
           !isDirectory.boolValue {
            let entries = try Cohort.entries(data)
            manifestFiles = Dictionary(entries.map { ($0.id, $0.url) }, uniquingKeysWith: { first, _ in first })
        } else {
            manifestFiles = nil
        }
        self.dataDirectory = dataDirectory
        self.cacheDirectory = cacheDirectory
        try FileManager.default.createDirectory(at: cacheDirectory, withIntermediateDirectories: true)
    }

    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    /// The local file for `ref` if one with the right content is here, else nil.
    /// Throws if the shared directory has the file but with other content.
    func localFile(for ref: Sleepfold_RecordingRef) throws -> URL? {
        if let dataDirectory {
            let url = manifestFiles.map { $0[ref.id] } ?? dataDirectory.appendingPathComponent(ref.fileName)
            if let url, FileManager.default.fileExists(atPath: url.path) {
                let digest = try sha256(url)
                guard digest == ref.sha256 else {
                    throw Missing(description: "\(url.path): SHA-256 \(digest.prefix(12))…, but the coordinator's copy of \(ref.id) has \(ref.sha256.prefix(12))…; is --data the same directory as the coordinator's?")
                }
                return url
            }
        }
        let cached = cacheURL(for: ref)
        if FileManager.default.fileExists(atPath: cached.path) {
            if try sha256(cached) == ref.sha256 { return cached }
            try? FileManager.default.removeItem(at: cached)
        }
        return nil
    }

    func cacheURL(for ref: Sleepfold_RecordingRef) -> URL {
        cacheDirectory.appendingPathComponent("\(ref.sha256).npz")
    }

    /// Where this process receives `ref`: its own file (by process and recording id), so neither
    /// workers sharing the cache nor two recordings with equal content write into one.
    func partialURL(for ref: Sleepfold_RecordingRef) -> URL {
        cacheDirectory.appendingPathComponent("\(ref.sha256).\(ref.id).npz.part-\(ProcessInfo.processInfo.processIdentifier)")
    }

    /// Moves a completely received file into the cache after checking its hash.
    func commit(partial: URL, for ref: Sleepfold_RecordingRef) throws -> URL {
        let digest = try sha256(partial)
        guard digest == ref.sha256 else {
            try? FileManager.default.removeItem(at: partial)
            throw Missing(description: "recording \(ref.id) received from the coordinator has SHA-256 \(digest.prefix(12))…, expected \(ref.sha256.prefix(12))…")
        }
        let final = cacheURL(for: ref)
        // rename(2) replaces atomically: another worker reading `final` sees the old or the new (equal) file.
        guard rename(partial.path, final.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: partial)
            throw Missing(description: "cannot move \(partial.path) to \(final.path): \(reason)")
        }
        return final
    }

    private func sha256(_ url: URL) throws -> String {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? -1
        let mtime = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let key = "\(url.path)|\(size)|\(mtime)"
        if let known = verified[key] { return known }
        let digest = try SHA256.hexDigest(ofFile: url)
        verified[key] = digest
        return digest
    }
}
