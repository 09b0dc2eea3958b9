import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import EDF
import Synthesis
import Evaluation
import Reports
import Shared
import TestSupport

/// A worker's memory does not grow with its training data: `sleepfold train` on a
/// cohort four times larger has the same peak RSS, below the size of the data.
@Suite struct BoundedMemoryTests {
    /// Writes `nights` nights of `epochs` random labelled epochs (one night a subject).
    static func writeCohort(nights: Int, epochs: Int, in directory: URL) throws -> Int {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var rng = SeededGenerator(seed: UInt64(nights))
        var bytes = 0
        for n in 0..<nights {
            let labels = (0..<epochs).map { Int32(($0 / 7 + n) % 5) }
            let x = (0..<(epochs * 3000)).map { i in Float(labels[i / 3000] + 1) * (Float(rng.next() % 2001) / 1000 - 1) }
            let id = String(format: "SC4%03d1E0", n)
            let url = directory.appendingPathComponent("\(id).npz")
            try Recording(id: id, subject: String(format: "%03d", n), night: 1, sampleRate: 100, samplesPerEpoch: 3000,
                          x: x, labels: labels).write(to: url)
            bytes += (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
        }
        return bytes
    }

    /// Peak RSS in MiB that `sleepfold train` reports for fold 0 of 4 of `data`.
    static func trainPeakRSS(data: URL, config: URL, out: URL) throws -> Int {
        let train = try CommandRunner.run(["train", "--data", data.path, "--fold", "0", "--folds", "4", "--config", config.path,
                                           "--selection", "last", "--threads", "1", "--out", out.path])
        #expect(train.status == 0, "\(train.stderr)")
        let line = try #require(train.stdout.split(separator: "\n").first { $0.hasPrefix("peak RSS: ") }, "\(train.stdout)")
        return try #require(Int(line.dropFirst("peak RSS: ".count).prefix { $0.isNumber }))
    }

    @Test func peakMemoryIsFlatWhenTheCohortGrowsFourfold() throws {
        let root = try CommandRunner.temporaryDirectory("bounded-memory")
        defer { try? FileManager.default.removeItem(at: root) }
        let config = root.appendingPathComponent("tiny.json")
        try Data("""
            {"name": "tiny", "model": {"cnnFirstChannels": 4, "cnnChannels": 8, "afrChannels": 2, "seReduction": 2,
             "heads": 1, "dFF": 8, "encoderLayers": 1}, "training": {"epochs": 1, "batchSize": 64}}
            """.utf8).write(to: config)
        // 12 nights of 260 epochs ≈ 36 MB, and 48 nights ≈ 143 MB.
        let small = try Self.writeCohort(nights: 12, epochs: 260, in: root.appendingPathComponent("x1"))
        let large = try Self.writeCohort(nights: 48, epochs: 260, in: root.appendingPathComponent("x4"))
        let rss1 = try Self.trainPeakRSS(data: root.appendingPathComponent("x1"), config: config, out: root.appendingPathComponent("run1"))
        let rss4 = try Self.trainPeakRSS(data: root.appendingPathComponent("x4"), config: config, out: root.appendingPathComponent("run4"))
        print("peak RSS: \(rss1) MiB with \(small >> 20) MiB of data, \(rss4) MiB with \(large >> 20) MiB")
        // Flat within 10 % (+ 2 MiB for allocator noise), while the larger cohort's
        // training data alone (three quarters of it) is more than the whole process.
        #expect(Double(rss4) <= 1.1 * Double(rss1) + 2, "peak RSS \(rss1) MiB → \(rss4) MiB")
        #expect(large * 3 / 4 > rss4 << 20, "the 4× cohort (\(large >> 20) MiB) should not fit in the peak RSS (\(rss4) MiB)")
    }
}
