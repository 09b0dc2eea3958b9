import Foundation
import ZIPFoundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Basics
import Recordings

/// How `.npz` members are stored: as `np.savez` (stored) or `np.savez_compressed` (deflate).
public enum NPZCompression: Sendable {
    case stored
    case deflated
}

extension NPZArchive {
    /// The fixed modification time of members written by sleepfold (1980-01-01, the
    /// ZIP epoch), so that the same arrays always give the same bytes and hash.
    static let memberDate = Date(timeIntervalSince1970: 315_532_800)

    /// Writes `members` (name without `.npy`, array) as an `.npz` archive at `url`,
    /// replacing any file there. numpy reads the result with `np.load`.
    ///
    /// The archive is written to a temporary file beside `url` and renamed into
    /// place, so a reader never sees a half-written file. Member names must be
    /// unique and non-empty (a programming error otherwise).
    public static func write(_ members: [(name: String, array: NPYArray)], to url: URL,
                             compression: NPZCompression = .stored) throws {
        let names = members.map(\.name)
        precondition(Set(names).count == names.count && !names.contains(""),
                     "NPZArchive.write: member names must be unique and non-empty: \(names)")
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            let archive = try Archive(url: temporary, accessMode: .create)
            for member in members {
                let bytes = member.array.npyBytes()
                try archive.addEntry(with: member.name + ".npy", type: .file, uncompressedSize: Int64(bytes.count),
                                     modificationDate: memberDate,
                                     compressionMethod: compression == .stored ? .none : .deflate) { position, size in
                    let start = Int(position)
                    return Data(bytes[start..<min(start + size, bytes.count)])
                }
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw SleepfoldError.fileAccess(error, file: url.path, cannot: "write the archive")
        }
        guard rename(temporary.path, url.path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(at: temporary)
            throw SleepfoldError.system("rename of the written archive into place", file: url.path, errno: code)
        }
    }
}
