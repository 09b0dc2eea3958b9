import Foundation
import Basics

/// Reader of EDF, EDF+ (C and D), BDF and BDF+ files.
///
/// Opening reads and checks the header only; samples and annotations are read on
/// demand. Reading one signal reads, for each data record, only that signal's bytes
/// (one `pread` per record), so a single channel of a large polysomnogram is read
/// without loading the others.
///
/// ```swift
/// let edf = try EDFReader(url: psgURL)
/// guard let eeg = edf.header.signalIndices(label: "EEG Fpz-Cz").first else { … }
/// let microvolts: [Float] = try edf.physicalSamples(signal: eeg, as: Float.self)
/// let hypnogram = try EDFReader(url: hypnogramURL).annotations().annotations
/// ```
///
/// Every inconsistency in the file is thrown as a `SleepfoldError` naming the file and field.
public final class EDFReader {
    /// The file name (or the name given to an in-memory reader), used in errors.
    public let name: String
    /// The parsed and checked header.
    public let header: EDFHeader
    private let source: any EDFByteSource

    /// Opens the file at `url` and reads its header.
    public convenience init(url: URL) throws {
        try self.init(path: url.path)
    }

    /// Opens the file at `path` and reads its header.
    public convenience init(path: String) throws {
        let name = (path as NSString).lastPathComponent
        try self.init(source: FileByteSource(path: path, name: name), name: name)
    }

    /// Reads EDF bytes held in memory; `name` stands for the file in errors.
    public convenience init(bytes: [UInt8], name: String) throws {
        try self.init(source: MemoryByteSource(bytes: bytes, name: name), name: name)
    }

    private init(source: any EDFByteSource, name: String) throws {
        self.source = source
        self.name = name
        var fixed: [UInt8] = []
        guard source.size >= EDFHeader.fixedByteCount else {
            throw SleepfoldError(.truncated, file: name, field: "header", found: "\(source.size) bytes in the file",
                                 expected: "at least \(EDFHeader.fixedByteCount) bytes")
        }
        try source.read(at: 0, count: EDFHeader.fixedByteCount, into: &fixed)
        let ns = try EDFHeader.signalCount(fixedPart: fixed, file: name)
        let headerBytes = EDFHeader.fixedByteCount * (ns + 1)
        guard source.size >= headerBytes else {
            throw SleepfoldError(.truncated, file: name, field: "signal headers",
                                 found: "\(source.size) bytes in the file",
                                 expected: "at least \(headerBytes) header bytes for \(ns) signals")
        }
        var bytes: [UInt8] = []
        try source.read(at: 0, count: headerBytes, into: &bytes)
        header = try EDFHeader.parse(bytes, fileSize: source.size, file: name)
    }

    /// Digital samples of one signal, over all records or the records in `records`.
    public func digitalSamples(signal: Int, records: Range<Int>? = nil) throws -> [Int32] {
        var out: [Int32] = []
        try forEachRecordChunk(signal: signal, records: records, reserve: { out.reserveCapacity($0) }) { chunk in
            decode(chunk) { out.append($0) }
        }
        return out
    }

    /// Physical samples of one signal, scaled as `EDFSignalHeader.physical(fromDigital:)`
    /// (computed in Double), over all records or the records in `records`.
    public func physicalSamples(signal: Int, records: Range<Int>? = nil) throws -> [Double] {
        try physical(signal: signal, records: records, as: Double.self)
    }

    /// Physical samples as `physicalSamples(signal:records:)` computes them, rounded to Float.
    public func physicalSamples(signal: Int, records: Range<Int>? = nil, as type: Float.Type) throws -> [Float] {
        try physical(signal: signal, records: records, as: Float.self)
    }

    // Generic inside the module only, so that each public entry point gets a specialised loop.
    private func physical<T: BinaryFloatingPoint>(signal: Int, records: Range<Int>?, as type: T.Type) throws -> [T] {
        var out: [T] = []
        try checkSignal(signal)
        let s = header.signals[signal]
        // Same expression as physical(fromDigital:), with the constant parts hoisted.
        let dmin = s.digitalMinimum, pmin = s.physicalMinimum
        let range = s.physicalMaximum - s.physicalMinimum, span = Double(s.digitalMaximum - s.digitalMinimum)
        try forEachRecordChunk(signal: signal, records: records, reserve: { out.reserveCapacity($0) }) { chunk in
            decode(chunk) { d in out.append(T(Double(Int(d) - dmin) * range / span + pmin)) }
        }
        return out
    }

