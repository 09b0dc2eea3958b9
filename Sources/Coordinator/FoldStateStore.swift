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
/// A fold's states are removed once its result is journalled: renamed to spares, which
/// the next states are written into (`SpareStateFiles`), and deleted at the run's end.
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
    /// the loop records the result with `noteSaved`. The bytes go to a spare file first
    /// (`SpareStateFiles`: no file created in the steady state), synced, and only then
    /// take the state's name, so `fold-KK.state` is always a whole state: a crash at any
    /// step leaves the old newest state or the new one under it (or, between two renames,
    /// the old one as `.prev` alone), never a torn one.
    /// - Parameter crash: for tests: stop after this step, as a crash there would.
    /// - Throws: `SleepfoldError` (`.io`) naming the file.
    public static func write(_ data: Data, sha256: String, state: FoldStateFile, fold: Int, in directory: URL,
                             spares: inout SpareStateFiles, crash: CrashPoint? = nil) throws -> Saved {
        let prepared = try prepare(data, sha256: sha256, state: state, fold: fold, in: directory, spares: &spares,
                                   durable: true, crashAfter: crash.flatMap { if case .midWrite(let n) = $0 { n } else { nil } })
        if case .midWrite = crash { throw Crashed() }
        return try install(prepared, data, spares: &spares, crash: crash)
    }

    /// A state written to a spare, to take its name with `install`.
    public struct Prepared: Sendable {
        /// The spare holding it.
        let spare: String
        /// What it is once installed.
        public let saved: Saved
        /// Where it goes: `fold-KK.state` in its directory.
        public var path: String { saved.url.path }
    }

    /// `write`'s first step: the bytes into a spare, synced when `durable` (when not, the
    /// caller makes them durable otherwise before `install`: the `StateWriter` syncs a
    /// group's file systems at once).
    public static func prepare(_ data: Data, sha256: String, state: FoldStateFile, fold: Int, in directory: URL,
                               spares: inout SpareStateFiles, durable: Bool, crashAfter: Int? = nil) throws -> Prepared {
        let spare = try spares.write(data, in: directory.path, durable: durable, crashAfter: crashAfter)
        return Prepared(spare: spare, saved: Saved(url: directory.appendingPathComponent(stateName(fold)), sha256: sha256,
                                                   size: data.count, epochsCompleted: state.epochsCompleted,
                                                   nextBatch: state.nextBatch))
    }

    /// `write`'s second step: the newest state becomes the previous (the previous a spare), and
    /// the prepared spare the newest. `data` is the state's bytes (written again, synced, when
    /// the spare is on another file system than its directory).
    public static func install(_ prepared: Prepared, _ data: Data, spares: inout SpareStateFiles,
                               crash: CrashPoint? = nil) throws -> Saved {
        let path = prepared.path, previous = path + ".prev"
        let dir = String(path[..<path.lastIndex(of: "/")!])
        // The previous state becomes a spare; the newest the previous; the spare the newest.
        // A crash between two renames leaves one whole state under a name that is read back.
        // Without a newest (the first state, or a crash left only the previous) the previous stays.
        if access(path, F_OK) == 0 {
            spares.keep(previous, in: dir)
            if crash == .previousKept { throw Crashed() }
            if rename(path, previous) != 0 {
                let code = errno
                spares.keep(prepared.spare, in: dir)
                throw SleepfoldError.system("rename to \(previous)", file: path, errno: code)
            }
        }
        if crash == .newestMoved { throw Crashed() }
        var spare = prepared.spare
        var failure = rename(spare, path) == 0 ? 0 : errno
        if failure == EXDEV {
            // A spare of another run on another file system: this state in a new file here.
            spares.keep(spare, in: dir)
            spare = try spares.write(data, in: dir, fresh: true)
            failure = rename(spare, path) == 0 ? 0 : errno
        }
        if failure != 0 {
            spares.keep(spare, in: dir)
            throw SleepfoldError.system("rename \(spare) to it", file: path, errno: failure)
        }
        return prepared.saved
    }

    /// Where `write` stops (throwing `Crashed`) when a test has it crash.
    public enum CrashPoint: Equatable, Sendable {
        /// Only this many bytes of the new state written to the spare.
        case midWrite(Int)
        /// The spare written and synced, the previous state made a spare.
        case previousKept
        /// ... and the newest state renamed to the previous.
        case newestMoved
    }
    public struct Crashed: Error {}

    /// Makes fold `fold`'s state files in `directory` spares (its result is on disk: they are
    /// no longer needed), off the loop's thread as `write`.
    public static func recycle(fold: Int, in directory: String, spares: inout SpareStateFiles) {
        let path = statePath(fold, in: directory)
        spares.keep(path + ".prev", in: directory)
        spares.keep(path, in: directory)
    }

    /// Fold `fold`'s newest state is `saved` (written by `write`).
    public func noteSaved(_ saved: Saved, fold: Int) { newest[fold] = saved }

    /// Forgets fold `fold`'s states (its result is journalled: they are no longer needed);
    /// the caller recycles their files (`recycle`).
    public func forget(fold: Int) {
        newest[fold] = nil
    }

    public func stateURL(_ fold: Int) -> URL { Self.stateURL(fold, in: directory) }
    public func previousURL(_ fold: Int) -> URL { Self.previousURL(fold, in: directory) }
    public static func stateURL(_ fold: Int, in directory: URL) -> URL {
        directory.appendingPathComponent(stateName(fold))
    }
    public static func previousURL(_ fold: Int, in directory: URL) -> URL {
        directory.appendingPathComponent(stateName(fold) + ".prev")
    }
    /// "fold-KK.state".
    static func stateName(_ fold: Int) -> String { "fold-" + LogNumber.twoDigits(fold) + ".state" }
    /// The state file's path in `directory` (a path: building URLs cost 4 % of the coordinator's
    /// CPU at 1,000 workers).
    static func statePath(_ fold: Int, in directory: String) -> String { directory + "/" + stateName(fold) }

    /// Spares for `save` (a store used on one thread).
    private var spares = SpareStateFiles()

    /// `write` and `noteSaved` in one step, for a caller that owns the store's thread.
    @discardableResult
    public func save(_ data: Data, sha256: String, state: FoldStateFile, fold: Int) throws -> Saved {
        let saved = try Self.write(data, sha256: sha256, state: state, fold: fold, in: directory, spares: &spares)
        noteSaved(saved, fold: fold)
        return saved
    }

    /// `forget` and make the files spares, for a caller that owns the store's thread.
    public func remove(fold: Int) {
        forget(fold: fold)
        Self.recycle(fold: fold, in: directory.path, spares: &spares)
    }

    /// Deletes the spares `save` and `remove` kept.
    public func removeSpares() { spares.removeAll() }
}
