import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import TestSupport

/// The AttnSleep recording format: loading numpy-written nights, the checks on
/// every member, names → subject/night, and writing files numpy reads back.
struct RecordingTests {
    /// Fixture files that load, with the values numpy computed (cohort/expected.json).
    static let goodFiles = [
        "sleepedf/SC4001E0.npz", "sleepedf/SC4002E0.npz", "sleepedf/SC4011E0.npz",
        "telemetry/ST7011J0.npz", "bad/SC4001E0.npz",
    ]

    static func expectation(_ file: String) throws -> [String: Any] {
        try #require(try TestFixtures.json("cohort/expected.json")[file] as? [String: Any])
    }

    static func check(_ recording: Recording, against expected: [String: Any]) throws {
        let epochs = try #require(expected["epochs"] as? Int)
        #expect(recording.epochCount == epochs)
        #expect(recording.samplesPerEpoch == 3000 && recording.sampleRate == 100)
        #expect(recording.x.count == epochs * 3000)
        #expect(recording.labels.map(Int64.init) == (try jsonIntegers(expected["labels"])))
        #expect(recording.x.prefix(4).map(Double.init) == (try jsonDoubles(expected["x_first"])))
        #expect(recording.x.last.map(Double.init) == (try jsonDouble(expected["x_last"])))
        // Values are quarter multiples (plus one float32-rounded 0.1): the Double sum is exact.
        #expect(recording.x.reduce(0.0) { $0 + Double($1) } == (try jsonDouble(expected["x_sum"])))
    }

    @Test(arguments: goodFiles)
    func loadsNightsNumpyWrote(file: String) throws {
        let url = try TestFixtures.url("cohort/\(file)")
        let recording = try Recording(contentsOf: url)
        #expect(recording.id == url.deletingPathExtension().lastPathComponent)
        let name = try #require(SleepEDFName(fileName: url.lastPathComponent))
        #expect(recording.subject == name.subject && recording.night == name.night)
        try Self.check(recording, against: Self.expectation(file))
    }

    @Test func float64SignalIsRoundedToFloat32() throws {
        let recording = try Recording(contentsOf: TestFixtures.url("cohort/sleepedf/SC4011E0.npz"))
        #expect(recording.x[0] == Float(0.1))
        #expect(recording.subject == "01" && recording.night == 1)
    }

    @Test func sleepEDFNamesGiveSubjectAndNight() {
        let cases: [(String, SleepEDFName.Study, String, Int)] = [
            ("SC4001E0.npz", .cassette, "00", 1),
            ("SC4012E0", .cassette, "01", 2),
            ("SC4192EV.npz", .cassette, "19", 2),
            ("/data/sleep-cassette/SC4001EC-Hypnogram.edf", .cassette, "00", 1),
            ("ST7022J0-PSG.edf", .telemetry, "02", 2),
            ("ST7241JO.npz", .telemetry, "24", 1),
            ("SC41231E0.npz", .cassette, "123", 1),  // synthetic cohorts of 100+ subjects
        ]
        for (file, study, subject, night) in cases {
            #expect(SleepEDFName(fileName: file) == SleepEDFName(study: study, subject: subject, night: night), "\(file)")
        }
        for file in ["SC400", "sc4001E0.npz", "SX4001E0.npz", "SC4a01E0.npz", "SC40x1E0", "notes.npz", "", "ST8011J0"] {
            #expect(SleepEDFName(fileName: file) == nil, "\(file)")
        }
    }

    @Test func otherNamesNeedAnExplicitSubject() throws {
        let url = try TestFixtures.url("cohort/bad/notes.npz")
        let error = expectError(.unnamedRecording) { _ = try Recording(contentsOf: url) }
        #expect(error?.file == url.path)
        #expect(error?.message.contains("manifest") == true)
        let recording = try Recording(contentsOf: url, subject: "P7", night: 3)
        #expect(recording.id == "notes" && recording.subject == "P7" && recording.night == 3)
        #expect(recording.labels == [4])
    }

    @Test func anotherRateLoadsWhenExpected() throws {
        let url = try TestFixtures.url("cohort/bad/SC4031E0.npz")
        let error = expectError(.sampleRateMismatch) { _ = try Recording(contentsOf: url) }
        #expect(error?.field == "member 'fs'" && error?.message.contains("200 Hz, expected 100 Hz") == true)
        for rate in [200.0, nil] {
            let recording = try Recording(contentsOf: url, expectedSampleRate: rate)
            #expect(recording.sampleRate == 200 && recording.samplesPerEpoch == 6000 && recording.epochCount == 1)
            let expected = try Self.expectation("bad/SC4031E0.npz")
            #expect(recording.labels.map(Int64.init) == (try jsonIntegers(expected["labels"])))
            #expect(recording.x.reduce(0.0) { $0 + Double($1) } == (try jsonDouble(expected["x_sum"])))
        }
    }