    /// The raw bytes of signal `signal` in record `record` (for annotation signals: TALs).
    public func recordBytes(signal: Int, record: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        try forEachRecordChunk(signal: signal, records: record..<(record + 1), reserve: { _ in }) { chunk in
            out.append(contentsOf: chunk)
        }
        return out
    }

    /// The annotations and record onsets of the file. For EDF+/BDF+ it parses the TALs
    /// of every annotation signal in every record; the first TAL of the first annotation
    /// signal of each record is the time-keeping TAL. Plain files give no annotations and
    /// onsets `r · recordDuration`.
    public func annotations() throws -> EDFAnnotations {
        let count = header.recordCount
        guard header.isPlus else {
            return EDFAnnotations(recordOnsets: (0..<count).map { Double($0) * header.recordDuration },
                                  annotations: [])
        }
        let signals = header.annotationSignalIndices
        var onsets: [Double] = []
        onsets.reserveCapacity(count)
        var annotations: [EDFAnnotation] = []
        var bytes: [UInt8] = []
        for record in 0..<count {
            for (k, signal) in signals.enumerated() {
                try readChunk(signal: signal, record: record, into: &bytes)
                let location = "record \(record), "
                    + SleepfoldError.signalName(signal, of: header.signals.count, label: header.signals[signal].label)
                let parsed = try TALParser(file: name, location: location).parse(bytes, timeKeeping: k == 0)
                if let onset = parsed.recordOnset {
                    try checkRecordOnset(onset, record: record, previous: onsets.last, first: onsets.first)
                    onsets.append(onset)
                }
                annotations.append(contentsOf: parsed.annotations)
            }
        }
        return EDFAnnotations(recordOnsets: onsets, annotations: annotations)
    }

    /// EDF+C records follow each other exactly; EDF+D records may leave gaps but never overlap.
    private func checkRecordOnset(_ onset: Double, record: Int, previous: Double?, first: Double?) throws {
        guard let previous, let first else { return }
        let tolerance = 1e-6
        let field = "record \(record): time-keeping onset"
        if header.variant == .continuous {
            let expected = first + Double(record) * header.recordDuration
            if abs(onset - expected) > tolerance {
                throw SleepfoldError(.badAnnotation, file: name, field: field, found: "\(onset) s",
                                     expected: "\(expected) s in a contiguous (+C) file")
            }
        } else if onset < previous + header.recordDuration - tolerance {
            throw SleepfoldError(.badAnnotation, file: name, field: field, found: "\(onset) s",
                                 expected: "≥ \(previous + header.recordDuration) s (the previous record's end)")
        }
    }

    private func checkSignal(_ signal: Int) throws {
        guard header.signals.indices.contains(signal) else {
            throw SleepfoldError(.badRequest, file: name, field: "signal index", found: "\(signal)",
                                 expected: "0…\(header.signals.count - 1)")
        }
    }

    private func readChunk(signal: Int, record: Int, into buffer: inout [UInt8]) throws {
        let offset = header.headerByteCount + record * header.recordByteCount
            + header.byteOffsetInRecord(ofSignal: signal)
        let count = header.signals[signal].samplesPerRecord * header.sampleFormat.bytesPerSample
        try source.read(at: offset, count: count, into: &buffer)
    }

    /// Calls `body` with the bytes of `signal` in each record of `records`, in order.
    private func forEachRecordChunk(signal: Int, records: Range<Int>?, reserve: (Int) -> Void,
                                    _ body: ([UInt8]) -> Void) throws {
        try checkSignal(signal)
        let all = 0..<header.recordCount
        let range = records ?? all
        guard range.lowerBound >= 0, range.upperBound <= header.recordCount else {
            throw SleepfoldError(.badRequest, file: name, field: "record range", found: "\(range)",
                                 expected: "a range within \(all)")
        }
        reserve(range.count * header.signals[signal].samplesPerRecord)
        var buffer: [UInt8] = []
        for record in range {
            try readChunk(signal: signal, record: record, into: &buffer)
            body(buffer)
        }
    }

    /// Little-endian two's-complement samples of the file's width.
    @inline(__always)
    private func decode(_ bytes: [UInt8], _ emit: (Int32) -> Void) {
        bytes.withUnsafeBufferPointer { b in
            switch header.sampleFormat {
            case .edf:
                var i = 0
                while i + 1 < b.count {
                    emit(Int32(Int16(bitPattern: UInt16(b[i]) | UInt16(b[i + 1]) << 8)))
                    i += 2
                }
            case .bdf:
                var i = 0
                while i + 2 < b.count {
                    let u = UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16
                    emit(Int32(bitPattern: u << 8) >> 8)   // sign-extend 24 → 32 bits
                    i += 3
                }
            }
        }
    }
}
