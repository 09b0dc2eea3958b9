import Basics

// Problems with an EDF / EDF+ / BDF file: `file` is the file name (or the name given
// to an in-memory reader), `field` the header field, signal, record or annotation,
// and the message "found X, expected Y". Reading never traps on bad input: every
// inconsistency in a header, a data record or an annotation ends up as one of these
// (or as Basics' `.io`, `.fileNotFound`, `.truncated`, `.badVersion`). The writer
// uses `.unwritable` for values it cannot encode.
extension SleepfoldError.Code {
    /// A header field is not what its kind requires (non-numeric, out of range, inconsistent).
    public static let badField = Self("badField")
    /// The file size does not match the header size plus the data records.
    public static let badFileSize = Self("badFileSize")
    /// Annotations that are malformed: an EDF+ TAL, record onsets that overlap, an NSRR
    /// XML event or EpochLength.
    public static let badAnnotation = Self("badAnnotation")
    /// A signal index or record range asked of the reader does not exist.
    public static let badRequest = Self("badRequest")
    /// The writer was given a value it cannot put in the file.
    public static let unwritable = Self("unwritable")
}

extension SleepfoldError {
    /// Name of signal `index` for messages: 1-based position, count and label.
    static func signalName(_ index: Int, of count: Int, label: String) -> String {
        "signal \(index + 1)/\(count) '\(label)'"
    }

    /// `text` quoted for a message, with non-printable bytes escaped and long text cut.
    static func quoted(_ text: String, limit: Int = 60) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        if text.unicodeScalars.count > limit { out += "…" }
        return "'\(out)'"
    }
}
