import Foundation
import Basics

/// Writer of EDF, EDF+C, BDF and BDF+C files.
///
/// Give it the start time, the record duration, the signals (header + samples, a whole
/// number of records each) and, for the "+" variants, annotations; `encode()` returns
/// the file's bytes and `write(to:)` writes them. `EDFReader` reads the result back
/// exactly: digital samples bit for bit, annotations with the same onset, duration, text.
///
/// ```swift
/// let eeg = try EDFWriter.Signal(
///     header: EDFSignalHeader(label: "EEG Fpz-Cz", physicalDimension: "uV",
///                             physicalMinimum: -192, physicalMaximum: 192,
///                             digitalMinimum: -2048, digitalMaximum: 2047, samplesPerRecord: 3000),
///     physicalSamples: microvolts)                       // quantized to the digital range
/// let psg = EDFWriter(startTime: start, recordDuration: 30, signals: [eeg], plus: false)
/// try psg.write(to: psgURL)
/// let hypnogram = EDFWriter(startTime: start, recordDuration: 0, signals: [],
///                           annotations: [EDFAnnotation(onset: 0, duration: 60, text: "Sleep stage W")])
/// try hypnogram.write(to: hypnogramURL)                  // annotation-only EDF+C, one record
/// ```
///
/// Layout choices: in "+" files the annotation signal ("EDF Annotations" / "BDF
/// Annotations") comes last; each record starts with its time-keeping TAL
/// (`+r·duration`), and each annotation goes into the record whose time span holds its
/// onset (the first or last record for onsets outside the recording); the annotation
/// signal is as long as the fullest record needs. An annotation-only file (no data
/// signals) has one record. Numbers are written in the shortest decimal form; a value
/// that does not fit its 8-character field, text that is not printable ASCII or too
/// long, and samples outside the sample width are errors (`SleepfoldError.Code.unwritable`),
/// never silently changed.
public struct EDFWriter: Sendable {
    /// One data signal to write: its header and its digital samples.
    public struct Signal: Sendable {
        /// `isAnnotation` is ignored; `samplesPerRecord` sets the record layout.
        public var header: EDFSignalHeader
        /// Digital samples, `recordCount · header.samplesPerRecord` of them.
        public var digitalSamples: [Int32]

        public init(header: EDFSignalHeader, digitalSamples: [Int32]) {
            self.header = header
            self.digitalSamples = digitalSamples
        }

        /// Quantizes physical values to the header's digital range: the inverse of
        /// `EDFSignalHeader.physical(fromDigital:)`, rounded to the nearest integer and
        /// clamped to digitalMinimum…digitalMaximum. Throws for NaN or infinite values.
        public init(header: EDFSignalHeader, physicalSamples: [Double]) throws {
            let dmin = Double(header.digitalMinimum), dmax = Double(header.digitalMaximum)
            let scale = (dmax - dmin) / (header.physicalMaximum - header.physicalMinimum)
            guard scale.isFinite, scale != 0 else {
                throw SleepfoldError(.unwritable, file: "EDFWriter", field: "signal '\(header.label)': scale",
                                     found: "physical \(header.physicalMinimum)…\(header.physicalMaximum), digital \(header.digitalMinimum)…\(header.digitalMaximum)",
                                     expected: "distinct physical bounds and digital bounds")
            }
            var digital: [Int32] = []
            digital.reserveCapacity(physicalSamples.count)
            for (i, p) in physicalSamples.enumerated() {
                guard p.isFinite else {
                    throw SleepfoldError(.unwritable, file: "EDFWriter", field: "signal '\(header.label)': sample \(i)",
                                         found: "\(p)", expected: "a finite physical value")
                }
                let d = ((p - header.physicalMinimum) * scale + dmin).rounded()
                digital.append(Int32(min(max(d, dmin), dmax)))
            }
            self.init(header: header, digitalSamples: digital)
        }
    }

    public var sampleFormat: EDFSampleFormat
    /// Write EDF+C / BDF+C (with an annotation signal) instead of plain EDF / BDF.
    public var plus: Bool
    /// Patient field; EDF+ asks for "code sex birthdate name" with X for unknown parts.
    public var patient: String
    /// Recording field; nil writes "Startdate dd-MMM-yyyy X X X" for "+" files, "" otherwise.
    public var recording: String?
    public var startTime: EDFDateTime
    /// Seconds per data record (0 only for annotation-only files).
    public var recordDuration: Double
    public var signals: [Signal]
    /// Annotations (written only when `plus`); empty texts are not allowed.
    public var annotations: [EDFAnnotation]

    public init(startTime: EDFDateTime, recordDuration: Double, signals: [Signal],
                annotations: [EDFAnnotation] = [], sampleFormat: EDFSampleFormat = .edf,
                plus: Bool = true, patient: String = "X X X X", recording: String? = nil) {
        self.startTime = startTime
        self.recordDuration = recordDuration
        self.signals = signals
        self.annotations = annotations
        self.sampleFormat = sampleFormat
        self.plus = plus
        self.patient = patient
        self.recording = recording
    }

