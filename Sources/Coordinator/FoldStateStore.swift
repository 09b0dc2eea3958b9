import Foundation
import Basics
import Recordings
import Shared

/// The newest saved state of each unfinished fold of one run, so that a fold sent
/// out again continues where its last worker stopped (docs/fold-state.md):
/// `states/fold-KK.state` in the run directory, written atomically, and the one
/// before it kept as `fold-KK.state.prev`. A restarted coordinator takes the
/// newest file that passes `FoldStateFile`'s checks (fingerprint, digest) and
/// falls back to the previous one, so a torn or foreign file never resurrects.
/// A fold's states are removed once its result is journalled.
public final class FoldStateStore {
    public struct Saved: Sendable, Equatable {
        public let url: URL
        public let sha256: String
        public let size: Int
        public let epochsCompleted: Int
        public let nextBatch: Int

        /// How a task names it: fetched like a recording, by this id and digest.
        public var ref: Sleepfold_RecordingRef {
            .with {
                $0.id = "fold-state-\(sha256)"
                $0.sha256 = sha256
                $0.sizeBytes = UInt64(size)
                $0.fileName = url.lastPathComponent
            }
        }

        /// "after epoch 3" or "after epoch 3 and 17 batches".
        public var position: String {
            "after epoch \(epochsCompleted)" + (nextBatch > 0 ? " and \(nextBatch) batches" : "")
        }
    }

    public let directory: URL
    public private(set) var newest: [Int: Saved] = [:]

    /// Finds the states of `folds` (fold → its state fingerprint) in `directory`.
    /// - Parameter warn: what is wrong with a file that is passed over.
    public init(directory: URL, folds: [Int: String], warn: (String) -> Void) {
        self.directory = directory
        for (fold, fingerprint) in folds.sorted(by: { $0.key < $1.key }) {
            var passedOver = false
            for url in [stateURL(fold), previousURL(fold)] {
                guard let data = FileManager.default.contents(atPath: url.path) else { continue }
                do {
                    let state = try FoldStateFile(data, fingerprint: fingerprint, source: url.path)
                    newest[fold] = Saved(url: url, sha256: SHA256.hexDigest(data), size: data.count,
                                         epochsCompleted: state.epochsCompleted, nextBatch: state.nextBatch)
                    break
                } catch {
                    warn("\(error); passed over")
                    passedOver = true
                }
            }
            if passedOver && newest[fold] == nil { warn("fold \(fold): no sound saved state; it starts from epoch 1") }
        }
    }

    /// Writes fold `fold`'s newest state (checked by the caller) in `directory`, keeping the
    /// one before; touches no store, so the `StateWriter` calls it off the loop's thread, and
    /// the loop records the result with `noteSaved`.
    /// - Throws: `SleepfoldError` (`.io`) naming the file.
    public static func write(_ data: Data, sha256: String, state: FoldStateFile, fold: Int, in directory: URL) throws -> Saved {
        try fileAccess(directory.path, cannot: "create the states directory") {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        let url = stateURL(fold, in: directory), previous = previousURL(fold, in: directory)
        // rename(2) replaces `previous` atomically; a crash right after leaves only the previous state, which is valid.
        if FileManager.default.fileExists(atPath: url.path), rename(url.path, previous.path) != 0 {
            throw SleepfoldError.system("rename to \(previous.path)", file: url.path, errno: errno)
        }
        try AtomicFile.write(data, to: url)
        return Saved(url: url, sha256: sha256, size: data.count, epochsCompleted: state.epochsCompleted,
                     nextBatch: state.nextBatch)
    }

    /// Fold `fold`'s newest state is `saved` (written by `write`).
    public func noteSaved(_ saved: Saved, fold: Int) { newest[fold] = saved }

    /// Forgets fold `fold`'s states (its result is journalled: they are no longer needed)
    /// and returns their files, for the caller to remove.
    public func forget(fold: Int) -> [URL] {
        newest[fold] = nil
        return [stateURL(fold), previousURL(fold)]
    }

    public func stateURL(_ fold: Int) -> URL { Self.stateURL(fold, in: directory) }
    public func previousURL(_ fold: Int) -> URL { Self.previousURL(fold, in: directory) }
    public static func stateURL(_ fold: Int, in directory: URL) -> URL {
        directory.appendingPathComponent("fold-\(LogNumber.twoDigits(fold)).state")
    }
    public static func previousURL(_ fold: Int, in directory: URL) -> URL {
        directory.appendingPathComponent("fold-\(LogNumber.twoDigits(fold)).state.prev")
    }

    /// `write` and `noteSaved` in one step, for a caller that owns the store's thread.
    @discardableResult
    public func save(_ data: Data, sha256: String, state: FoldStateFile, fold: Int) throws -> Saved {
        let saved = try Self.write(data, sha256: sha256, state: state, fold: fold, in: directory)
        noteSaved(saved, fold: fold)
        return saved
    }

    /// `forget` and remove the files, for a caller that owns the store's thread.
    public func remove(fold: Int) {
        for url in forget(fold: fold) { try? FileManager.default.removeItem(at: url) }
    }
}
