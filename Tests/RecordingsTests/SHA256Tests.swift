import Foundation
import Testing
import Basics
import Recordings
import TestSupport

/// SHA-256 against the FIPS 180-4 examples and Python's hashlib.
struct SHA256Tests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func knownVectors(message: String, digest: String) {
        #expect(Self.hex(SHA256.hash(Array(message.utf8))) == digest)
    }

    @Test func aMillionAs() {
        var hasher = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hasher.update(chunk) }
        #expect(hasher.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func anySplitOfTheInputGivesTheSameDigest() {
        // 0…199 crosses block and padding boundaries (55, 56, 63, 64, 119, 128 bytes).
        for length in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 200] {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let whole = SHA256.hash(message)
            for split in 0...length {
                var hasher = SHA256()
                hasher.update(Array(message[..<split]))
                hasher.update(Array(message[split...]))
                #expect(hasher.finalize() == whole, "length \(length), split \(split)")
            }
            var byteByByte = SHA256()
            for byte in message { byteByByte.update([byte]) }
            #expect(byteByByte.finalize() == whole)
        }
    }

    @Test(arguments: ["sleepedf/SC4001E0.npz", "sleepedf/SC4002E0.npz", "manifest/manifest.json"])
    func fileDigestsMatchHashlib(file: String) throws {
        let expected = try #require(try TestFixtures.json("cohort/expected.json")["sha256"] as? [String: String])
        #expect(try SHA256.hexDigest(ofFile: TestFixtures.url("cohort/\(file)")) == expected[file])
    }

    @Test func finalizeDoesNotEndTheStream() {
        var hasher = SHA256()
        hasher.update(Array("ab".utf8))
        _ = hasher.finalize()
        hasher.update(Array("c".utf8))
        #expect(hasher.hexDigest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func missingFilesAreNamed() {
        let url = URL(fileURLWithPath: "/nonexistent-sleepfold/x.npz")
        #expect(expectError(.fileNotFound) { _ = try SHA256.hexDigest(ofFile: url) }?.file == url.path)
    }
}
