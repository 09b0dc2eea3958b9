import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import TestSupport

/// `.npz` archives: reading what `np.savez` and `np.savez_compressed` wrote, writing
/// archives numpy reads, and the errors for damaged archives and members.
///
/// Files written here load in numpy: run
/// `SLEEPFOLD_EXPORT_NPZ=/tmp/npz-out swift test --filter 'NPZTests|NPYArrayTests|RecordingTests'`
/// then `python3 scripts/make-npz-fixtures.py --verify /tmp/npz-out`.
struct NPZTests {
    @Test(arguments: ["dtypes_stored.npz", "dtypes_compressed.npz"])
    func readsEveryDTypeNumpyWrote(file: String) throws {
        let expected = try #require(try TestFixtures.json("npz/expected.json")["members"] as? [String: Any])
        let archive = try NPZArchive(url: TestFixtures.url("npz/\(file)"))
        #expect(Set(archive.memberNames) == Set(expected.keys))
        for (name, value) in expected {
            let entry = try #require(value as? [String: Any])
            let array = try archive.array(name)
            #expect(array.dtype.rawValue == entry["dtype"] as? String, "\(name)")
            #expect(array.shape == entry["shape"] as? [Int], "\(name)")
            switch array.dtype {
            case .float32, .float64:
                #expect(try array.doubles() == jsonDoubles(entry["values"]), "\(name)")
            case .unicode:
                #expect(try array.strings() == entry["values"] as? [String], "\(name)")
            default:
                #expect(try array.int64s() == jsonIntegers(entry["values"]), "\(name)")
            }
        }
    }

    @Test func typedAccessorsOnNumpyScalarsAndArrays() throws {
        let archive = try NPZArchive(url: TestFixtures.url("npz/dtypes_compressed.npz"))
        #expect(try archive.array("scalar_i8").intScalar() == 100)
        #expect(try archive.array("scalar_f8").intScalar() == 100)
        #expect(try archive.array("scalar_f4").doubleScalar() == 62.5)
        #expect(try archive.array("ch_label").stringScalar() == "EEG Fpz-Cz")
        #expect(try archive.array("labels_u").strings().last == "Schlafstadium \u{e9} \u{1F634}")
        #expect(try archive.array("scalar_i8").shape == [])
        #expect(try archive.array("i8small").int32s() == [0, 4, 2])
        expectError(.conversion) { _ = try archive.array("i8").int32s() }
        #expect(try archive.array("f8").floats() == [Float(0.1), -2.5, Float.infinity])
        #expect(try archive.array("cube").int32s() == Array(0..<24))
        #expect(try archive.array("b1").bools() == [true, false, true])
        #expect(try archive.array("u1").uint8s() == [0, 1, 127, 128, 255])
        #expect(try archive.array("i1").int32s() == [-128, -1, 0, 127])
        #expect(try archive.array("empty").floats() == [])
    }

    @Test func headersComeWithoutReadingData() throws {
        let archive = try NPZArchive(url: TestFixtures.url("npz/dtypes_compressed.npz"))
        let cube = try archive.header(of: "cube")
        #expect(cube.dtype == .int32 && cube.shape == [2, 3, 4] && cube.count == 24 && cube.byteCount == 96)
        #expect(cube.version == .v1 && cube.dataOffset % 64 == 0)
        #expect(try archive.header(of: "scalar_f8").shape == [])
        #expect(archive.contains("x") == false && archive.contains("cube"))
    }

    @Test(arguments: ["big", "big_stored"])
    func elementsSplitAcrossChunksDecode(member: String) throws {
        let expected = try #require(try TestFixtures.json("npz/expected.json")["unaligned"] as? [String: Any])
        let archive = try NPZArchive(url: TestFixtures.url("npz/unaligned.npz"))
        #expect(try archive.header(of: member).dataOffset == expected["data_offset"] as? Int)
        let values = try archive.array(member).doubles()
        #expect(values.count == expected["count"] as? Int)
        #expect(values.first == (try jsonDouble(expected["first"])))
        #expect(values.last == (try jsonDouble(expected["last"])))
        #expect(values.reduce(0, +) == (try jsonDouble(expected["sum"])))
        #expect(values == (0..<5000).map { Double($0) * 0.5 - 7.25 })
    }

    @Test(arguments: [
        ("fortran", SleepfoldError.Code.fortranOrder),
        ("bigendian", .bigEndian),
        ("truncated", .truncated),
        ("oversize", .sizeMismatch),
        ("complex", .unsupportedDType),
    ])
    func badMembersNameTheArchiveAndMember(member: String, code: SleepfoldError.Code) throws {
        let url = try TestFixtures.url("npz/bad_members.npz")
        let archive = try NPZArchive(url: url)
        // Both the header alone and the full read catch the problem.
        for read in [{ _ = try archive.header(of: member) }, { _ = try archive.array(member) }] {
            let error = expectError(code, read)
            #expect(error?.file == url.path)
            #expect(error?.field == "member '\(member)'")
            #expect(error?.description.hasPrefix("\(url.path): member '\(member)': ") == true)
        }
        // The good member next to them still reads.
        #expect(try archive.array("ok").shape == [2, 3])
    }