    /// Writes `encode()` to `url`, replacing any file there.
    public func write(to url: URL) throws {
        let bytes = try encode(name: url.lastPathComponent)
        try fileAccess(url.lastPathComponent, cannot: "write \(url.path)") { try Data(bytes).write(to: url) }
    }

    /// The bytes of the file; `name` stands for it in errors.
    public func encode(name: String = "EDFWriter") throws -> [UInt8] {
        let recordCount = try self.recordCount(name: name)
        let talRecords = plus ? try annotationRecords(count: recordCount, name: name) : []
        let bytesPerSample = sampleFormat.bytesPerSample
        let talSamples = talRecords.map { ($0.count + bytesPerSample - 1) / bytesPerSample }.max() ?? 0

        // The data signals' headers as given (never annotation signals), then the writer's own.
        var headers = signals.map { signal -> EDFSignalHeader in
            var h = signal.header
            h.isAnnotation = false
            return h
        }
        if plus {
            headers.append(EDFSignalHeader(label: sampleFormat.annotationLabel, physicalMinimum: -1,
                                           physicalMaximum: 1, digitalMinimum: sampleFormat.digitalLowerBound,
                                           digitalMaximum: sampleFormat.digitalUpperBound,
                                           samplesPerRecord: max(talSamples, 1), isAnnotation: true))
        }
        var out = try headerBytes(headers, recordCount: recordCount, name: name)
        let recordBytes = headers.reduce(0) { $0 + $1.samplesPerRecord } * bytesPerSample
        out.reserveCapacity(out.count + recordCount * recordBytes)
        for record in 0..<recordCount {
            for (i, signal) in signals.enumerated() {
                let n = signal.header.samplesPerRecord
                for d in signal.digitalSamples[(record * n)..<((record + 1) * n)] {
                    try append(d, to: &out, signal: i, name: name)
                }
            }
            if plus {
                let tal = talRecords[record]
                out.append(contentsOf: tal)
                out.append(contentsOf: repeatElement(0, count: max(talSamples, 1) * bytesPerSample - tal.count))
            }
        }
        return out
    }

    /// Records the signals fill; every signal must fill the same whole number.
    private func recordCount(name: String) throws -> Int {
        guard recordDuration.isFinite, recordDuration >= 0 else {
            throw SleepfoldError(.unwritable, file: name, field: "duration of a data record",
                                 found: "\(recordDuration)", expected: "seconds ≥ 0")
        }
        guard let first = signals.first else {
            guard plus else {
                throw SleepfoldError(.unwritable, file: name, field: "signals", found: "none in a plain EDF file",
                                     expected: "at least one signal, or plus: true for an annotation-only file")
            }
            return 1
        }
        guard recordDuration > 0 else {
            throw SleepfoldError(.unwritable, file: name, field: "duration of a data record", found: "0 with data signals",
                                 expected: "a positive duration")
        }
        let count = first.digitalSamples.count / max(first.header.samplesPerRecord, 1)
        for (i, s) in signals.enumerated() {
            guard s.header.samplesPerRecord >= 1, s.digitalSamples.count == count * s.header.samplesPerRecord else {
                throw SleepfoldError(.unwritable, file: name, field: "signal \(i + 1) '\(s.header.label)': samples",
                                     found: "\(s.digitalSamples.count) samples, \(s.header.samplesPerRecord) per record",
                                     expected: "\(count) whole records (as signal 1)")
            }
        }
        return count
    }

    /// The TAL bytes of each record: time-keeping TAL, then the annotations whose onset
    /// falls in the record.
    private func annotationRecords(count: Int, name: String) throws -> [[UInt8]] {
        var records = (0..<count).map { r -> [UInt8] in
            Array(("+" + Self.number(Double(r) * recordDuration)).utf8) + [0x14, 0x14, 0]
        }
        for (i, a) in annotations.enumerated() {
            let textBytes = Array(a.text.utf8)
            guard !textBytes.isEmpty, !textBytes.contains(where: { $0 == 0 || $0 == 0x14 || $0 == 0x15 }),
                  a.onset.isFinite, a.duration.map({ $0.isFinite && $0 >= 0 }) ?? true else {
                throw SleepfoldError(.unwritable, file: name, field: "annotation \(i)",
                                     found: "onset \(a.onset), duration \(a.duration.map { "\($0)" } ?? "none"), text \(SleepfoldError.quoted(a.text))",
                                     expected: "a finite onset, a duration ≥ 0 and a non-empty text without 0x00, 0x14, 0x15")
            }
            var tal = Array(((a.onset < 0 ? "-" : "+") + Self.number(abs(a.onset))).utf8)
            if let duration = a.duration { tal += [0x15] + Array(Self.number(duration).utf8) }
            tal += [0x14] + textBytes + [0x14, 0]
            let record = recordDuration > 0 ? Int(max(0, min(Double(count - 1), (a.onset / recordDuration).rounded(.down)))) : 0
            records[record] += tal
        }
        return records
    }

