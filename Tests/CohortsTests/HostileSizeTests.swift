import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import TestSupport

/// Headers and rates that claim absurd sizes are refused, naming file and member,
/// before any memory is reserved for them.
@Suite struct HostileSizeTests {
    /// An `.npy` image whose header claims `shape` of `<f4`, followed by `dataBytes` zero bytes.
    static func npy(shape: String, descr: String = "<f4", dataBytes: Int) -> [UInt8] {
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + dict.utf8.count + 1) % 64 != 0 { dict += " " }
        dict += "\n"
        let length = UInt16(dict.utf8.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)]
            + Array(dict.utf8) + [UInt8](repeating: 0, count: dataBytes)
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// A ZIP archive of stored (uncompressed) members with their true sizes.
    static func storedZIP(_ members: [(name: String, bytes: [UInt8])]) -> Data {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        var out: [UInt8] = [], central: [UInt8] = []
        for (name, bytes) in members {
            let offset = UInt32(out.count), crc = crc32(bytes), size = UInt32(bytes.count)
            let common = le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21) + le32(crc) + le32(size) + le32(size)
                + le16(name.utf8.count)
            out += le32(0x0403_4B50) + common + le16(0) + Array(name.utf8) + bytes
            central += le32(0x0201_4B50) + le16(20) + common + le16(0) + le16(0) + le16(0) + le16(0) + le32(0)
                + le32(offset) + Array(name.utf8)
        }
        let centralOffset = UInt32(out.count)
        out += central + le32(0x0605_4B50) + le16(0) + le16(0) + le16(members.count) + le16(members.count)
            + le32(UInt32(central.count)) + le32(centralOffset) + le16(0)
        return Data(out)
    }

    static func temporaryFile(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cohorts-hostile-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name)
    }

    /// 10^12 elements claimed, 8 bytes present: refused as truncated (reserving
    /// 4 TB first would abort the process).
    @Test func anNPYClaimingATrillionElementsIsRefusedBeforeAllocating() throws {
        let bytes = Self.npy(shape: "(1000000, 1000000)", dataBytes: 8)
        let e = expectError(.truncated) { _ = try NPYArray(npy: bytes) }
        #expect(e?.message.contains("4000000000000 bytes") == true, "\(String(describing: e))")
        let url = try Self.temporaryFile("huge.npy")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        try Data(bytes).write(to: url)
        expectError(.truncated, file: url.path) { _ = try NPYArray(contentsOf: url) }
    }

    @Test(arguments: ["x", "y"])
    func anNPZMemberClaimingATrillionElementsIsRefusedBeforeAllocating(member: String) throws {
        let url = try Self.temporaryFile("SC4001E0.npz")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let good: [String: [UInt8]] = [
            "x": Self.npy(shape: "(1, 3000)", dataBytes: 12000),
            "y": Self.npy(shape: "(1,)", descr: "<i4", dataBytes: 4),
        ]
        let huge = Self.npy(shape: "(1000000, 1000000)", descr: member == "x" ? "<f4" : "<i4", dataBytes: 8)
        let fs = Self.npy(shape: "()", descr: "<i8", dataBytes: 0).dropLast(0) + [100, 0, 0, 0, 0, 0, 0, 0]
        try Self.storedZIP([("x.npy", member == "x" ? huge : good["x"]!), ("y.npy", member == "y" ? huge : good["y"]!),
                            ("fs.npy", Array(fs))]).write(to: url)
        let archive = try NPZArchive(url: url)
        expectError(.truncated, file: url.path, field: "member '\(member)'") { _ = try archive.array(member) }
        expectError(.truncated, file: url.path, field: "member '\(member)'") { _ = try Recording(contentsOf: url) }
        expectError(.truncated, file: url.path, field: "member '\(member)'") { _ = try RecordingSummary(scanning: url) }
    }

    @Test(arguments: [1e308, Double.infinity, 0.5, 1e6, -100])
    func anAbsurdSamplingRateIsRefused(rate: Double) throws {
        let url = try Self.temporaryFile("SC4001E0.npz")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        try NPZArchive.write([("x", NPYArray([Float](repeating: 0, count: 3000), shape: [1, 3000])),
                              ("y", NPYArray([0] as [Int32])), ("fs", NPYArray(scalar: rate))], to: url)
        for expected in [Double?.none, 100] {
            let e = expectError(.sampleRateMismatch, file: url.path, field: "member 'fs'") {
                _ = try Recording(contentsOf: url, expectedSampleRate: expected)
            }
            if expected == nil { #expect(e?.message.contains("between 1 and 100000 Hz") == true, "\(String(describing: e))") }
            expectError(.sampleRateMismatch, file: url.path, field: "member 'fs'") {
                _ = try RecordingSummary(scanning: url, expectedSampleRate: expected)
            }
        }
    }
}
