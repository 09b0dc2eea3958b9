import Basics
/// Parsing and validation of the EDF header bytes.
///
/// The header is read in two steps because its size depends on its content: the
/// fixed 256 bytes give the number of signals `ns`, then 256 · ns more bytes hold the
/// signal headers, field by field (all labels, then all transducers, …).
extension EDFHeader {
    /// Bytes of the fixed part of the header, and of each signal's part.
    public static let fixedByteCount = 256
    /// Upper bound on the number of signals; larger counts are taken as corruption.
    public static let maxSignalCount = 65_535
    /// Upper bound on samples per record of one signal; larger counts are taken as corruption.
    public static let maxSamplesPerRecord = 100_000_000

    /// Widths of the ten per-signal fields, in file order.
    static let signalFieldWidths = [16, 80, 8, 8, 8, 8, 8, 80, 8, 32]

    /// Checks the version and the header size fields of the fixed 256 bytes and returns the
    /// number of signals.
    static func signalCount(fixedPart bytes: [UInt8], file: String) throws -> Int {
        guard bytes.count >= fixedByteCount else {
            throw SleepfoldError(.truncated, file: file, field: "header",
                                 found: "\(bytes.count) bytes in the file",
                                 expected: "at least \(fixedByteCount) bytes")
        }
        _ = try sampleFormat(bytes, file: file)
        let fields = HeaderFields(bytes: bytes, file: file)
        let headerBytes = try fields.integer(184..<192, field: "number of bytes in header")
        let ns = try fields.integer(252..<256, field: "number of signals")
        guard (1...maxSignalCount).contains(ns) else {
            throw SleepfoldError(.badField, file: file, field: "number of signals", found: "\(ns)",
                                 expected: "1…\(maxSignalCount)")
        }
        guard headerBytes == fixedByteCount * (ns + 1) else {
            throw SleepfoldError(.badField, file: file, field: "number of bytes in header",
                                 found: "\(headerBytes)",
                                 expected: "256 · (\(ns) signals + 1) = \(fixedByteCount * (ns + 1))")
        }
        return ns
    }

    /// Parses a whole header (`bytes` = 256 · (ns + 1) bytes) and checks it against the
    /// size of the file it came from.
    static func parse(_ bytes: [UInt8], fileSize: Int, file: String) throws -> EDFHeader {
        let ns = try signalCount(fixedPart: Array(bytes.prefix(fixedByteCount)), file: file)
        let headerBytes = fixedByteCount * (ns + 1)
        guard bytes.count >= headerBytes else {
            throw SleepfoldError(.truncated, file: file, field: "signal headers",
                                 found: "\(bytes.count) header bytes",
                                 expected: "\(headerBytes) bytes for \(ns) signals")
        }
        let format = try sampleFormat(bytes, file: file)
        let fields = HeaderFields(bytes: bytes, file: file)

        let patient = fields.text(8..<88)
        let recording = fields.text(88..<168)
        let startTime = try fields.dateTime(date: 168..<176, time: 176..<184)
        let reserved = fields.text(192..<236)
        let recordCountField = try fields.integer(236..<244, field: "number of data records")
        guard recordCountField >= -1 else {
            throw SleepfoldError(.badField, file: file, field: "number of data records",
                                 found: "\(recordCountField)", expected: "a count ≥ 0, or −1 for unknown")
        }
        let recordDuration = try fields.decimal(244..<252, field: "duration of a data record")
        guard recordDuration >= 0, recordDuration <= EDFLimits.maxRecordDuration else {
            throw SleepfoldError(.badField, file: file, field: "duration of a data record",
                                 found: "\(recordDuration)", expected: "seconds in 0…\(Int(EDFLimits.maxRecordDuration))")
        }

        let variant = plusVariant(reserved: reserved, format: format)
        let signals = try parseSignals(fields, count: ns, format: format, variant: variant)
        try checkSignalRules(signals, variant: variant, format: format,
                             recordDuration: recordDuration, file: file)

        let recordBytes = signals.reduce(0) { $0 + $1.samplesPerRecord } * format.bytesPerSample
        let recordCount = try resolveRecordCount(field: recordCountField, recordBytes: recordBytes,
                                                 headerBytes: headerBytes, fileSize: fileSize, file: file)
        return EDFHeader(sampleFormat: format, variant: variant, patient: patient, recording: recording,
                         startTime: startTime, headerByteCount: headerBytes, reserved: reserved,
                         recordCountField: recordCountField, recordCount: recordCount,
                         recordDuration: recordDuration, signals: signals)
    }

