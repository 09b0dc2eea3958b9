import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import Studies
import TestSupport

/// A restarted study reads and hashes only the files that changed; what it finds is what a
/// full scan finds, and a file changed behind its back (same size, times set back) is read again.
@Suite struct CohortScanCacheTests {
    static let settle = 0.05   // s: the tests' files settle quickly (a study waits 2 s)

    func cohort() throws -> URL {
        let root = try TestFixtures.scratchDirectory()
        let data = root.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for name in ["SC4001E0.npz", "SC4002E0.npz", "SC4011E0.npz"] {
            try FileManager.default.copyItem(at: try TestFixtures.url("cohort/sleepedf/\(name)"),
                                             to: data.appendingPathComponent(name))
        }
        // SC4001E0 as `Recording.write` writes it, so the test can rewrite it at the same size.
        let first = data.appendingPathComponent("SC4001E0.npz")
        try Recording(contentsOf: first).write(to: first)
        Thread.sleep(forTimeInterval: 2 * Self.settle)
        return root
    }

    func sameAsFullScan(_ scan: CohortScanCache.Scan, _ data: URL) throws {
        let full = try Cohort.scan(data, computeHashes: true)
        #expect(scan.cohort.recordings == full.recordings)
        #expect(scan.cohort.recordings.allSatisfy { $0.contentHash?.count == 64 })
    }

    @Test func unchangedFilesAreNotReadAgainAndAChangedOneIs() throws {
        let root = try cohort()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data"), cache = root.appendingPathComponent(CohortScanCache.fileName)
        let rate = Recording.standardSampleRate

        let first = try CohortScanCache.scan(data, expectedSampleRate: rate, cacheFile: cache, settle: Self.settle)
        #expect(first.rescanned == ["SC4001E0", "SC4002E0", "SC4011E0"])
        try sameAsFullScan(first, data)
        let second = try CohortScanCache.scan(data, expectedSampleRate: rate, cacheFile: cache, settle: Self.settle)
        #expect(second.rescanned.isEmpty)
        try sameAsFullScan(second, data)

        // Rewrite one night with other labels (same size), and set its modification time
        // back: only the status-change time, which no program sets, tells.
        let changed = data.appendingPathComponent("SC4001E0.npz")
        var before = stat()
        #expect(stat(changed.path, &before) == 0)
        var altered = try Recording(contentsOf: changed)
        altered.labels = altered.labels.map { ($0 + 1) % 5 }
        try altered.write(to: changed)
        var times = [timespec(tv_sec: before.st_atim.tv_sec, tv_nsec: before.st_atim.tv_nsec),
                     timespec(tv_sec: before.st_mtim.tv_sec, tv_nsec: before.st_mtim.tv_nsec)]
        #expect(utimensat(AT_FDCWD, changed.path, &times, 0) == 0)
        var after = stat()
        #expect(stat(changed.path, &after) == 0)
        #expect(after.st_size == before.st_size)
        #expect(after.st_mtim.tv_sec == before.st_mtim.tv_sec && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec)

        let third = try CohortScanCache.scan(data, expectedSampleRate: rate, cacheFile: cache, settle: Self.settle)
        #expect(third.rescanned == ["SC4001E0"])
        try sameAsFullScan(third, data)
        #expect(third.cohort.recordings[0].contentHash != first.cohort.recordings[0].contentHash)
    }

    /// A file younger than `settle` is read every time until it has settled: a write in the
    /// same timestamp tick as the scan could otherwise look unchanged.
    @Test func aFileThatHasNotSettledIsNotRemembered() throws {
        let root = try cohort()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data"), cache = root.appendingPathComponent(CohortScanCache.fileName)
        let rate = Recording.standardSampleRate
        _ = try CohortScanCache.scan(data, expectedSampleRate: rate, cacheFile: cache, settle: Self.settle)
        // Rewritten just now (same content): not remembered under a long settle time.
        let url = data.appendingPathComponent("SC4011E0.npz")
        try Data(contentsOf: url).write(to: url)
        let again = try CohortScanCache.scan(data, expectedSampleRate: rate, cacheFile: cache, settle: 60)
        #expect(again.rescanned == ["SC4011E0"])
        let still = try CohortScanCache.scan(data, expectedSampleRate: rate, cacheFile: cache, settle: 60)
        #expect(still.rescanned == ["SC4011E0"])
        try sameAsFullScan(still, data)
    }

    /// A broken file is reported as the full scan reports it, and an unreadable cache is ignored.
    @Test func problemsAreTheFullScansAndAnUnreadableCacheIsIgnored() throws {
        let root = try cohort()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data"), cache = root.appendingPathComponent(CohortScanCache.fileName)
        try Data("not json".utf8).write(to: cache)
        let scan = try CohortScanCache.scan(data, expectedSampleRate: Recording.standardSampleRate, cacheFile: cache, settle: Self.settle)
        #expect(scan.rescanned.count == 3)
        try Data("not a zip archive".utf8).write(to: data.appendingPathComponent("SC4011E0.npz"))
        let error = #expect(throws: SleepfoldError.self) {
            try CohortScanCache.scan(data, expectedSampleRate: Recording.standardSampleRate, cacheFile: cache, settle: Self.settle)
        }
        let full = #expect(throws: SleepfoldError.self) { try Cohort.scan(data, computeHashes: true) }
        #expect(error?.message == full?.message)
        #expect(error?.code == full?.code)
    }
}
