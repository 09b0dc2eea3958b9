import Foundation

/// Hand-made `.npy` and `.npz` bytes whose headers may claim anything: the
/// writers in Cohorts only write what is true, and the hostile-input tests
/// (CohortsTests, and the commands in SleepfoldTests) need files that lie.
public enum CraftedNPZ {
    /// An `.npy` image whose header claims `shape` of `descr`, followed by `dataBytes` zero bytes.
    public static func npy(shape: String, descr: String = "<f4", dataBytes: Int) -> [UInt8] {
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + dict.utf8.count + 1) % 64 != 0 { dict += " " }
        dict += "\n"
        let length = UInt16(dict.utf8.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)]
            + Array(dict.utf8) + [UInt8](repeating: 0, count: dataBytes)
    }

    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// A ZIP archive of stored (uncompressed) members with their true sizes and CRCs.
    public static func storedZIP(_ members: [(name: String, bytes: [UInt8])]) -> Data {
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
}
