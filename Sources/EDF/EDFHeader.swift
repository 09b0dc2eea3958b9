/// Sample width of a file: EDF stores 16-bit, BDF 24-bit little-endian two's-complement samples.
public enum EDFSampleFormat: Sendable, Equatable {
    /// EDF / EDF+: version field "0", 2 bytes per sample.
    case edf
    /// BDF / BDF+ (BioSemi): version field 0xFF "BIOSEMI", 3 bytes per sample.
    case bdf

    /// Bytes one sample takes in a data record.
    public var bytesPerSample: Int { self == .edf ? 2 : 3 }
    /// Smallest digital value the sample width can hold.
    public var digitalLowerBound: Int { self == .edf ? -32_768 : -8_388_608 }
    /// Largest digital value the sample width can hold.
    public var digitalUpperBound: Int { self == .edf ? 32_767 : 8_388_607 }
    /// Label of the annotation signals of the "+" variant: "EDF Annotations" / "BDF Annotations".
    public var annotationLabel: String { self == .edf ? "EDF Annotations" : "BDF Annotations" }
}

/// Whether a file is plain EDF/BDF or the "+" variant with annotations and time-keeping.
public enum EDFVariant: Sendable, Equatable {
    /// Plain EDF or BDF: data records follow each other without gaps, no annotations.
    case plain
    /// EDF+C / BDF+C: contiguous records, annotation signal(s) with time-keeping TALs.
    case continuous
    /// EDF+D / BDF+D: records may have gaps; their onsets are in the time-keeping TALs.
    case discontinuous
}

/// Start date and time as the header's "dd.mm.yy" and "hh.mm.ss" fields give them (local
/// time of the recording, whole seconds; EDF+ files may put a sub-second offset in the
/// first time-keeping TAL, see `EDFAnnotations.startOffset`).
public struct EDFDateTime: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Four-digit year; the header's two digits map 85…99 to 1985…1999 and 00…84 to 2000…2084.
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int

    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    /// Seconds since 1970-01-01 00:00:00 when this local time is read as UTC: only
    /// differences between two such values are meaningful (e.g. PSG vs hypnogram start).
    public var secondsSinceEpoch: Int {
        // Days from civil (Howard Hinnant's algorithm), valid for the proleptic Gregorian calendar.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthIndex = (month + 9) % 12
        let dayOfYear = (153 * monthIndex + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return days * 86_400 + hour * 3_600 + minute * 60 + second
    }

    /// ISO-8601-like "yyyy-mm-dd hh:mm:ss".
    public var description: String {
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(hour)):\(two(minute)):\(two(second))"
    }
}

/// The per-signal part of an EDF header (256 bytes per signal, spread over ten fields).
public struct EDFSignalHeader: Sendable, Equatable {
    /// Label, e.g. "EEG Fpz-Cz" (16 characters, trailing spaces removed).
    public var label: String
    /// Transducer type, e.g. "Ag-AgCl electrodes" (80 characters).
    public var transducer: String
    /// Physical dimension (unit), e.g. "uV" (8 characters).
    public var physicalDimension: String
    /// Physical value of `digitalMinimum`. May exceed `physicalMaximum` (inverted scale).
    public var physicalMinimum: Double
    /// Physical value of `digitalMaximum`.
    public var physicalMaximum: Double
    /// Smallest digital value, within the sample width.
    public var digitalMinimum: Int
    /// Largest digital value, greater than `digitalMinimum`.
    public var digitalMaximum: Int
    /// Prefiltering, e.g. "HP:0.5Hz LP:100Hz" (80 characters).
    public var prefiltering: String
    /// Samples of this signal in each data record (≥ 1).
    public var samplesPerRecord: Int
    /// The signal's reserved field (32 characters).
    public var reserved: String
    /// True for an EDF+/BDF+ annotation signal ("EDF Annotations" / "BDF Annotations" in a "+"
    /// file): its bytes are TALs, not samples.
    public var isAnnotation: Bool

