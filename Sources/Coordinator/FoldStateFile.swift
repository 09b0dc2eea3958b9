import Foundation
import Basics
import Recordings

/// What the coordinator checks of a fold state (docs/fold-state.md) without the
/// model core: sound safetensors framing, the format, the fold's fingerprint, and
/// the SHA-256 over every tensor's bytes in name order that the state carries in
/// `__metadata__.data_sha256` (a file torn or garbled at full length fails it).
/// The worker checks the rest (config, shapes, ranges) when it resumes.
public struct FoldStateFile: Sendable {
    static let format = "sleepfold-fold-state"

    /// Where the state stands: after `epochsCompleted` epochs and `nextBatch` batches of the next.
    public let epochsCompleted: Int
    public let nextBatch: Int

    /// - Parameter checkDigest: false skips `data_sha256` (one pass over the bytes) when
    ///   they were just checked whole against the SHA-256 their sender announced.
    /// - Throws: `SleepfoldError` (`.invalidFoldState`) naming `source` and the part
    ///   that is wrong.
    public init(_ data: Data, fingerprint: String, source: String, checkDigest: Bool = true) throws {
        func bad(_ field: String, found: String, expected: String) -> SleepfoldError {
            SleepfoldError(.invalidFoldState, file: source, field: field, found: found, expected: expected)
        }
        let layout: SafetensorsFraming.Layout
        switch SafetensorsFraming.layout(of: data) {
        case .success(let l): layout = l
        case .failure(let problem):
            throw bad("framing", found: problem.text, expected: "a whole safetensors file (torn or truncated?)")
        }
        let metadata = layout.metadata
        guard metadata["format"] == Self.format else {
            throw bad("__metadata__.format", found: "\"\(metadata["format"] ?? "")\"", expected: "\"\(Self.format)\"")
        }
        guard metadata["fingerprint"] == fingerprint else {
            throw bad("__metadata__.fingerprint", found: "\"\(metadata["fingerprint"] ?? "")\"",
                      expected: "\"\(fingerprint)\" (a state of another run, fold or seed is never resumed)")
        }
        if checkDigest {
            try Self.checkDataDigest(data, layout, metadata: metadata, bad: bad)
        }
        // JSON read in place, as the header is (`HeaderJSON`: JSONDecoder cost 1 % of the
        // coordinator's CPU at 1,000 workers).
        guard let json = metadata["progress"],
              case .object(let progress)? = HeaderJSON.parse(Data(json.utf8)),
              case .integer(let epochs)? = progress["epochs_completed"], case .integer(let batch)? = progress["next_batch"],
              epochs >= 0, batch >= 0 else {
            throw bad("__metadata__.progress", found: "\(metadata["progress"]?.prefix(80) ?? "nothing")",
                      expected: "JSON with epochs_completed and next_batch")
        }
        epochsCompleted = epochs
        nextBatch = batch
    }

    private static func checkDataDigest(_ data: Data, _ layout: SafetensorsFraming.Layout, metadata: [String: String],
                                        bad: (String, String, String) -> SleepfoldError) throws {
        var hasher = SHA256()
        data.withUnsafeBytes { raw in
            for name in layout.tensors.keys.sorted() {
                hasher.update(UnsafeRawBufferPointer(rebasing: raw[layout.tensors[name]!]))
            }
        }
        let digest = hasher.hexDigest()
        guard metadata["data_sha256"] == digest else {
            throw bad("__metadata__.data_sha256", "tensor bytes with SHA-256 \(digest.prefix(12))…",
                      "\((metadata["data_sha256"] ?? "").prefix(12))… (the file is torn or garbled)")
        }
    }
}

extension SleepfoldError.Code {
    /// A fold state that is torn, of another fold, or not a fold state.
    public static let invalidFoldState = Self("invalidFoldState")
}