    private func headerBytes(_ headers: [EDFSignalHeader], recordCount: Int, name: String) throws -> [UInt8] {
        var out: [UInt8] = sampleFormat == .bdf ? [0xFF] + Array("BIOSEMI".utf8) : Array("0       ".utf8)
        func field(_ text: String, _ width: Int, _ what: String) throws {
            let bytes = Array(text.utf8)
            guard bytes.count <= width, bytes.allSatisfy({ (0x20..<0x7F).contains($0) }) else {
                throw SleepfoldError(.unwritable, file: name, field: what, found: SleepfoldError.quoted(text),
                                     expected: "at most \(width) printable ASCII characters")
            }
            out += bytes + Array(repeating: 0x20, count: width - bytes.count)
        }
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let t = startTime
        guard (1985...2084).contains(t.year) else {
            throw SleepfoldError(.unwritable, file: name, field: "start date", found: "year \(t.year)",
                                 expected: "a year in 1985…2084 (two digits in the header)")
        }
        let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        guard (1...12).contains(t.month) else {
            throw SleepfoldError(.unwritable, file: name, field: "start date", found: "month \(t.month)", expected: "1…12")
        }
        let defaultRecording = plus ? "Startdate \(two(t.day))-\(months[t.month - 1])-\(t.year) X X X" : ""
        try field(patient, 80, "patient")
        try field(recording ?? defaultRecording, 80, "recording")
        try field("\(two(t.day)).\(two(t.month)).\(two(t.year % 100))", 8, "start date")
        try field("\(two(t.hour)).\(two(t.minute)).\(two(t.second))", 8, "start time")
        try field("\(256 * (headers.count + 1))", 8, "number of bytes in header")
        let reserved = plus ? (sampleFormat == .edf ? "EDF+C" : "BDF+C") : (sampleFormat == .edf ? "" : "24BIT")
        try field(reserved, 44, "reserved")
        try field("\(recordCount)", 8, "number of data records")
        try field(Self.number(recordDuration), 8, "duration of a data record")
        try field("\(headers.count)", 4, "number of signals")
        for (i, h) in headers.enumerated() where !h.isAnnotation {
            let fieldName = "signal \(i + 1) '\(h.label)'"
            guard !(plus && h.label == sampleFormat.annotationLabel) else {
                throw SleepfoldError(.unwritable, file: name, field: "\(fieldName): label", found: SleepfoldError.quoted(h.label),
                                     expected: "a label other than the annotation signal's (the writer adds that one)")
            }
            let width = sampleFormat.digitalLowerBound...sampleFormat.digitalUpperBound
            guard width.contains(h.digitalMinimum), width.contains(h.digitalMaximum),
                  h.digitalMaximum > h.digitalMinimum, h.physicalMaximum != h.physicalMinimum,
                  h.physicalMinimum.isFinite, h.physicalMaximum.isFinite else {
                throw SleepfoldError(.unwritable, file: name, field: "\(fieldName): range",
                                     found: "physical \(h.physicalMinimum)…\(h.physicalMaximum), digital \(h.digitalMinimum)…\(h.digitalMaximum)",
                                     expected: "distinct finite physical bounds, digital bounds ordered within \(width)")
            }
        }
        try headers.enumerated().forEach { try field($1.label, 16, "signal \($0 + 1) label") }
        try headers.enumerated().forEach { try field($1.transducer, 80, "signal \($0 + 1) transducer") }
        try headers.enumerated().forEach { try field($1.physicalDimension, 8, "signal \($0 + 1) physical dimension") }
        try headers.enumerated().forEach { try field(Self.number($1.physicalMinimum), 8, "signal \($0 + 1) physical minimum") }
        try headers.enumerated().forEach { try field(Self.number($1.physicalMaximum), 8, "signal \($0 + 1) physical maximum") }
        try headers.enumerated().forEach { try field("\($1.digitalMinimum)", 8, "signal \($0 + 1) digital minimum") }
        try headers.enumerated().forEach { try field("\($1.digitalMaximum)", 8, "signal \($0 + 1) digital maximum") }
        try headers.enumerated().forEach { try field($1.prefiltering, 80, "signal \($0 + 1) prefiltering") }
        try headers.enumerated().forEach { try field("\($1.samplesPerRecord)", 8, "signal \($0 + 1) samples per record") }
        try headers.enumerated().forEach { try field($1.reserved, 32, "signal \($0 + 1) reserved") }
        return out
    }

    private func append(_ d: Int32, to out: inout [UInt8], signal: Int, name: String) throws {
        guard Int(d) >= sampleFormat.digitalLowerBound, Int(d) <= sampleFormat.digitalUpperBound else {
            throw SleepfoldError(.unwritable, file: name, field: "signal \(signal + 1) '\(signals[signal].header.label)': sample",
                                 found: "\(d)", expected: "a value within the \(sampleFormat.bytesPerSample * 8)-bit sample width")
        }
        let u = UInt32(bitPattern: d)
        out.append(UInt8(truncatingIfNeeded: u))
        out.append(UInt8(truncatingIfNeeded: u >> 8))
        if sampleFormat == .bdf { out.append(UInt8(truncatingIfNeeded: u >> 16)) }
    }

    /// Shortest decimal text of `value` without an exponent ("30", "9.59375", "-6553.4").
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        var text = "\(value)"
        if text.contains("e") {
            text = String(format: "%.15f", value)
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }
}