    @Test func missingMembersAndFilesAreNamed() throws {
        let url = try TestFixtures.url("npz/bad_members.npz")
        let error = expectError(.missingMember) { _ = try NPZArchive(url: url).array("x") }
        #expect(error?.field == "member 'x'" && error?.file == url.path)
        #expect(error?.message.contains("'ok'") == true)
        let absent = url.deletingLastPathComponent().appendingPathComponent("absent.npz")
        #expect(expectError(.fileNotFound) { _ = try NPZArchive(url: absent) }?.file == absent.path)
    }

    @Test func truncatedAndForeignFilesAreNotArchives() throws {
        let truncated = try TestFixtures.url("cohort/bad/SC4061E0.npz")
        #expect(expectError(.notAnArchive) { _ = try NPZArchive(url: truncated) }?.file == truncated.path)
        let npy = try TestFixtures.url("npz/v1.npy")
        expectError(.notAnArchive) { _ = try NPZArchive(url: npy) }
        expectError(.notAnArchive) { _ = try NPZArchive(data: Data("not a zip".utf8), name: "memory") }
    }

    @Test func damagedMemberDataFailsTheChecksum() throws {
        // Flip one data byte of a stored member: the ZIP still opens, the CRC catches it.
        var bytes = [UInt8](try Data(contentsOf: TestFixtures.url("npz/unaligned.npz")))
        let archive = try NPZArchive(data: Data(bytes), name: "copy.npz")
        #expect(try archive.array("big_stored").count == 5000)
        let marker = Array("big_stored.npy".utf8)
        let start = try #require((0..<(bytes.count - marker.count)).first { Array(bytes[$0..<($0 + marker.count)]) == marker })
        bytes[start + marker.count + 1000] ^= 0xFF
        let damaged = try NPZArchive(data: Data(bytes), name: "damaged.npz")
        let error = expectError(.checksumMismatch) { _ = try damaged.array("big_stored") }
        #expect(error?.file == "damaged.npz" && error?.field == "member 'big_stored'")
    }

    @Test(arguments: [NPZCompression.stored, .deflated])
    func writtenArchivesReadBackIdentically(compression: NPZCompression) throws {
        let directory = try TestFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = try NPZArchive(url: TestFixtures.url("npz/dtypes_stored.npz"))
        let members = try source.memberNames.map { (name: $0, array: try source.array($0)) }
        let url = directory.appendingPathComponent("copy.npz")
        try NPZArchive.write(members, to: url, compression: compression)
        let copy = try NPZArchive(url: url)
        #expect(copy.memberNames == source.memberNames)
        for member in members {
            #expect(try copy.array(member.name) == member.array, "\(member.name)")
        }
        // Overwriting works, and the same arrays give the same bytes (fixed member dates).
        let first = try Data(contentsOf: url)
        try NPZArchive.write(members, to: url, compression: compression)
        #expect(try Data(contentsOf: url) == first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["copy.npz"])
        if let export = TestFixtures.exportDirectory {
            let name = compression == .stored ? "dtypes-stored.npz" : "dtypes-deflated.npz"
            try NPZArchive.write(members, to: export.appendingPathComponent(name), compression: compression)
        }
    }

    @Test func deflatedArchivesAreCompressed() throws {
        let directory = try TestFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let zeros = [(name: "x", array: NPYArray([Float](repeating: 0, count: 30_000), shape: [10, 3000]))]
        let stored = directory.appendingPathComponent("stored.npz")
        let deflated = directory.appendingPathComponent("deflated.npz")
        try NPZArchive.write(zeros, to: stored)
        try NPZArchive.write(zeros, to: deflated, compression: .deflated)
        let storedSize = try #require(try FileManager.default.attributesOfItem(atPath: stored.path)[.size] as? Int)
        let deflatedSize = try #require(try FileManager.default.attributesOfItem(atPath: deflated.path)[.size] as? Int)
        #expect(storedSize > 120_000 && deflatedSize < 2_000)
        #expect(try NPZArchive(url: deflated).array("x") == zeros[0].array)
    }

    @Test func writingIntoAMissingDirectoryFails() throws {
        let url = URL(fileURLWithPath: "/nonexistent-sleepfold-dir/out.npz")
        let error = expectError(.fileNotFound) { try NPZArchive.write([("x", NPYArray([1] as [Int32]))], to: url) }
        #expect(error?.file == url.path && error?.message.hasPrefix("cannot write the archive: ") == true)
    }
}
