import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import TestSupport

/// Typed construction, conversions, and the .npy format, checked against files numpy wrote.
struct NPYArrayTests {
    @Test func typedArraysKeepValuesShapeAndDType() throws {
        let floats = NPYArray([1.5, -2, 0.25, 8, 0, -0.5] as [Float], shape: [2, 3])
        #expect(floats.dtype == .float32 && floats.shape == [2, 3] && floats.count == 6)
        #expect(try floats.floats() == [1.5, -2, 0.25, 8, 0, -0.5])
        #expect(floats.bytes.count == 24)
        #expect(Array(floats.bytes[0..<4]) == [0x00, 0x00, 0xC0, 0x3F])  // 1.5f little-endian

        #expect(try NPYArray([1, -2, 3] as [Double]).doubles() == [1, -2, 3])
        #expect(try NPYArray([Int32.min, 0, Int32.max]).int32s() == [Int32.min, 0, Int32.max])
        #expect(try NPYArray([Int64.min, Int64.max]).int64s() == [Int64.min, Int64.max])
        #expect(try NPYArray([-128, 127] as [Int8]).int64s() == [-128, 127])
        #expect(try NPYArray([0, 255] as [UInt8]).uint8s() == [0, 255])
        #expect(try NPYArray([true, false]).bools() == [true, false])
        #expect(NPYArray([true, false]).bytes == [1, 0])
    }

    @Test func scalarsAreZeroDimensional() throws {
        let fs = NPYArray(scalar: Int64(100))
        #expect(fs.shape == [] && fs.count == 1 && fs.dtype == .int64)
        #expect(try fs.intScalar() == 100)
        #expect(try fs.doubleScalar() == 100)
        let rate = NPYArray(scalar: 62.5)
        #expect(rate.dtype == .float64 && rate.shape == [])
        #expect(try rate.doubleScalar() == 62.5)
        expectError(.conversion) { _ = try rate.intScalar() }
        let error = expectError(.conversion) { _ = try NPYArray([1, 2] as [Int32]).intScalar() }
        #expect(error?.message.contains("(2,)") == true)
    }

    @Test func conversionsAreExactOrFail() throws {
        // int64 → int32 within range works, out of range names the value and index.
        #expect(try NPYArray([0, 4, -3] as [Int64]).int32s() == [0, 4, -3])
        let wide = NPYArray([7, 1 << 40] as [Int64])
        let error = expectError(.conversion) { _ = try wide.int32s() }
        #expect(error?.message.contains("1099511627776") == true)
        #expect(error?.message.contains("index 1") == true)
        // float64 → float32 rounds (the one lossy conversion).
        #expect(try NPYArray([0.1] as [Double]).floats() == [Float(0.1)])
        // Integral floats convert to integers; fractional ones do not.
        #expect(try NPYArray([100.0, -3.0] as [Double]).int32s() == [100, -3])
        expectError(.conversion) { _ = try NPYArray([2.5] as [Float]).int32s() }
        expectError(.conversion) { _ = try NPYArray([Double.nan]).int64s() }
        // Integers convert to floats only when exact.
        #expect(try NPYArray([1 << 24] as [Int32]).floats() == [16_777_216])
        expectError(.conversion) { _ = try NPYArray([(1 << 24) + 1] as [Int32]).floats() }
        // Booleans read as 0/1, numbers as booleans only when 0 or 1.
        #expect(try NPYArray([true, false]).int32s() == [1, 0])
        #expect(try NPYArray([0, 1] as [UInt8]).bools() == [false, true])
        expectError(.conversion) { _ = try NPYArray([2] as [UInt8]).bools() }
        expectError(.conversion) { _ = try NPYArray([-1] as [Int8]).uint8s() }
    }

    @Test func rawInitializerAndReshapeCheckSizes() throws {
        let array = try NPYArray(dtype: .int32, shape: [2, 2], bytes: [UInt8](repeating: 0, count: 16))
        #expect(try array.reshaped([4]).shape == [4])
        #expect(try array.reshaped([1, 4, 1]).int32s() == [0, 0, 0, 0])
        expectError(.sizeMismatch) { _ = try array.reshaped([3]) }
        expectError(.sizeMismatch) { _ = try NPYArray(dtype: .float64, shape: [2], bytes: [0, 0, 0]) }
        expectError(.sizeMismatch) { _ = try NPYArray(dtype: .uint8, shape: [-1], bytes: []) }
    }

