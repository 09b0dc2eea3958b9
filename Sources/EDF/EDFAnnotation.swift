import Basics
/// One EDF+ annotation: a text with an onset and an optional duration.
public struct EDFAnnotation: Sendable, Equatable {
    /// Seconds from the header's start date/time, as written in the TAL (may be negative).
    /// Subtract `EDFAnnotations.startOffset` for seconds from the first sample.
    public var onset: Double
    /// Seconds, or nil when the TAL has no duration.
    public var duration: Double?
    /// The annotation text (UTF-8; invalid bytes become U+FFFD).
    public var text: String

    public init(onset: Double, duration: Double?, text: String) {
        self.onset = onset
        self.duration = duration
        self.text = text
    }
}

/// What the annotation signals of a file hold: the record onsets of the time-keeping
/// TALs and the annotations proper.
public struct EDFAnnotations: Sendable, Equatable {
    /// Onset of each data record in seconds from the header's start time. From the
    /// time-keeping TALs in EDF+/BDF+ files, `r · recordDuration` in plain files.
    public var recordOnsets: [Double]
    /// All annotations, in file order (record by record, TAL by TAL, text by text).
    public var annotations: [EDFAnnotation]

    public init(recordOnsets: [Double], annotations: [EDFAnnotation]) {
        self.recordOnsets = recordOnsets
        self.annotations = annotations
    }

    /// Seconds from the header's start time to the first sample (the first record's
    /// onset; EDF+ puts sub-second start times here), 0 without records.
    public var startOffset: Double { recordOnsets.first ?? 0 }
}

/// Parser of the TALs (time-stamped annotation lists) in one annotation signal of one record.
///
/// A TAL is `±onset[0x15 duration]0x14 text 0x14 [text 0x14 …] 0x00`. TALs follow each
/// other; unused bytes at the end are 0x00. The first TAL of the first annotation signal
/// of every record is the time-keeping TAL: its first text is empty and its onset is the
/// record's start.
struct TALParser {
    let file: String
    /// E.g. "record 3, signal 2/2 'EDF Annotations'", for messages.
    let location: String

    /// Parses `bytes`; returns the time-keeping onset (when `timeKeeping`) and the annotations.
    func parse(_ bytes: [UInt8], timeKeeping: Bool) throws -> (recordOnset: Double?, annotations: [EDFAnnotation]) {
        var annotations: [EDFAnnotation] = []
        var recordOnset: Double?
        var p = 0
        var isFirst = true
        while p < bytes.count {
            if bytes[p] == 0 { p += 1; continue }   // padding between and after TALs
            let start = p
            let (onset, duration, texts, next) = try parseTAL(bytes, at: p)
            p = next
            if timeKeeping && isFirst {
                guard texts.first.map({ $0.isEmpty }) ?? true, duration == nil else {
                    throw error(at: start, found: "a TAL with text \(SleepfoldError.quoted(texts.first ?? ""))",
                                expected: "the time-keeping TAL '±onset\\x14\\x14\\x00' first")
                }
                recordOnset = onset
                for text in texts.dropFirst() where !text.isEmpty {
                    annotations.append(EDFAnnotation(onset: onset, duration: nil, text: text))
                }
            } else {
                for text in texts where !text.isEmpty {
                    annotations.append(EDFAnnotation(onset: onset, duration: duration, text: text))
                }
            }
            isFirst = false
        }
        if timeKeeping && recordOnset == nil {
            throw error(at: 0, found: "no TAL", expected: "a time-keeping TAL '±onset\\x14\\x14\\x00'")
        }
        return (recordOnset, annotations)
    }

    private func parseTAL(_ b: [UInt8], at start: Int)
        throws -> (onset: Double, duration: Double?, texts: [String], next: Int) {
        var p = start
        guard b[p] == UInt8(ascii: "+") || b[p] == UInt8(ascii: "-") else {
            throw error(at: p, found: byteName(b[p]), expected: "'+' or '-' starting an onset")
        }
        p += 1
        let onsetEnd = scanNumber(b, from: p)
        let onsetText = String(decoding: b[(start)..<onsetEnd], as: UTF8.self)
        guard onsetEnd > p, let onset = Double(onsetText), onset.isFinite else {
            throw error(at: start, found: SleepfoldError.quoted(onsetText), expected: "an onset ±seconds")
        }
        p = onsetEnd
        var duration: Double?
        if p < b.count && b[p] == 0x15 {
            p += 1
            let durationEnd = scanNumber(b, from: p)
            let text = String(decoding: b[p..<durationEnd], as: UTF8.self)
            guard durationEnd > p, let value = Double(text), value.isFinite else {
                throw error(at: p, found: SleepfoldError.quoted(text), expected: "a duration in seconds after 0x15")
            }
            duration = value
            p = durationEnd
        }
        guard p < b.count else {
            throw error(at: start, found: "the end of the signal", expected: "0x14 after the onset")
        }
        guard b[p] == 0x14 else {
            throw error(at: p, found: byteName(b[p]), expected: "0x14 (or 0x15 and a duration) after the onset")
        }
        p += 1
        var texts: [String] = []
        // Each text ends with 0x14; the TAL ends with the 0x00 after a 0x14 (or the signal's end).
        while p < b.count && b[p] != 0 {
            let textStart = p
            while p < b.count && b[p] != 0x14 && b[p] != 0 { p += 1 }
            guard p < b.count && b[p] == 0x14 else {
                throw error(at: textStart, found: "an annotation text not ended by 0x14",
                            expected: "text 0x14 … 0x00")
            }
            texts.append(String(decoding: b[textStart..<p], as: UTF8.self))
            p += 1
        }
        return (onset, duration, texts, p)
    }

    /// End of a run of digits and at most one '.'.
    private func scanNumber(_ b: [UInt8], from start: Int) -> Int {
        var p = start
        var points = 0
        while p < b.count {
            if b[p] >= UInt8(ascii: "0") && b[p] <= UInt8(ascii: "9") {
                p += 1
            } else if b[p] == UInt8(ascii: "."), points == 0 {
                points += 1
                p += 1
            } else {
                break
            }
        }
        return p
    }

    private func byteName(_ byte: UInt8) -> String {
        (0x20..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'"
            : "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    private func error(at offset: Int, found: String, expected: String) -> SleepfoldError {
        SleepfoldError(.badAnnotation, file: file, field: "\(location), TAL at byte \(offset)",
                       found: found, expected: expected)
    }
}
