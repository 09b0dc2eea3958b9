import Foundation
import Basics

/// Files of finished folds' states, kept (renamed to `.spare-N` in their `states/`
/// directory) for the next states to be written into, instead of being unlinked while
/// new ones are created.
///
/// Why: creating a file is the dearest step of saving a state. ext4 without a journal
/// (this project's VMs) skips, for every new inode, each one freed in the last 30 s and
/// looks it up; at 1,000 workers a state and a checkpoint are created and two states
/// freed per result, and creating files cost 15 % of the coordinator's CPU
/// (Benchmarks/load/results/profile-jitter-0a61565.txt). Rewriting a spare reuses its
/// inode and blocks. The spares of all runs are one pool: a study's runs start one after
/// another (longest first), so a run's first states come before any of its folds is done,
/// and are written into the spares of runs before it (renamed across directories).
///
/// A spare's content is never read: a state is read back only under the names
/// `fold-KK.state` and `fold-KK.state.prev`, and only once it passes `FoldStateFile`'s
/// checks. A spare is written whole and made durable (synced, or logged in the write-ahead
/// log and the log synced) before it is renamed to such a name, so a crash mid-write leaves a
/// torn spare, not a torn state. The spares at most number
/// the state files at their peak; `removeAll` deletes them when the coordinator ends, and
/// a coordinator that starts takes (`adopt`) those a crashed one left.
/// Not thread-safe: one owner (the `StateWriter`'s queue, or a `FoldStateStore`).
public struct SpareStateFiles {
    /// Spare paths, the last kept first out; a directory's leftovers (a crash) join on its first use.
    private var spares: [String] = []
    /// The next spare number to name, by directory (present once the directory is looked at).
    private var next: [String: Int] = [:]

    /// What the file name of a spare starts with.
    static let prefix = ".spare-"

    public init() {}

    /// Writes `data` to a spare (a new file in `directory` when there is none, or with
    /// `fresh`), synced unless `durable` is false; returns its path, which may be in another
    /// run's directory. The caller renames it into place, or hands it back with `keep`.
    /// - Parameter crashAfter: for tests: write only this many bytes and stop, as a crash would.
    /// - Throws: `SleepfoldError` (`.io`, errno) naming the file.
    mutating func write(_ data: Data, in directory: String, fresh: Bool = false, durable: Bool = true,
                        crashAfter: Int? = nil) throws -> String {
        discover(directory)
        var fd: Int32 = -1
        var path = ""
        while !fresh, fd < 0, let spare = spares.popLast() {
            // A spare that went missing (removed by hand) is passed over.
            fd = open(spare, O_WRONLY | O_CLOEXEC)
            path = spare
        }
        if fd < 0 {
            path = newName(in: directory)
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SleepfoldError.system("create", file: path, errno: errno) }
        }
        defer { close(fd) }
        let count = min(data.count, crashAfter ?? data.count)
        let failure = data.withUnsafeBytes { writeFully(fd, UnsafeRawBufferPointer(rebasing: $0.prefix(count)), at: 0) }
        if crashAfter != nil { return path }
        // The spare may have held a longer state: cut it to this one's length. fdatasync, not
        // fsync: the length is synced with the bytes, a spare's times need not be.
        let cut = failure == 0 && (lseek(fd, 0, SEEK_END) == off_t(data.count) || ftruncate(fd, off_t(data.count)) == 0)
        guard failure == 0, cut, !durable || fdatasync(fd) == 0 else {
            let code = failure != 0 ? failure : errno
            spares.append(path)   // still a spare (its content never counts)
            throw SleepfoldError.system("write", file: path, errno: code)
        }
        return path
    }

    /// Makes the file at `path` in `directory` (a state no longer needed, or a spare) a spare,
    /// renamed to a spare's name unless it has one; nothing when there is no such file.
    mutating func keep(_ path: String, in directory: String) {
        if path.split(separator: "/").last?.hasPrefix(Self.prefix) == true {
            spares.append(path)
            return
        }
        discover(directory)
        let spare = newName(in: directory)
        if rename(path, spare) == 0 { spares.append(spare) }
    }

    /// Takes the spares an earlier coordinator left in `directories` (a crash): a coordinator
    /// that starts takes those of all its runs, so that they are reused and deleted at its end.
    public mutating func adopt(_ directories: [String]) {
        for directory in directories { discover(directory) }
    }

    /// Deletes every spare (the coordinator's end: no state is left to write).
    public mutating func removeAll() {
        for path in spares { unlink(path) }
        spares = []
    }

    /// A name no spare of `directory` has.
    private mutating func newName(in directory: String) -> String {
        let n = next[directory, default: 0]
        next[directory] = n + 1
        return directory + "/" + Self.prefix + String(n)
    }

    /// On the first use of `directory`: creates it if it is missing, and takes its spares left
    /// by an earlier coordinator.
    private mutating func discover(_ directory: String) {
        guard next[directory] == nil else { return }
        // A directory that cannot be created fails the write that follows, naming the file.
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var highest = -1
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(Self.prefix) {
            guard let n = Int(name.dropFirst(Self.prefix.count)) else { continue }
            spares.append(directory + "/" + name)
            highest = max(highest, n)
        }
        next[directory] = highest + 1
    }
}
