import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import TestSupport

/// Cohorts: Sleep-EDF directories grouped into subjects, manifests, the cheap scan,
/// and one error that lists every bad file.
struct CohortTests {
    /// Copies fixture files (paths under Fixtures/cohort) into a new scratch directory.
    static func directory(with files: [String]) throws -> URL {
        let directory = try TestFixtures.scratchDirectory()
        for file in files {
            let source = try TestFixtures.url("cohort/\(file)")
            try FileManager.default.copyItem(at: source, to: directory.appendingPathComponent(source.lastPathComponent))
        }
        return directory
    }

    @Test func groupsTheNightsOfASubject() throws {
        let cohort = try Cohort.scan(TestFixtures.url("cohort/sleepedf"))
        #expect(cohort.recordings.map(\.id) == ["SC4001E0", "SC4002E0", "SC4011E0"])
        #expect(cohort.subjects == ["00", "01"])
        #expect(cohort.recordings(ofSubject: "00").map(\.id) == ["SC4001E0", "SC4002E0"])
        #expect(cohort.recordings(ofSubject: "00").map(\.night) == [1, 2])
        #expect(cohort.recordings(ofSubject: "01").map(\.id) == ["SC4011E0"])
        #expect(cohort.recordings.map(\.epochCount) == [2, 3, 2])
        #expect(cohort.epochCount == 7)
        #expect(cohort.recordings.map(\.labels) == [[0, 2], [2, 3, 4], [1, 4]])
        #expect(cohort.recordings.map(\.classCounts) == [[1, 0, 1, 0, 0], [0, 0, 1, 1, 1], [0, 1, 0, 0, 1]])
        #expect(cohort.recordings.allSatisfy { $0.sampleRate == 100 && $0.samplesPerEpoch == 3000 && $0.contentHash == nil })
        #expect(cohort.recording(id: "SC4002E0")?.subject == "00")
        #expect(cohort.recording(id: "SC4099E0") == nil)
    }

    @Test func fullLoadMatchesTheSummary() throws {
        let cohort = try Cohort.scan(TestFixtures.url("cohort/sleepedf"))
        for summary in cohort.recordings {
            let recording = try cohort.load(summary)
            #expect(recording.id == summary.id && recording.subject == summary.subject && recording.night == summary.night)
            #expect(recording.labels == summary.labels && recording.epochCount == summary.epochCount)
            #expect(recording.x == (try Recording(contentsOf: summary.url)).x)
        }
    }

    @Test func telemetryNamesGroupToo() throws {
        let cohort = try Cohort.scan(TestFixtures.url("cohort/telemetry"))
        #expect(cohort.recordings.map(\.id) == ["ST7011J0"])
        #expect(cohort.subjects == ["01"] && cohort.recordings[0].night == 1)
    }

    @Test func oneErrorListsEveryBadFile() throws {
        let directory = try TestFixtures.url("cohort/bad")
        let expected = try #require(try TestFixtures.json("cohort/expected.json")["bad_problems"] as? [String: String])
        do {
            _ = try Cohort.scan(directory)
            Issue.record("the bad directory was accepted")
        } catch let error as SleepfoldError {
            #expect(error.code == .invalidCohort && error.file == directory.path && error.field == nil)
            #expect(error.message == "found 10 problems (listed below), expected none")
            let found = Dictionary(uniqueKeysWithValues: error.problems.map {
                (URL(fileURLWithPath: $0.file ?? "").lastPathComponent, $0.code.rawValue)
            })
            #expect(found == expected)  // the good SC4001E0.npz is not listed
            #expect(error.problems.allSatisfy { $0.file?.hasPrefix(directory.path + "/") == true })
            #expect(error.description.hasPrefix("\(directory.path): found 10 problems (listed below), expected none\n  - "))
            #expect(error.description.split(separator: "\n").count == 11)
        }
    }