    /// EDF's "0       " or BDF's 0xFF "BIOSEMI".
    private static func sampleFormat(_ bytes: [UInt8], file: String) throws -> EDFSampleFormat {
        if bytes[0] == 0xFF && Array(bytes[1..<8]) == Array("BIOSEMI".utf8) { return .bdf }
        if bytes[0] == UInt8(ascii: "0") && bytes[1..<8].allSatisfy({ $0 == 0x20 }) { return .edf }
        let shown = bytes[0] == 0xFF ? "0xFF" + String(decoding: bytes[1..<8], as: UTF8.self)
                                     : String(decoding: bytes[0..<8], as: UTF8.self)
        throw SleepfoldError(.badVersion, file: file, field: "version (bytes 0–7)",
                             found: SleepfoldError.quoted(shown),
                             expected: "'0' followed by 7 spaces (EDF) or 0xFF 'BIOSEMI' (BDF)")
    }

    /// The "+" variant from the reserved field: "EDF+C"/"EDF+D" (EDF), "BDF+C"/"BDF+D" (BDF).
    /// Anything else ("", "24BIT", non-standard text) is a plain file.
    private static func plusVariant(reserved: String, format: EDFSampleFormat) -> EDFVariant {
        let prefix = format == .edf ? "EDF+" : "BDF+"
        if reserved.hasPrefix(prefix + "C") { return .continuous }
        if reserved.hasPrefix(prefix + "D") { return .discontinuous }
        return .plain
    }

    private static func parseSignals(_ fields: HeaderFields, count ns: Int, format: EDFSampleFormat,
                                     variant: EDFVariant) throws -> [EDFSignalHeader] {
        // Start of each field block: the fields of all signals follow each other.
        var starts: [Int] = []
        var offset = fixedByteCount
        for width in signalFieldWidths {
            starts.append(offset)
            offset += width * ns
        }
        func range(_ field: Int, _ signal: Int) -> Range<Int> {
            let start = starts[field] + signal * signalFieldWidths[field]
            return start..<(start + signalFieldWidths[field])
        }

        var signals: [EDFSignalHeader] = []
        signals.reserveCapacity(ns)
        for i in 0..<ns {
            let label = fields.text(range(0, i))
            let name = SleepfoldError.signalName(i, of: ns, label: label)
            let physicalMinimum = try fields.decimal(range(3, i), field: "\(name): physical minimum")
            let physicalMaximum = try fields.decimal(range(4, i), field: "\(name): physical maximum")
            for (field, value) in [("physical minimum", physicalMinimum), ("physical maximum", physicalMaximum)]
            where abs(value) > EDFLimits.maxPhysicalMagnitude {
                throw SleepfoldError(.badField, file: fields.file, field: "\(name): \(field)", found: "\(value)",
                                     expected: "a magnitude of at most \(EDFLimits.maxPhysicalMagnitude)")
            }
            let digitalMinimum = try fields.integer(range(5, i), field: "\(name): digital minimum")
            let digitalMaximum = try fields.integer(range(6, i), field: "\(name): digital maximum")
            let samples = try fields.integer(range(8, i), field: "\(name): number of samples in each data record")
            guard (1...maxSamplesPerRecord).contains(samples) else {
                throw SleepfoldError(.badField, file: fields.file,
                                     field: "\(name): number of samples in each data record",
                                     found: "\(samples)", expected: "1…\(maxSamplesPerRecord)")
            }
            signals.append(EDFSignalHeader(
                label: label, transducer: fields.text(range(1, i)),
                physicalDimension: fields.text(range(2, i)),
                physicalMinimum: physicalMinimum, physicalMaximum: physicalMaximum,
                digitalMinimum: digitalMinimum, digitalMaximum: digitalMaximum,
                prefiltering: fields.text(range(7, i)), samplesPerRecord: samples,
                reserved: fields.text(range(9, i)),
                isAnnotation: variant != .plain && label == format.annotationLabel))
        }
        return signals
    }