    public init(label: String, transducer: String = "", physicalDimension: String = "",
                physicalMinimum: Double, physicalMaximum: Double,
                digitalMinimum: Int, digitalMaximum: Int,
                prefiltering: String = "", samplesPerRecord: Int, reserved: String = "",
                isAnnotation: Bool = false) {
        self.label = label
        self.transducer = transducer
        self.physicalDimension = physicalDimension
        self.physicalMinimum = physicalMinimum
        self.physicalMaximum = physicalMaximum
        self.digitalMinimum = digitalMinimum
        self.digitalMaximum = digitalMaximum
        self.prefiltering = prefiltering
        self.samplesPerRecord = samplesPerRecord
        self.reserved = reserved
        self.isAnnotation = isAnnotation
    }

    /// Physical value of a digital sample, as the EDF specification and pyedflib define it:
    /// (d − dmin)·(pmax − pmin)/(dmax − dmin) + pmin, computed in Double.
    @inline(__always)
    public func physical(fromDigital digital: Int32) -> Double {
        Double(Int(digital) - digitalMinimum) * (physicalMaximum - physicalMinimum)
            / Double(digitalMaximum - digitalMinimum) + physicalMinimum
    }
}

/// The header of an EDF / EDF+ / BDF / BDF+ file: the fixed 256 bytes plus one
/// `EDFSignalHeader` per signal, checked for consistency with the file size.
public struct EDFHeader: Sendable, Equatable {
    public var sampleFormat: EDFSampleFormat
    public var variant: EDFVariant
    /// Local patient identification (80 characters; EDF+ structures it as subfields).
    public var patient: String
    /// Local recording identification (80 characters; EDF+: "Startdate dd-MMM-yyyy …").
    public var recording: String
    public var startTime: EDFDateTime
    /// Bytes of the header: 256 · (number of signals + 1).
    public var headerByteCount: Int
    /// The 44-character reserved field ("EDF+C", "EDF+D", "BDF+C", "24BIT", blank…).
    public var reserved: String
    /// Number of data records as written in the header; −1 means "unknown".
    public var recordCountField: Int
    /// Number of data records: `recordCountField`, or for −1 the count the file size gives.
    public var recordCount: Int
    /// Duration of a data record in seconds (may be fractional; 0 for annotation-only files).
    public var recordDuration: Double
    public var signals: [EDFSignalHeader]

    public init(sampleFormat: EDFSampleFormat, variant: EDFVariant, patient: String, recording: String,
                startTime: EDFDateTime, headerByteCount: Int, reserved: String,
                recordCountField: Int, recordCount: Int, recordDuration: Double,
                signals: [EDFSignalHeader]) {
        self.sampleFormat = sampleFormat
        self.variant = variant
        self.patient = patient
        self.recording = recording
        self.startTime = startTime
        self.headerByteCount = headerByteCount
        self.reserved = reserved
        self.recordCountField = recordCountField
        self.recordCount = recordCount
        self.recordDuration = recordDuration
        self.signals = signals
    }

    /// True for EDF+ and BDF+ files.
    public var isPlus: Bool { variant != .plain }

    /// Bytes of one data record: the samples of all signals.
    public var recordByteCount: Int {
        signals.reduce(0) { $0 + $1.samplesPerRecord } * sampleFormat.bytesPerSample
    }

    /// Offset of signal `index`'s bytes within a data record.
    public func byteOffsetInRecord(ofSignal index: Int) -> Int {
        signals[..<index].reduce(0) { $0 + $1.samplesPerRecord } * sampleFormat.bytesPerSample
    }

    /// Samples per second of signal `index`, or nil when the record duration is 0.
    public func sampleRate(ofSignal index: Int) -> Double? {
        recordDuration > 0 ? Double(signals[index].samplesPerRecord) / recordDuration : nil
    }

    /// Indices of the signals that hold samples (not annotations).
    public var dataSignalIndices: [Int] { signals.indices.filter { !signals[$0].isAnnotation } }

    /// Indices of the EDF+/BDF+ annotation signals.
    public var annotationSignalIndices: [Int] { signals.indices.filter { signals[$0].isAnnotation } }

    /// Indices of the signals whose label is `label` (labels can repeat).
    public func signalIndices(label: String) -> [Int] {
        signals.indices.filter { signals[$0].label == label }
    }

    /// Total duration of the data records in seconds.
    public var duration: Double { Double(recordCount) * recordDuration }
}