    @Test func stringArraysAreUCS4AsNumpyWritesThem() throws {
        let label = NPYArray(scalar: "EEG Fpz-Cz")
        #expect(label.dtype == .unicode(length: 10) && label.shape == [])
        #expect(try label.stringScalar() == "EEG Fpz-Cz")
        // Shorter strings are NUL-padded to the widest; NULs do not come back.
        let mixed = NPYArray(strings: ["W", "N1", "\u{e9}t\u{e9}"])
        #expect(mixed.dtype.rawValue == "<U3")
        #expect(Array(mixed.bytes.prefix(12)) == [0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(try mixed.strings() == ["W", "N1", "\u{e9}t\u{e9}"])
        expectError(.conversion) { _ = try mixed.doubles() }
        expectError(.conversion) { _ = try mixed.int32s() }
        expectError(.conversion) { _ = try NPYArray([1, 2] as [Int32]).strings() }
        // A code point that is no Unicode scalar (a lone surrogate) is an error, not a crash.
        let bad = try NPYArray(dtype: .unicode(length: 1), shape: [1], bytes: [0x00, 0xD8, 0, 0])
        expectError(.conversion) { _ = try bad.strings() }
    }

    @Test func dtypeDescriptorsFollowNumpy() throws {
        #expect(NPYDType.allCases.map(\.rawValue) == ["<f4", "<f8", "|i1", "|u1", "|b1", "<i4", "<i8"])
        #expect(try NPYDType(descr: "<u1") == .uint8)
        #expect(try NPYDType(descr: "|i1") == .int8)
        #expect(try NPYDType(descr: ">b1") == .bool)
        expectError(.bigEndian) { _ = try NPYDType(descr: ">f4") }
        expectError(.bigEndian) { _ = try NPYDType(descr: ">i8") }
        expectError(.unsupportedDType) { _ = try NPYDType(descr: "<c8") }
        #expect(try NPYDType(descr: "<U10") == .unicode(length: 10))
        #expect(NPYDType.unicode(length: 10).itemSize == 40)
        expectError(.bigEndian) { _ = try NPYDType(descr: ">U10") }
        expectError(.unsupportedDType) { _ = try NPYDType(descr: "<U0") }
        expectError(.unsupportedDType) { _ = try NPYDType(descr: "<Ux") }
        expectError(.unsupportedDType) { _ = try NPYDType(descr: "|S10") }
        expectError(.unsupportedDType) { _ = try NPYDType(descr: "|O") }
        expectError(.unsupportedDType) { _ = try NPYDType(descr: "=f4") }
        expectError(.unsupportedDType) { _ = try NPYDType(descr: "") }
    }

    @Test(arguments: ["v1.npy", "v2.npy", "v3.npy"])
    func readsEachFormatVersionNumpyWrote(file: String) throws {
        let expected = try #require(try TestFixtures.json("npz/expected.json")["npy"] as? [String: Any])
        let entry = try #require(expected[file] as? [String: Any])
        let url = try TestFixtures.url("npz/\(file)")
        let array = try NPYArray(contentsOf: url)
        #expect(array.dtype.rawValue == entry["dtype"] as? String)
        #expect(array.shape == (entry["shape"] as? [Int]))
        if array.dtype.isFloatingPoint {
            #expect(try array.doubles() == jsonDoubles(entry["values"]))
        } else {
            #expect(try array.int64s() == jsonIntegers(entry["values"]))
        }
        let version = try #require(entry["version"] as? Int)
        #expect([UInt8](try Data(contentsOf: url))[6] == UInt8(version))
    }

    @Test func writesTheHeaderNumpyWrites() throws {
        // numpy's header for this array fits the same 128 bytes, so the files are identical.
        let numpyBytes = [UInt8](try Data(contentsOf: TestFixtures.url("npz/v1.npy")))
        let ours = NPYArray([-1.5, 0, 2.25, 0.1, 3.4e38, Float.leastNonzeroMagnitude], shape: [2, 3]).npyBytes()
        #expect(ours == numpyBytes)
    }

