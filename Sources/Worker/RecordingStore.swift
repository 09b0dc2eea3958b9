import Foundation
import Basics
import Recordings
import Cohorts
import Evaluation
import SleepNet
import Shared

extension SleepfoldError.Code {
    /// A recording's bytes (in the shared data, or as received) do not have the
    /// SHA-256 the coordinator's task names.
    public static let recordingHashMismatch = Self("recordingHashMismatch")
}

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

    /// The local file for `ref` if one with the right content is here, else nil.
    /// - Throws: `SleepfoldError` (`.recordingHashMismatch`) if the shared data has the
    ///   file but with other content.
    ///   A fold state (`sharedData` false) is never looked for in the shared data.
    func localFile(for ref: Sleepfold_RecordingRef, sharedData: Bool = true) throws -> URL? {
        if let dataDirectory, sharedData {
            let url = try manifestFiles.map { $0[ref.id] } ?? dataFile(named: ref.fileName, in: dataDirectory)
            if let url, FileManager.default.fileExists(atPath: url.path) {
                let digest = try sha256(url)
                guard digest == ref.sha256 else {
                    throw SleepfoldError(.recordingHashMismatch, file: url.path,
                                         "SHA-256 \(digest.prefix(12))…, expected \(ref.sha256.prefix(12))… as the coordinator's copy of \(ref.id) has; " +
                                         "is --data the same data as the coordinator's?")
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

    /// `name` in the data directory, checked to stay directly inside it once standardized
    /// (a symlink placed there by whoever owns the data is followed, as before).
    /// - Throws: `SleepfoldError` (`.invalidFoldTask`, field `file_name`) otherwise.
    private func dataFile(named name: String, in directory: URL) throws -> URL {
        let base = directory.standardizedFileURL
        let url = base.appendingPathComponent(name).standardizedFileURL
        guard Sleepfold_FoldTask.isPlainName(name), url.deletingLastPathComponent().path == base.path else {
            throw SleepfoldError(.invalidFoldTask, file: directory.path, field: "file_name",
                                 found: "\"\(name.prefix(80))\"", expected: "a file directly inside the data directory")
        }
        return url
    }

    func cacheURL(for ref: Sleepfold_RecordingRef) -> URL {
        cacheDirectory.appendingPathComponent("\(ref.sha256).npz")
    }

    /// Where this process receives `ref`: its own file (by process and recording id), so neither
    /// workers sharing the cache nor two recordings with equal content write into one.
    func partialURL(for ref: Sleepfold_RecordingRef) -> URL {
        cacheDirectory.appendingPathComponent("\(ref.sha256).\(ref.id).npz.part-\(ProcessInfo.processInfo.processIdentifier)")
    }

    /// Creates (or empties) the file that receives `ref` (`partialURL(for:)`) and opens it for writing.
    /// - Throws: `SleepfoldError` (`.io`, with errno) when the file cannot be created.
    func createPartial(for ref: Sleepfold_RecordingRef) throws -> FileHandle {
        let url = partialURL(for: ref)
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            let code = errno
            throw SleepfoldError(.io, file: url.path,
                                 "cannot create it to receive recording \(ref.id): \(String(cString: strerror(code))) (errno \(code)); " +
                                 "expected a writable cache directory (--cache)", errno: code)
        }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// Moves a completely received file into the cache after checking its hash.
    /// - Throws: `SleepfoldError`: `.recordingHashMismatch` (the file is removed), or
    ///   `.io` with errno when it cannot be moved into place.
    func commit(partial: URL, for ref: Sleepfold_RecordingRef) throws -> URL {
        let digest = try sha256(partial)
        guard digest == ref.sha256 else {
            try? FileManager.default.removeItem(at: partial)
            throw SleepfoldError(.recordingHashMismatch, file: partial.path,
                                 "recording \(ref.id) as received from the coordinator has SHA-256 \(digest.prefix(12))…, " +
                                 "expected \(ref.sha256.prefix(12))…")
        }
        let final = cacheURL(for: ref)
        // rename(2) replaces atomically: another worker reading `final` sees the old or the new (equal) file.
        guard rename(partial.path, final.path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(at: partial)
            throw SleepfoldError.system("rename to \(final.path)", file: partial.path, errno: code)
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