    /// Each bad fixture, the member blamed, and a phrase of the message.
    @Test(arguments: [
        ("SC4021E0.npz", SleepfoldError.Code.labelOutOfRange, "y", "label 7 at epoch 1 is outside 0…4"),
        ("SC4031E0.npz", .sampleRateMismatch, "fs", "200 Hz, expected 100 Hz"),
        ("SC4041E0.npz", .nonFiniteSignal, "x", "epoch 0, sample 17"),
        ("SC4051E0.npz", .epochCountMismatch, "y", "y has 3 labels but x has 2 epochs"),
        ("SC4061E0.npz", .notAnArchive, nil, "truncated"),
        ("SC4071E0.npz", .unexpectedShape, "x", "(1, 2999)"),
        ("SC4081E0.npz", .missingMember, "fs", "no such member"),
        ("SC4091E0.npz", .unexpectedDType, "y", "<f4"),
        ("SC4101E0.npz", .emptyRecording, "y", "no epochs"),
    ] as [(String, SleepfoldError.Code, String?, String)])
    func badFilesSayWhatIsWrong(file: String, code: SleepfoldError.Code, member: String?, phrase: String) throws {
        let url = try TestFixtures.url("cohort/bad/\(file)")
        let error = expectError(code) { _ = try Recording(contentsOf: url) }
        #expect(error?.file == url.path)
        #expect(error?.field == member.map { "member '\($0)'" })
        #expect(error?.message.contains(phrase) == true, "\(String(describing: error))")
        // The scan reports the same problem without loading the signal.
        let scanError = expectError(code) { _ = try RecordingSummary(scanning: url) }
        #expect(scanError == error)
    }

    @Test func labelErrorsCountEveryBadLabel() throws {
        let error = expectError(.labelOutOfRange) {
            _ = try Recording(contentsOf: TestFixtures.url("cohort/bad/SC4021E0.npz"))
        }
        #expect(error?.message.contains("2 of 3 labels are out of range") == true)
        let nan = expectError(.nonFiniteSignal) {
            _ = try Recording(contentsOf: TestFixtures.url("cohort/bad/SC4041E0.npz"))
        }
        #expect(nan?.message.contains("2 non-finite values") == true)
    }

    @Test(arguments: [NPZCompression.stored, .deflated])
    func writtenNightsReadBackIdentically(compression: NPZCompression) throws {
        let directory = try TestFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for file in Self.goodFiles {
            let original = try Recording(contentsOf: TestFixtures.url("cohort/\(file)"))
            let url = directory.appendingPathComponent(original.id + ".npz")
            try original.write(to: url, compression: compression)
            let copy = try Recording(contentsOf: url)
            #expect(copy.x == original.x && copy.labels == original.labels, "\(file)")
            #expect(copy.id == original.id && copy.subject == original.subject && copy.night == original.night)
            #expect(copy.sampleRate == 100 && copy.samplesPerEpoch == 3000)
            // The layout numpy will see: x (n, 3000) <f4, y (n,) <i4, fs a 0-d <i8 = 100.
            let archive = try NPZArchive(url: url)
            #expect(archive.memberNames == ["x", "y", "fs"])
            #expect(try archive.header(of: "x").shape == [original.epochCount, 3000])
            #expect(try archive.header(of: "x").dtype == .float32)
            #expect(try archive.header(of: "y").dtype == .int32)
            #expect(try archive.array("fs") == NPYArray(scalar: Int64(100)))
            if let export = TestFixtures.exportDirectory {
                let tag = compression == .stored ? "stored" : "deflated"
                let folder = file.split(separator: "/")[0]
                try original.write(to: export.appendingPathComponent("recording-\(tag)-\(folder)-\(original.id).npz"),
                                   compression: compression)
            }
        }
    }

    @Test func extraMembersAreWrittenAndIgnoredOnLoad() throws {
        let directory = try TestFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let recording = Recording(id: "SC4151E0", subject: "15", night: 1, sampleRate: 100, samplesPerEpoch: 3000,
                                  x: (0..<6000).map { Float($0 % 7) - 3 }, labels: [2, 4])
        let url = directory.appendingPathComponent("SC4151E0.npz")
        try recording.write(to: url, extraMembers: [("start_time", NPYArray(scalar: Int64(1_700_000_000)))])
        #expect(try NPZArchive(url: url).array("start_time").intScalar() == 1_700_000_000)
        let copy = try Recording(contentsOf: url)
        #expect(copy.x == recording.x && copy.labels == [2, 4])
    }

    @Test func fractionalRatesAreStoredAsFloat() throws {
        let directory = try TestFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let recording = Recording(id: "n", subject: "s", night: nil, sampleRate: 62.5, samplesPerEpoch: 1875,
                                  x: [Float](repeating: 1, count: 1875), labels: [0])
        let url = directory.appendingPathComponent("n.npz")
        try recording.write(to: url, compression: .deflated)
        #expect(try NPZArchive(url: url).array("fs") == NPYArray(scalar: 62.5))
        let copy = try Recording(contentsOf: url, subject: "s", expectedSampleRate: 62.5)
        #expect(copy.samplesPerEpoch == 1875 && copy.sampleRate == 62.5 && copy.x == recording.x)
    }

    @Test func writingRefusesWhatLoadingWouldRefuse() throws {
        let directory = try TestFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("SC4001E0.npz")
        func night(_ x: [Float], _ labels: [Int32]) -> Recording {
            Recording(id: "SC4001E0", subject: "00", night: 1, sampleRate: 100, samplesPerEpoch: 3000, x: x, labels: labels)
        }
        let ok = [Float](repeating: 0, count: 3000)
        expectError(.labelOutOfRange) { try night(ok, [5]).write(to: url) }
        expectError(.labelOutOfRange) { try night(ok, [-1]).write(to: url) }
        expectError(.nonFiniteSignal) { try night([.nan] + ok.dropFirst(), [0]).write(to: url) }
        expectError(.emptyRecording) { try night([], []).write(to: url) }
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }
}
