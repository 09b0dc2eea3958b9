import Foundation
import Basics
import Recordings
import Cohorts

/// A study's cohort scan, remembered between restarts: what `Cohort.scan(…, computeHashes:
/// true)` found for each file (its summary and SHA-256), keyed by the file's path, size,
/// inode, modification and status-change times. A restarted study reads and hashes again
/// only the files that changed; the scan of a large cohort (gigabytes of nights) is
/// otherwise most of a restart.
///
/// A changed file is still found: writing a file moves its status-change time (ctime),
/// which no program can set back, and replacing it changes its inode. Only files whose
/// times are `settle` seconds older than the scan are remembered, so a file written again
/// within the same timestamp tick (coarse clocks, network file systems) as the scan
/// cannot look unchanged.
public struct CohortScanCache: Codable, Sendable {
    public static let fileName = "cohort-scan.json"
    static let format = "sleepfold-cohort-scan/1"
    /// Seconds a file's times must lie before the scan for the file to be remembered.
    public static let defaultSettle = 2.0   // s

    /// One remembered file.
    struct Entry: Codable, Sendable, Equatable {
        var stamp: Stamp
        var summary: RecordingSummary
    }

    /// What identifies a file's content without reading it.
    struct Stamp: Codable, Sendable, Equatable {
        var size: Int64
        var inode: UInt64
        /// Modification and status-change times, ns since 1970.
        var modified: Int64
        var changed: Int64
        /// The scan's settings: the sample rate every file was checked against.
        var expectedSampleRate: Double?
    }

    var format = Self.format
    /// By path.
    var entries: [String: Entry] = [:]

    /// What a scan found, and which files it read again (by id; all of them on a first scan).
    public struct Scan: Sendable {
        public let cohort: Cohort
        public let rescanned: [String]
    }

    /// Scans `url` as `Cohort.scan(url, expectedSampleRate:, computeHashes: true)` does, reading
    /// only the files that changed since the scan remembered in `cacheFile`, and remembers this one.
    /// A cache that cannot be read is ignored (everything is read); one that cannot be written
    /// costs the next restart a full scan, nothing else.
    ///
    /// - Throws: what `Cohort.scan` throws (a file that fails its checks: all problems, by file).
    public static func scan(_ url: URL, expectedSampleRate: Double?, cacheFile: URL,
                            settle: Double = defaultSettle) throws -> Scan {
        var cache = (try? JSONDecoder().decode(Self.self, from: Data(contentsOf: cacheFile))) ?? Self()
        if cache.format != Self.format { cache = Self() }
        let entries: [CohortEntry]
        do {
            entries = try Cohort.entries(url)
        } catch {
            _ = try Cohort.scan(url, expectedSampleRate: expectedSampleRate, computeHashes: true)   // its whole report
            throw error
        }
        let now = Date().timeIntervalSince1970
        var summaries: [RecordingSummary] = [], rescanned: [String] = [], next = Self()
        for entry in entries {
            let path = entry.url.path
            let stamp = Self.stamp(of: path, expectedSampleRate: expectedSampleRate)
            if let stamp, let known = cache.entries[path], known.stamp == stamp,
               known.summary.id == entry.id, known.summary.subject == entry.subject, known.summary.night == entry.night {
                summaries.append(known.summary)
                next.entries[path] = known
                continue
            }
            let summary: RecordingSummary
            do {
                summary = try RecordingSummary(scanning: entry.url, subject: entry.subject, night: entry.night,
                                               expectedSampleRate: expectedSampleRate, checkSignal: true, computeHash: true)
            } catch {
                // The scan's own report names every problem of every file.
                _ = try Cohort.scan(url, expectedSampleRate: expectedSampleRate, computeHashes: true)
                throw error
            }
            summaries.append(summary)
            rescanned.append(entry.id)
            // Remembered only if the file has settled (and did not change while we read it).
            if let stamp, Double(max(stamp.modified, stamp.changed)) / 1e9 < now - settle,
               Self.stamp(of: path, expectedSampleRate: expectedSampleRate) == stamp {
                next.entries[path] = Entry(stamp: stamp, summary: summary)
            }
        }
        if next.entries != cache.entries, let data = try? JSONEncoder().encode(next) {
            try? AtomicFile.write(data, to: cacheFile)
        }
        return Scan(cohort: Cohort(source: url, recordings: summaries, expectedSampleRate: expectedSampleRate),
                    rescanned: rescanned)
    }

    /// The file's stamp; nil when it cannot be read (the scan then names the problem).
    static func stamp(of path: String, expectedSampleRate: Double?) -> Stamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Stamp(size: Int64(info.st_size), inode: UInt64(info.st_ino),
                     modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
                     changed: Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec),
                     expectedSampleRate: expectedSampleRate)
    }
}
