import Foundation
import Testing
import Basics
import TestSupport

/// Issue 18, item 8: a night whose NPZ member claims 10^12 elements ends a command
/// cleanly (exit status 1, one error naming the file and the member) with its memory
/// bounded: the claim is checked against the member's recorded size before anything
/// is reserved for it.
@Suite struct HostileFileCommandTests {
    /// Bytes: the most `plan` may hold at its peak on a cohort of two tiny nights. It
    /// measures ~20-25 MiB; the member claims 4 TB (x: float32, y: int32).
    static let planPeakBound = 64 << 20

    @Test(arguments: ["x", "y"])
    func aMemberClaimingATrillionElementsEndsPlanWithAnErrorNamingFileAndMember(member: String) throws {
        let data = try CommandRunner.temporaryDirectory("npz-trillion")
        defer { try? FileManager.default.removeItem(at: data) }
        // A sound night for subject 0, and subject 1's night whose `member` claims (10^6, 10^6).
        func night(claiming huge: String?) -> Data {
            func member(_ name: String, _ bytes: [UInt8]) -> (name: String, bytes: [UInt8]) {
                guard name == huge else { return ("\(name).npy", bytes) }
                return ("\(name).npy", CraftedNPZ.npy(shape: "(1000000, 1000000)", descr: name == "x" ? "<f4" : "<i4", dataBytes: 8))
            }
            return CraftedNPZ.storedZIP([
                member("x", CraftedNPZ.npy(shape: "(1, 3000)", dataBytes: 12000)),
                member("y", CraftedNPZ.npy(shape: "(1,)", descr: "<i4", dataBytes: 4)),
                ("fs.npy", CraftedNPZ.npy(shape: "()", descr: "<i8", dataBytes: 0) + [100, 0, 0, 0, 0, 0, 0, 0]),
            ])
        }
        try night(claiming: nil).write(to: data.appendingPathComponent("SC4001E0.npz"))
        let bad = data.appendingPathComponent("SC4011E0.npz")
        try night(claiming: member).write(to: bad)

        let result = try CommandRunner.runMeasuringMemory(["plan", "--data", data.path, "--folds", "2"], timeout: 60)
        #expect(result.status == 1, "\(result.stderr)")   // an error, not a signal (abort, trap)
        #expect(result.stderr.contains(bad.path) && result.stderr.contains("member '\(member)'"), "\(result.stderr)")
        #expect(result.stderr.contains("truncated"), "\(result.stderr)")
        let peak = try #require(result.peakResidentBytes)
        print("NPZ member '\(member)' claiming 10^12 elements: plan peak RSS \(peak >> 20) MiB")
        #expect(peak > 0 && peak < Self.planPeakBound, "plan peak RSS \(peak >> 20) MiB, bound \(Self.planPeakBound >> 20) MiB")
    }
}