    /// Rules between fields: digital range within the sample width and non-empty, a
    /// non-degenerate physical range, annotation signals present in "+" files, record
    /// duration 0 only when there is no data signal.
    private static func checkSignalRules(_ signals: [EDFSignalHeader], variant: EDFVariant,
                                         format: EDFSampleFormat, recordDuration: Double,
                                         file: String) throws {
        let width = format.digitalLowerBound...format.digitalUpperBound
        for (i, s) in signals.enumerated() where !s.isAnnotation {
            let name = SleepfoldError.signalName(i, of: signals.count, label: s.label)
            guard width.contains(s.digitalMinimum) else {
                throw SleepfoldError(.badField, file: file, field: "\(name): digital minimum",
                                     found: "\(s.digitalMinimum)",
                                     expected: "a value in \(width.lowerBound)…\(width.upperBound)")
            }
            guard width.contains(s.digitalMaximum) && s.digitalMaximum > s.digitalMinimum else {
                throw SleepfoldError(.badField, file: file, field: "\(name): digital maximum",
                                     found: "\(s.digitalMaximum)",
                                     expected: "a value in \(s.digitalMinimum + 1)…\(width.upperBound) (above the digital minimum)")
            }
            guard s.physicalMaximum != s.physicalMinimum else {
                throw SleepfoldError(.badField, file: file, field: "\(name): physical maximum",
                                     found: "\(s.physicalMaximum), equal to the physical minimum",
                                     expected: "a value different from the physical minimum")
            }
        }
        if variant != .plain && !signals.contains(where: \.isAnnotation) {
            throw SleepfoldError(.badField, file: file, field: "signal labels",
                                 found: "no '\(format.annotationLabel)' signal in a \(format == .edf ? "EDF+" : "BDF+") file",
                                 expected: "at least one annotation signal")
        }
        if recordDuration == 0, let i = signals.firstIndex(where: { !$0.isAnnotation }) {
            throw SleepfoldError(.badField, file: file, field: "duration of a data record",
                                 found: "0 with data \(SleepfoldError.signalName(i, of: signals.count, label: signals[i].label))",
                                 expected: "a positive duration (0 only for annotation-only files)")
        }
    }

    /// The record count the file holds: the header's count, which must match the file size,
    /// or for −1 ("unknown") the count of whole records the size gives.
    private static func resolveRecordCount(field: Int, recordBytes: Int, headerBytes: Int,
                                           fileSize: Int, file: String) throws -> Int {
        let dataBytes = fileSize - headerBytes
        guard dataBytes >= 0 else {
            throw SleepfoldError(.truncated, file: file, field: "header",
                                 found: "\(fileSize) bytes in the file", expected: "at least \(headerBytes) header bytes")
        }
        let wholeRecords = dataBytes / recordBytes
        let trailing = dataBytes % recordBytes
        if field == -1 {
            guard trailing == 0 else {
                throw SleepfoldError(.badFileSize, file: file, field: "number of data records (−1, unknown)",
                                     found: "\(fileSize) bytes = \(headerBytes) header + \(wholeRecords) records of \(recordBytes) bytes + \(trailing) bytes",
                                     expected: "a file size of header + a whole number of records")
            }
            return wholeRecords
        }
        let (expectedData, overflow) = field.multipliedReportingOverflow(by: recordBytes)
        if overflow || expectedData > dataBytes {
            throw SleepfoldError(.truncated, file: file, field: "number of data records",
                                 found: "\(field) records of \(recordBytes) bytes, but the file ends after \(wholeRecords) whole records + \(trailing) bytes",
                                 expected: "\(field) complete records")
        }
        guard expectedData == dataBytes else {
            throw SleepfoldError(.badFileSize, file: file, field: "number of data records",
                                 found: "\(field) records of \(recordBytes) bytes followed by \(dataBytes - expectedData) more bytes",
                                 expected: "a file size of \(headerBytes) + \(field) · \(recordBytes) = \(headerBytes + expectedData) bytes")
        }
        return field
    }
}

/// Typed access to the ASCII fields of header bytes, with errors that name the field.
struct HeaderFields {
    let bytes: [UInt8]
    let file: String

