import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import TestSupport

/// Headers and rates that claim absurd sizes are refused, naming file and member,
/// before any memory is reserved for them.
@Suite struct HostileSizeTests {
    static func temporaryFile(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cohorts-hostile-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name)
    }

    /// 10^12 elements claimed, 8 bytes present: refused as truncated (reserving
    /// 4 TB first would abort the process).
    @Test func anNPYClaimingATrillionElementsIsRefusedBeforeAllocating() throws {
        let bytes = CraftedNPZ.npy(shape: "(1000000, 1000000)", dataBytes: 8)
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
            "x": CraftedNPZ.npy(shape: "(1, 3000)", dataBytes: 12000),
            "y": CraftedNPZ.npy(shape: "(1,)", descr: "<i4", dataBytes: 4),
        ]
        let huge = CraftedNPZ.npy(shape: "(1000000, 1000000)", descr: member == "x" ? "<f4" : "<i4", dataBytes: 8)
        let fs = CraftedNPZ.npy(shape: "()", descr: "<i8", dataBytes: 0).dropLast(0) + [100, 0, 0, 0, 0, 0, 0, 0]
        try CraftedNPZ.storedZIP([("x.npy", member == "x" ? huge : good["x"]!), ("y.npy", member == "y" ? huge : good["y"]!),
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
