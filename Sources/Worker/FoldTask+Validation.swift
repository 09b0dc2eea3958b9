import Foundation
import Basics
import Shared

extension Sleepfold_FoldTask {
    /// Checks what the worker turns into paths before anything touches the disk: every
    /// recording's `sha256` is exactly 64 lowercase hex digits (it names the cache file),
    /// its `id` and `file_name` are plain names — one path component, not "." or "..",
    /// no "/" and no NUL — so that cache files stay in the cache directory and
    /// `file_name` names a file directly inside the data directory (the coordinator sends
    /// a file's last path component; manifests map ids to files locally).
    /// - Throws: `SleepfoldError` (`.invalidFoldTask`) naming the recording's field.
    public func validate() throws {
        let state = hasResumeState ? [resumeState] : []
        for (list, refs) in [("train", train), ("validation", validation), ("test", test), ("resume_state", state)] {
            for (i, ref) in refs.enumerated() {
                let place = "\(list)[\(i)]"
                guard ref.sha256.utf8.count == 64,
                      ref.sha256.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                    throw SleepfoldError(.invalidFoldTask, file: "fold \(fold) task", field: "\(place).sha256",
                                         found: "\"\(Self.quoted(ref.sha256))\"", expected: "64 lowercase hex digits")
                }
                for (field, value) in [("id", ref.id), ("file_name", ref.fileName)] where !Self.isPlainName(value) {
                    throw SleepfoldError(.invalidFoldTask, file: "fold \(fold) task", field: "\(place).\(field)",
                                         found: "\"\(Self.quoted(value))\"",
                                         expected: "a plain file name (no \"/\", not \".\" or \"..\", not empty)")
                }
            }
        }
    }

    /// True for one path component that names an entry of its directory.
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.utf8.contains(UInt8(ascii: "/")) && !name.utf8.contains(0)
    }

    /// At most 80 characters of a peer's string, for a message.
    private static func quoted(_ s: String) -> String {
        s.count > 80 ? String(s.prefix(80)) + "…" : s
    }
}