    /// Field text (ISO-8859-1, so any byte decodes) without trailing spaces and NULs.
    func text(_ range: Range<Int>) -> String {
        var end = range.upperBound
        while end > range.lowerBound && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0) { end -= 1 }
        var out = String.UnicodeScalarView()
        for b in bytes[range.lowerBound..<end] { out.append(Unicode.Scalar(b)) }
        return String(out)
    }

    /// Field text with leading and trailing spaces removed, for numbers.
    private func trimmed(_ range: Range<Int>) -> String {
        text(range).drop(while: { $0 == " " }).description
    }

    /// An integer field: optional sign, then digits only.
    func integer(_ range: Range<Int>, field: String) throws -> Int {
        let s = trimmed(range)
        let digits = s.first == "+" || s.first == "-" ? s.dropFirst() : Substring(s)
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let value = Int(s.first == "+" ? String(digits) : s) else {
            throw SleepfoldError(.badField, file: file, field: field, found: SleepfoldError.quoted(text(range)),
                                 expected: "an integer")
        }
        return value
    }

    /// A decimal field: optional sign, digits with an optional point, an optional exponent.
    func decimal(_ range: Range<Int>, field: String) throws -> Double {
        let s = trimmed(range)
        guard HeaderFields.isDecimal(s), let value = Double(s), value.isFinite else {
            throw SleepfoldError(.badField, file: file, field: field, found: SleepfoldError.quoted(text(range)),
                                 expected: "a decimal number")
        }
        return value
    }

    /// True for [+-]?(d+(.d*)?|.d+)([eE][+-]?d+)? — what `Double(_:)` accepts minus
    /// "nan", "inf" and hexadecimal forms.
    static func isDecimal(_ s: String) -> Bool {
        var chars = Array(s.utf8)[...]
        if let c = chars.first, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { chars = chars.dropFirst() }
        var mantissaDigits = 0
        while let c = chars.first, isDigit(c) { mantissaDigits += 1; chars = chars.dropFirst() }
        if chars.first == UInt8(ascii: ".") {
            chars = chars.dropFirst()
            while let c = chars.first, isDigit(c) { mantissaDigits += 1; chars = chars.dropFirst() }
        }
        guard mantissaDigits > 0 else { return false }
        if let c = chars.first, c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            chars = chars.dropFirst()
            if let c = chars.first, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { chars = chars.dropFirst() }
            var exponentDigits = 0
            while let c = chars.first, isDigit(c) { exponentDigits += 1; chars = chars.dropFirst() }
            guard exponentDigits > 0 else { return false }
        }
        return chars.isEmpty
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    /// "dd.mm.yy" and "hh.mm.ss"; years 85…99 are 1985…1999, 00…84 are 2000…2084.
    func dateTime(date: Range<Int>, time: Range<Int>) throws -> EDFDateTime {
        let d = try threeNumbers(date, field: "start date", format: "dd.mm.yy")
        let t = try threeNumbers(time, field: "start time", format: "hh.mm.ss")
        guard (1...12).contains(d[1]), (1...31).contains(d[0]) else {
            throw SleepfoldError(.badField, file: file, field: "start date", found: SleepfoldError.quoted(text(date)),
                                 expected: "a date dd.mm.yy with day 01…31 and month 01…12")
        }
        guard t[0] < 24, t[1] < 60, t[2] < 61 else {
            throw SleepfoldError(.badField, file: file, field: "start time", found: SleepfoldError.quoted(text(time)),
                                 expected: "a time hh.mm.ss with hh < 24, mm < 60, ss < 61")
        }
        let year = d[2] >= 85 ? 1900 + d[2] : 2000 + d[2]
        return EDFDateTime(year: year, month: d[1], day: d[0], hour: t[0], minute: t[1], second: t[2])
    }

    /// Three two-digit numbers separated by ".", as "dd.mm.yy".
    private func threeNumbers(_ range: Range<Int>, field: String, format: String) throws -> [Int] {
        let b = Array(bytes[range])
        func digit(_ i: Int) -> Int? {
            (b[i] >= UInt8(ascii: "0") && b[i] <= UInt8(ascii: "9")) ? Int(b[i] - UInt8(ascii: "0")) : nil
        }
        var values: [Int] = []
        for start in [0, 3, 6] {
            guard let hi = digit(start), let lo = digit(start + 1) else {
                throw SleepfoldError(.badField, file: file, field: field, found: SleepfoldError.quoted(text(range)),
                                     expected: format)
            }
            values.append(hi * 10 + lo)
        }
        guard b[2] == UInt8(ascii: "."), b[5] == UInt8(ascii: ".") else {
            throw SleepfoldError(.badField, file: file, field: field, found: SleepfoldError.quoted(text(range)),
                                 expected: format)
        }
        return values
    }
}

/// Bounds on header values that are decimal numbers, beyond being finite.
public enum EDFLimits {
    /// Longest data record (s): the EDF spec suggests records of at most 61440 bytes,
    /// in practice 1–60 s; 10^6 s (11.6 days) is far beyond, and keeps record counts
    /// times durations, and rates (samples / duration), ordinary numbers.
    public static let maxRecordDuration = 1_000_000.0
    /// Largest magnitude of a physical minimum or maximum: samples become float32
    /// (max ≈ 3.4·10^38) and a digital value may lie outside the digital range, so
    /// 10^20 keeps every scaled sample finite; real units (µV, mV, °C) stay below 10^7.
    public static let maxPhysicalMagnitude = 1e20
}
