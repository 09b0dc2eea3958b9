import Foundation
import Testing
import Basics
import EDF
import TestSupport

/// `EDFWriter.hypnogram` against Tests/Fixtures/edf/hypnogram-annotations.json
/// (scripts/make-sleep-statistics-fixtures.py) and the committed
/// Tests/Fixtures/edf/hypnogram/written-by-sleepfold.edf, which that script opens
/// with pyedflib. SLEEPFOLD_WRITE_HYPNOGRAM_FIXTURE=1 rewrites that file (then run
/// the script again to check it with pyedflib).
@Suite struct HypnogramEDFTests {
    struct Expected: Decodable {
        struct Annotation: Decodable { let onset: Double; let duration: Double; let text: String }
        let hypnogram: [Int32]
        let start: String
        let epoch_length: Double
        let annotations: [Annotation]
    }

    static let expected: Expected = {
        let url = TestFixtures.root.appendingPathComponent("edf/hypnogram-annotations.json")
        return try! JSONDecoder().decode(Expected.self, from: Data(contentsOf: url))
    }()

    /// "2026-12-04T23:05:30" as the header's start date and time.
    static func startTime(_ iso: String) throws -> EDFDateTime {
        let parts = iso.split(whereSeparator: { "-T:".contains($0) }).compactMap { Int($0) }
        try #require(parts.count == 6, "\(iso)")
        return EDFDateTime(year: parts[0], month: parts[1], day: parts[2], hour: parts[3], minute: parts[4], second: parts[5])
    }

    static func fixtureWriter() throws -> EDFWriter {
        let stages = expected.hypnogram.map { Stage(rawValue: $0)! }
        return try EDFWriter.hypnogram(stages, startTime: startTime(expected.start), epochLength: expected.epoch_length)
    }

    @Test func theFileReadsBackAsTheExpectedAnnotations() throws {
        let writer = try Self.fixtureWriter()
        let edf = try EDFReader(bytes: try writer.encode(), name: "hypnogram.edf")
        #expect(edf.header.variant == .continuous && edf.header.dataSignalIndices.isEmpty)
        #expect(edf.header.recordCount == 1 && edf.header.recordDuration == 0)
        #expect(edf.header.startTime == (try Self.startTime(Self.expected.start)))
        let read = try edf.annotations()
        #expect(read.recordOnsets == [0])
        #expect(read.annotations.count == Self.expected.annotations.count)
        for (mine, theirs) in zip(read.annotations, Self.expected.annotations) {
            #expect(mine.onset == theirs.onset && mine.duration == theirs.duration && mine.text == theirs.text, "\(mine)")
        }
    }

    /// The layout of Sleep-EDF's own hypnogram: one record of duration 0 holding only
    /// the annotation signal, whose first TAL keeps time.
    @Test func theHeaderIsLaidOutAsSleepEDFs() throws {
        let sleepEDF = try EDFReader(url: EDFFixtures.url("sleep-edf/SC4001EC-Hypnogram.edf")).header
        let mine = try EDFReader(bytes: try Self.fixtureWriter().encode(), name: "mine").header
        #expect(mine.variant == sleepEDF.variant && mine.sampleFormat == sleepEDF.sampleFormat)
        #expect(mine.recordCount == sleepEDF.recordCount && mine.recordDuration == sleepEDF.recordDuration)
        #expect(mine.signals.count == 1 && sleepEDF.signals.count == 1)
        // Sleep-EDF's physical range is 0…1, the writer's -1…1: EDF+ gives annotation
        // signals' physical range no meaning, so only what readers use is compared.
        let a = mine.signals[0], b = sleepEDF.signals[0]
        #expect(a.isAnnotation && b.isAnnotation && a.label == b.label)
        #expect(a.digitalMinimum == b.digitalMinimum && a.digitalMaximum == b.digitalMaximum)
        // Its first TAL is the time-keeping one, then the first epoch's, as in Sleep-EDF.
        let bytes = try Self.fixtureWriter().encode()
        let expected = Array("+0\u{14}\u{14}\u{0}+0\u{15}30\u{14}Sleep stage W\u{14}\u{0}+30\u{15}30\u{14}".utf8)
        #expect(Array(bytes[512...].prefix(expected.count)) == expected)
    }

    /// The committed file pyedflib was shown to open is what the writer writes today.
    @Test func theCommittedFixtureIsWhatTheWriterWrites() throws {
        let url = TestFixtures.root.appendingPathComponent("edf/hypnogram/written-by-sleepfold.edf")
        let bytes = try Self.fixtureWriter().encode()
        if ProcessInfo.processInfo.environment["SLEEPFOLD_WRITE_HYPNOGRAM_FIXTURE"] == "1" {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
        #expect(try EDFFixtures.bytes("hypnogram/written-by-sleepfold.edf") == bytes)
    }

    @Test(arguments: [1, 2, 960])
    func everyEpochIsOneAnnotationAtItsOnset(epochs: Int) throws {
        var random = SeededGenerator(seed: UInt64(epochs))
        let stages = (0..<epochs).map { _ in Stage.allCases[Int(random.nextUnitDouble() * 5) % 5] }
        let start = EDFDateTime(year: 1989, month: 4, day: 24, hour: 16, minute: 13, second: 0)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hypnogram-\(epochs)-\(UUID()).edf")
        defer { try? FileManager.default.removeItem(at: url) }
        try EDFWriter.hypnogram(stages, startTime: start, epochLength: 20).write(to: url)
        let read = try EDFReader(url: url).annotations().annotations
        #expect(read.map(\.onset) == (0..<epochs).map { Double($0) * 20 })
        #expect(read.allSatisfy { $0.duration == 20 })
        #expect(read.map(\.text) == stages.map(EDFWriter.hypnogramText))
    }

    @Test func stageTextsAreSleepEDFs() {
        #expect(Stage.allCases.map(EDFWriter.hypnogramText)
                == ["Sleep stage W", "Sleep stage 1", "Sleep stage 2", "Sleep stage 3", "Sleep stage R"])
    }

    @Test func emptyHypnogramsAndBadEpochLengthsAreErrors() {
        let start = EDFDateTime(year: 2026, month: 1, day: 1, hour: 0, minute: 0, second: 0)
        _ = expectError(.unwritable, file: "EDFWriter", field: "hypnogram") {
            _ = try EDFWriter.hypnogram([], startTime: start)
        }
        for length in [0, -30, Double.nan] {
            _ = expectError(.unwritable, file: "EDFWriter", field: "epoch length") {
                _ = try EDFWriter.hypnogram([.wake], startTime: start, epochLength: length)
            }
        }
        // A start the header cannot hold is the writer's usual error.
        let late = EDFDateTime(year: 2090, month: 1, day: 1, hour: 0, minute: 0, second: 0)
        _ = expectError(.unwritable, field: "start date") { _ = try EDFWriter.hypnogram([.wake], startTime: late).encode() }
    }
}