    @Test(arguments: NPYVersion.allCases)
    func npyRoundTripsInEveryVersion(version: NPYVersion) throws {
        let arrays = [
            NPYArray([1, 2, 3, 4, 5, 6] as [Int64], shape: [3, 2]),
            NPYArray(scalar: 100.0),
            NPYArray([] as [Float], shape: [0, 3000]),
            NPYArray([true, false, true]),
            NPYArray(scalar: "EEG Fpz-Cz"),
            NPYArray(strings: ["W", "Stage 4 sleep|4", "\u{1F634}"], shape: [3, 1]),
        ]
        for array in arrays {
            let bytes = array.npyBytes(version: version)
            #expect(bytes[6] == version.rawValue)
            let headerLength = version == .v1 ? Int(bytes[8]) | Int(bytes[9]) << 8
                                              : Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16
            #expect((headerLength + (version == .v1 ? 10 : 12)) % 64 == 0)
            #expect(try NPYArray(npy: bytes) == array)
        }
    }

    @Test func npyFilesRoundTripThroughDisk() throws {
        let directory = try TestFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let members = try NPZArchive(url: TestFixtures.url("npz/dtypes_stored.npz"))
        for version in NPYVersion.allCases {
            for name in ["f4", "i8", "u1", "scalar_i8"] {
                let array = try members.array(name)
                let file = "v\(version.rawValue)-\(name).npy"
                try array.write(to: directory.appendingPathComponent(file), version: version)
                #expect(try NPYArray(contentsOf: directory.appendingPathComponent(file)) == array)
                if let export = TestFixtures.exportDirectory {
                    try array.write(to: export.appendingPathComponent(file), version: version)
                }
            }
        }
    }

    @Test func everyPrefixOfAnNpyFileIsTruncatedNotACrash() throws {
        let bytes = [UInt8](try Data(contentsOf: TestFixtures.url("npz/v2.npy")))
        for length in 0..<bytes.count {
            expectError(.truncated) { _ = try NPYArray(npy: Array(bytes.prefix(length))) }
        }
        #expect(try NPYArray(npy: bytes).int64s() == [-(1 << 40), 1 << 40, 7, -7])
    }

    @Test(arguments: [
        ("bad_fortran.npy", SleepfoldError.Code.fortranOrder, "Fortran order"),
        ("bad_bigendian.npy", .bigEndian, "'>f4'"),
        ("bad_complex.npy", .unsupportedDType, "'<c8'"),
        ("bad_structured.npy", .unsupportedDType, "structured"),
        ("bad_truncated.npy", .truncated, "needs 24 bytes, found 19"),
        ("bad_oversize.npy", .sizeMismatch, "longer than the header"),
        ("bad_badversion.npy", .badVersion, "4.0"),
        ("bad_notnpy.npy", .badMagic, "magic"),
    ])
    func rejectsBadNpyFilesNamingTheFile(file: String, code: SleepfoldError.Code, phrase: String) throws {
        let url = try TestFixtures.url("npz/\(file)")
        let error = expectError(code) { _ = try NPYArray(contentsOf: url) }
        #expect(error?.file == url.path)
        #expect(error?.message.contains(phrase) == true, "\(String(describing: error))")
        #expect(error?.description.hasPrefix(url.path + ": ") == true)
    }

    @Test func parsesHeadersAsPythonWritesThem() throws {
        func npy(_ header: String, data: [UInt8]) -> [UInt8] {
            var text = Array(header.utf8)
            while (10 + text.count + 1) % 64 != 0 { text.append(UInt8(ascii: " ")) }
            text.append(UInt8(ascii: "\n"))
            return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text + data
        }
        let four: [UInt8] = [1, 0, 0, 0, 2, 0, 0, 0]
        // Python 2 long integers, double quotes, no trailing comma, other key order.
        #expect(try NPYArray(npy: npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2L,)}", data: four)).int32s() == [1, 2])
        #expect(try NPYArray(npy: npy("{\"shape\": (1, 2), \"fortran_order\": False, \"descr\": \"<i4\"}", data: four)).shape == [1, 2])
        // Fortran order of a 1-d array is the same layout as C order.
        #expect(try NPYArray(npy: npy("{'descr': '<i4', 'fortran_order': True, 'shape': (2,), }", data: four)).int32s() == [1, 2])
        let malformed = [
            "{'descr': '<i4', 'fortran_order': False}",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
            "{'descr': '<i4', 'fortran_order': 0, 'shape': (2,)}",
            "{'descr': '<i4', 'fortran_order': False, 'shape': 2}",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (-2,)}",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2,)",
            "['descr', '<i4']",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2,)} trailing",
            String(repeating: "(", count: 100),
        ]
        for header in malformed {
            expectError(.malformedHeader) { _ = try NPYArray(npy: npy(header, data: four)) }
        }
    }
}