    @Test func anotherExpectedRateIsHonoured() throws {
        let directory = try Self.directory(with: ["bad/SC4031E0.npz"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let cohort = try Cohort.scan(directory, expectedSampleRate: 200)
        #expect(cohort.recordings.map(\.samplesPerEpoch) == [6000])
        #expect(try cohort.load(cohort.recordings[0]).sampleRate == 200)
        let error = expectError(.invalidCohort, file: directory.path) { _ = try Cohort.scan(directory) }
        #expect(error?.problems.map(\.code) == [.sampleRateMismatch])
    }

    @Test func signalCheckCanBeSkippedForSpeed() throws {
        let directory = try Self.directory(with: ["bad/SC4041E0.npz"])
        defer { try? FileManager.default.removeItem(at: directory) }
        // Without reading x, the NaN goes unnoticed; the full load still refuses it.
        let cohort = try Cohort.scan(directory, checkSignal: false)
        #expect(cohort.recordings.map(\.labels) == [[1]])
        expectError(.nonFiniteSignal) { _ = try cohort.load(cohort.recordings[0]) }
        let error = try #require(expectError(.invalidCohort, file: directory.path) { _ = try Cohort.scan(directory) })
        #expect(error.problems.map(\.code) == [.nonFiniteSignal])
    }

    @Test func hashesAreTheFilesSHA256() throws {
        let expected = try #require(try TestFixtures.json("cohort/expected.json")["sha256"] as? [String: String])
        let cohort = try Cohort.scan(TestFixtures.url("cohort/sleepedf"), computeHashes: true)
        #expect(cohort.recording(id: "SC4001E0")?.contentHash == expected["sleepedf/SC4001E0.npz"])
        #expect(cohort.recording(id: "SC4002E0")?.contentHash == expected["sleepedf/SC4002E0.npz"])
        #expect(cohort.recordings.allSatisfy { $0.contentHash?.count == 64 })
    }

    @Test func manifestsGiveSubjectsToAnyName() throws {
        let manifest = try TestFixtures.url("cohort/manifest/manifest.json")
        let cohort = try Cohort.scan(manifest)
        #expect(cohort.recordings.map(\.id) == ["SC4001E0", "night-a2", "b"])
        #expect(cohort.subjects == ["A", "B"])
        #expect(cohort.recordings(ofSubject: "A").map(\.night) == [1, 2])
        #expect(cohort.recordings(ofSubject: "B").map(\.night) == [nil])
        #expect(cohort.recordings.map(\.epochCount) == [2, 1, 2])
        // Paths are relative to the manifest's folder, "../" included.
        #expect(cohort.recordings[0].url.standardizedFileURL
                == (try TestFixtures.url("cohort/sleepedf/SC4001E0.npz")).standardizedFileURL)
        #expect(try cohort.load(cohort.recordings[2]).labels == [3, 0])
        #expect(try Cohort.entries(manifest).map(\.subject) == ["A", "A", "B"])
    }

    @Test func manifestsTakeAbsolutePaths() throws {
        let directory = try TestFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let night = try TestFixtures.url("cohort/manifest/nights/b.npz").standardizedFileURL.path
        let manifest = directory.appendingPathComponent("cohort.json")
        try Data("{\"recordings\": [{\"path\": \"\(night)\", \"subject\": \"P1\", \"night\": 2, \"note\": \"x\"}]}".utf8)
            .write(to: manifest)
        let cohort = try Cohort.scan(manifest)
        #expect(cohort.recordings.map(\.subject) == ["P1"] && cohort.recordings[0].night == 2)
        #expect(cohort.recordings[0].url.path == night)
    }

    @Test func badManifestEntriesAreAllListed() throws {
        let manifest = try TestFixtures.url("cohort/manifest/bad-manifest.json")
        let error = try #require(expectError(.invalidCohort, file: manifest.path) { _ = try Cohort.scan(manifest) })
        #expect(error.problems.map(\.code) == [.badManifest, .badManifest, .badManifest, .badManifest,
                                               .duplicateRecording, .fileNotFound])
        #expect(error.problems.prefix(5).map(\.field) == ["recordings[3].subject", "recordings[4].path",
                                                           "recordings[5].night", "recordings[6]",
                                                           "recordings[1] (nights/b.npz)"])
        let messages = error.problems.map(\.message)
        #expect(messages[0].hasPrefix("found ") && messages[0].hasSuffix(", expected a non-empty string"), "\(error)")
        #expect(messages[1].hasSuffix(", expected a non-empty string (the .npz file)"), "\(error)")
        #expect(messages[2].hasSuffix(", expected an integer"), "\(error)")
        #expect(messages[3].hasSuffix(", expected an object with \"path\" and \"subject\""), "\(error)")
        #expect(messages[4].hasPrefix("found recording id 'b', as recordings[0]"), "\(error)")
        #expect(messages[4].hasSuffix("expected recording ids (file names without extension) unique in a cohort"))
        #expect(error.problems[5].file?.hasSuffix("nights/missing.npz") == true)
        #expect(error.problems.prefix(5).allSatisfy { $0.file == manifest.path })
    }

    @Test(arguments: [
        ("{\"recordings\": [", "not valid JSON"),
        ("[1, 2]", "top level"),
        ("{\"nights\": []}", "\"recordings\""),
        ("{\"recordings\": []}", "empty"),
        ("{\"recordings\": [{\"path\": \"a.npz\", \"subject\": \"\"}]}", "recordings[0].subject"),
        ("{\"recordings\": [{\"path\": \"a.npz\", \"subject\": 7}]}", "found a number (7)"),
        ("{\"recordings\": [{\"path\": \"a.npz\", \"subject\": \"A\", \"night\": 1.5}]}", "recordings[0].night"),
        ("{\"recordings\": [{\"path\": \"a.npz\", \"subject\": \"A\", \"night\": true}]}", "found a boolean"),
    ])
    func malformedManifestsSayWhere(json: String, phrase: String) throws {
        let directory = try TestFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let manifest = directory.appendingPathComponent("m.json")
        try Data(json.utf8).write(to: manifest)
        let error = try #require(expectError(.invalidCohort, file: manifest.path) { _ = try Cohort.entries(manifest) })
        #expect(error.problems.count == 1)
        #expect(error.problems.first?.code == .badManifest)
        #expect(error.problems.first?.file == manifest.path)
        let place = [error.problems.first?.field, error.problems.first?.message].compactMap { $0 }.joined(separator: ": ")
        #expect(place.contains(phrase), "\(error)")
    }

    @Test func cassetteAndTelemetryDoNotMix() throws {
        let directory = try Self.directory(with: ["sleepedf/SC4011E0.npz", "telemetry/ST7011J0.npz"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = try #require(expectError(.invalidCohort, file: directory.path) { _ = try Cohort.scan(directory) })
        #expect(error.problems.map(\.code) == [.mixedStudies])
        #expect(error.problems.first?.file == directory.path)
    }

    @Test func emptyAndMissingDirectoriesAreErrors() throws {
        let directory = try TestFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("not data".utf8).write(to: directory.appendingPathComponent("readme.txt"))
        let empty = try #require(expectError(.invalidCohort, file: directory.path) { _ = try Cohort.scan(directory) })
        #expect(empty.problems.map(\.code) == [.noRecordings])
        let missing = directory.appendingPathComponent("absent")
        let error = try #require(expectError(.invalidCohort, file: missing.path) { _ = try Cohort.scan(missing) })
        #expect(error.problems.map(\.code) == [.fileNotFound] && error.problems.first?.file == missing.path)
    }

    @Test func listingDoesNotReadFiles() throws {
        // The truncated file lists fine (its name is good); only reading it fails.
        let directory = try Self.directory(with: ["bad/SC4061E0.npz", "bad/SC4001E0.npz"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let entries = try Cohort.entries(directory)
        #expect(entries.map(\.id) == ["SC4001E0", "SC4061E0"])
        #expect(entries.map(\.subject) == ["00", "06"])
        let error = try #require(expectError(.invalidCohort, file: directory.path) { _ = try Cohort.scan(directory) })
        #expect(error.problems.map(\.code) == [.notAnArchive])
    }

    @Test func summariesRoundTripThroughJSON() throws {
        let cohort = try Cohort.scan(TestFixtures.url("cohort/sleepedf"), computeHashes: true)
        let data = try JSONEncoder().encode(cohort.recordings)
        #expect(try JSONDecoder().decode([RecordingSummary].self, from: data) == cohort.recordings)
    }
}
