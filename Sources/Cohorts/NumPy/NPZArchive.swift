import Foundation
import ZIPFoundation
import Basics
import Recordings

/// A `.npz` archive opened for reading: a ZIP file of `.npy` members, as written by
/// `np.savez` (stored) or `np.savez_compressed` (deflated).
///
/// Members are named as `np.load` names them: the entry path without its `.npy`
/// suffix (`x.npy` → "x"). Members are decoded only when asked for, so unknown
/// members (even pickled objects) cost nothing. Every error names the archive's
/// path and the member.
public final class NPZArchive {
    /// Path of the archive, for messages.
    public let path: String
    private let archive: Archive
    /// ZIP entries by member name, in archive order.
    private let entries: [(name: String, entry: Entry)]

    /// Opens the archive at `url`.
    ///
    /// - Throws: `SleepfoldError` (`.fileNotFound`, `.notAnArchive`) when the file is missing
    ///   or not a readable ZIP file (e.g. truncated).
    public init(url: URL) throws {
        path = url.path
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw SleepfoldError(.fileNotFound, file: path, found: "no such file", expected: "an .npz archive")
        }
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw SleepfoldError(.notAnArchive, file: path, "found a file that is damaged, truncated or of another "
                                 + "format (\(error)), expected a readable .npz (ZIP) archive")
        }
        entries = Self.memberEntries(of: archive)
    }

    /// Opens an archive held in memory; `name` stands for its path in messages.
    public init(data: Data, name: String) throws {
        path = name
        do {
            archive = try Archive(data: data, accessMode: .read)
        } catch {
            throw SleepfoldError(.notAnArchive, file: path, "found data that is damaged, truncated or of another "
                                 + "format (\(error)), expected a readable .npz (ZIP) archive")
        }
        entries = Self.memberEntries(of: archive)
    }

    private static func memberEntries(of archive: Archive) -> [(name: String, entry: Entry)] {
        archive.filter { $0.type == .file }.map { entry in
            let path = entry.path
            return (path.hasSuffix(".npy") ? String(path.dropLast(4)) : path, entry)
        }
    }

    /// Member names in archive order (without `.npy`).
    public var memberNames: [String] { entries.map(\.name) }

    /// Whether the archive has a member called `name`.
    public func contains(_ name: String) -> Bool { entries.contains { $0.name == name } }

    /// The header of member `name`, reading only the start of the member.
    ///
    /// Also checks the member's recorded size against the header, so a truncated
    /// or oversized member is caught without reading its data.
    public func header(of name: String) throws -> NPYHeader {
        let entry = try self.entry(name)
        var decoder = NPYStreamDecoder { _, _ in }
        do {
            _ = try archive.extract(entry, skipCRC32: true) { chunk in
                try chunk.withUnsafeBytes { try decoder.consume($0) }
                if decoder.header != nil { throw StopReading() }
            }
        } catch is StopReading {
            // The header is complete; the rest of the member is not needed.
        } catch let error as SleepfoldError {
            throw error.located(file: path, field: "member '\(name)'")
        } catch {
            throw readFailure(name, error)
        }
        let header = try locating(file: path, field: "member '\(name)'") { () throws -> NPYHeader in
            guard let header = decoder.header else { return try decoder.finish() }
            return header
        }
        // The decoder bounded the element count by the member's recorded size, which a crafted
        // archive may set near 2⁶⁴: add with a check.
        let (declared, overflow) = header.dataOffset.addingReportingOverflow(header.byteCount)
        guard !overflow else {
            throw SleepfoldError(.sizeMismatch, file: path, field: "member '\(name)'",
                                 found: "shape \(describe(shape: header.shape)) of \(header.dtype.rawValue)",
                                 expected: "an array of fewer than 2⁶³ bytes")
        }
        let stored = entry.uncompressedSize
        if stored < UInt64(declared) {
            throw SleepfoldError(.truncated, file: path, field: "member '\(name)'",
                                 "data is truncated: shape \(describe(shape: header.shape)) of \(header.dtype.rawValue) "
                                 + "needs \(header.byteCount) bytes, found \(Int(stored) - header.dataOffset)")
        }
        if stored > UInt64(declared) {
            throw SleepfoldError(.sizeMismatch, file: path, field: "member '\(name)'",
                                 "data is longer than the header declares: shape \(describe(shape: header.shape)) of "
                                 + "\(header.dtype.rawValue) needs \(header.byteCount) bytes, found \(stored - UInt64(header.dataOffset))")
        }
        return header
    }

    /// Decodes member `name` completely.
    public func array(_ name: String) throws -> NPYArray {
        var collected: [UInt8] = []
        let header = try stream(name) { header, elements in
            if collected.isEmpty { collected.reserveCapacity(header.byteCount) }
            collected.append(contentsOf: elements)
        }
        return NPYArray(unchecked: header.dtype, shape: header.shape, bytes: collected)
    }

    /// Streams member `name` through `body` in runs of whole elements, so large
    /// members can be checked without holding them in memory. Verifies the CRC-32.
    ///
    /// - Returns: the member's header.
    public func stream(_ name: String, _ body: @escaping (NPYHeader, UnsafeRawBufferPointer) throws -> Void) throws -> NPYHeader {
        let entry = try self.entry(name)
        var decoder = NPYStreamDecoder(onElements: body)
        decoder.streamSize = try plausibleSize(of: entry, name)
        let checksum: CRC32
        do {
            checksum = try archive.extract(entry) { chunk in
                try chunk.withUnsafeBytes { try decoder.consume($0) }
            }
        } catch let error as SleepfoldError {
            throw error.located(file: path, field: "member '\(name)'")
        } catch {
            throw readFailure(name, error)
        }
        guard checksum == entry.checksum else {
            throw SleepfoldError(.checksumMismatch, file: path, field: "member '\(name)'",
                                 "found CRC-32 \(hex(checksum)), expected \(hex(entry.checksum)) as the archive records: "
                                 + "the file is damaged")
        }
        return try locating(file: path, field: "member '\(name)'") { try decoder.finish() }
    }

    private func entry(_ name: String) throws -> Entry {
        guard let entry = entries.first(where: { $0.name == name })?.entry else {
            let present = memberNames.map { "'\($0)'" }.joined(separator: ", ")
            throw SleepfoldError(.missingMember, file: path, field: "member '\(name)'",
                                 "no such member, expected one (the archive holds \(present.isEmpty ? "no members" : present))")
        }
        return entry
    }

    /// The member's uncompressed size as the archive records it, refused when no
    /// deflate stream of its compressed size could produce it (deflate expands at
    /// most 1032:1), so a header's shape is checked against a size the data can have.
    private func plausibleSize(of entry: Entry, _ name: String) throws -> Int {
        let stored = entry.uncompressedSize, compressed = entry.compressedSize
        let (limit, overflow) = compressed.multipliedReportingOverflow(by: 1032)
        guard let size = Int(exactly: stored), overflow || stored <= limit + 1024 else {
            throw SleepfoldError(.sizeMismatch, file: path, field: "member '\(name)'",
                                 found: "\(stored) bytes uncompressed from \(compressed) compressed",
                                 expected: "at most 1032 times the compressed size (deflate's limit)")
        }
        return size
    }

    private func readFailure(_ name: String, _ error: Error) -> SleepfoldError {
        SleepfoldError(.notAnArchive, file: path, field: "member '\(name)'",
                       "found a damaged or truncated archive (\(error)), expected a readable member")
    }

    private func hex(_ value: CRC32) -> String { "0x" + String(value, radix: 16) }

    /// Thrown from an extract consumer to stop reading early.
    private struct StopReading: Error {}
}

// Codes of `.npz` archives (the members' own problems have the `.npy` codes).
extension SleepfoldError.Code {
    /// The file is not a readable ZIP archive (damaged, truncated, or not an NPZ at all).
    public static let notAnArchive = Self("notAnArchive")
    /// A required archive member is absent.
    public static let missingMember = Self("missingMember")
    /// An archive member fails its CRC-32 check.
    public static let checksumMismatch = Self("checksumMismatch")
}
