import Foundation
import Testing
import TestSupport
import Basics
import EDF

/// Bad files give a `SleepfoldError` naming the file, the field and the problem — never a trap.

private let psgName = "sleep-edf/SC4001E0-PSG-first300s.edf"
private let hypnogramName = "sleep-edf/SC4001EC-Hypnogram.edf"

/// `bytes` with `text` written at `offset`, space-padded to `width`.
private func patched(_ bytes: [UInt8], at offset: Int, width: Int, _ text: String) -> [UInt8] {
    var out = bytes
    let t = Array(text.utf8)
    for i in 0..<width { out[offset + i] = i < t.count ? t[i] : 0x20 }
    return out
}

/// Offset of per-signal field `field` (0 = label … 9 = reserved) of signal `signal`.
private func signalFieldOffset(ns: Int, field: Int, signal: Int) -> Int {
    let widths = [16, 80, 8, 8, 8, 8, 8, 80, 8, 32]
    return 256 + widths[..<field].reduce(0, +) * ns + widths[field] * signal
}

/// Opens `bytes` and reads everything in them; returns the error, nil if all was read.
private func readAll(_ bytes: [UInt8], name: String) throws -> SleepfoldError? {
    do {
        let edf = try EDFReader(bytes: bytes, name: name)
        for i in edf.header.dataSignalIndices {
            _ = try edf.digitalSamples(signal: i)
            let _: [Double] = try edf.physicalSamples(signal: i)
        }
        _ = try edf.annotations()
        return nil
    } catch let error as SleepfoldError {
        return error
    }
}

/// The "found …" part of a "found X, expected Y" message (nil for another form).
private func found(in message: String) -> String? {
    guard message.hasPrefix("found "), let comma = message.range(of: ", expected ") else { return nil }
    return String(message[message.index(message.startIndex, offsetBy: 6)..<comma.lowerBound])
}

private func expectError(_ bytes: [UInt8], code: SleepfoldError.Code, field: String, foundContains: String? = nil,
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
    let error = try #require(try readAll(bytes, name: "bad.edf"), sourceLocation: sourceLocation)
    #expect(error.code == code, sourceLocation: sourceLocation)
    #expect(error.field == field, sourceLocation: sourceLocation)
    #expect(error.description.hasPrefix("bad.edf: \(field): found "), sourceLocation: sourceLocation)
    if let foundContains {
        #expect(found(in: error.message)?.contains(foundContains) == true, "\(error)", sourceLocation: sourceLocation)
    }
}

@Test func truncatedFilesAreReportedWithTheFieldTheyEndIn() throws {
    let psg = try EDFFixtures.bytes(psgName)
    try expectError(Array(psg.prefix(100)), code: .truncated, field: "header")
    try expectError(Array(psg.prefix(1000)), code: .truncated, field: "signal headers")
    try expectError(Array(psg.prefix(psg.count - 1)), code: .truncated, field: "number of data records",
                    foundContains: "ends after 9 whole records")
    try expectError(Array(psg.prefix(2048)), code: .truncated, field: "number of data records")
}

@Test func headerSizeMustMatchTheSignalCount() throws {
    let psg = try EDFFixtures.bytes(psgName)
    try expectError(patched(psg, at: 184, width: 8, "1024"), code: .badField, field: "number of bytes in header",
                    foundContains: "1024")
    try expectError(patched(psg, at: 252, width: 4, "6"), code: .badField, field: "number of bytes in header")
    try expectError(patched(psg, at: 252, width: 4, "0"), code: .badField, field: "number of signals")
    try expectError(patched(psg, at: 252, width: 4, "x7"), code: .badField, field: "number of signals")
}

@Test func nonNumericAndOutOfRangeSignalFieldsNameTheSignal() throws {
    let psg = try EDFFixtures.bytes(psgName)
    let ns = 7
    try expectError(patched(psg, at: signalFieldOffset(ns: ns, field: 3, signal: 0), width: 8, "-19x"),
                    code: .badField, field: "signal 1/7 'EEG Fpz-Cz': physical minimum", foundContains: "-19x")
    try expectError(patched(psg, at: signalFieldOffset(ns: ns, field: 4, signal: 2), width: 8, "nan"),
                    code: .badField, field: "signal 3/7 'EOG horizontal': physical maximum")
    try expectError(patched(psg, at: signalFieldOffset(ns: ns, field: 4, signal: 2), width: 8, "1e999"),
                    code: .badField, field: "signal 3/7 'EOG horizontal': physical maximum")
    try expectError(patched(psg, at: signalFieldOffset(ns: ns, field: 4, signal: 0), width: 8, "1e308"),
                    code: .badField, field: "signal 1/7 'EEG Fpz-Cz': physical maximum", foundContains: "1e+308")
    try expectError(patched(psg, at: signalFieldOffset(ns: ns, field: 3, signal: 0), width: 8, "-1e21"),
                    code: .badField, field: "signal 1/7 'EEG Fpz-Cz': physical minimum")
    try expectError(patched(psg, at: signalFieldOffset(ns: ns, field: 5, signal: 1), width: 8, "-2048.5"),
                    code: .badField, field: "signal 2/7 'EEG Pz-Oz': digital minimum")
    try expectError(patched(psg, at: signalFieldOffset(ns: ns, field: 8, signal: 3), width: 8, "-30"),
                    code: .badField, field: "signal 4/7 'Resp oro-nasal': number of samples in each data record")
    try expectError(patched(psg, at: signalFieldOffset(ns: ns, field: 8, signal: 3), width: 8, "0"),
                    code: .badField, field: "signal 4/7 'Resp oro-nasal': number of samples in each data record")
    // An absurd count passes the field check but not the file size.
    try expectError(patched(psg, at: signalFieldOffset(ns: ns, field: 8, signal: 3), width: 8, "99999999"),
                    code: .truncated, field: "number of data records")
    // Digital range: empty, or beyond 16 bits.
    try expectError(patched(psg, at: signalFieldOffset(ns: ns, field: 6, signal: 0), width: 8, "-2048"),
                    code: .badField, field: "signal 1/7 'EEG Fpz-Cz': digital maximum")
    try expectError(patched(psg, at: signalFieldOffset(ns: ns, field: 6, signal: 0), width: 8, "40000"),
                    code: .badField, field: "signal 1/7 'EEG Fpz-Cz': digital maximum")
    try expectError(patched(psg, at: signalFieldOffset(ns: ns, field: 3, signal: 0), width: 8, "192"),
                    code: .badField, field: "signal 1/7 'EEG Fpz-Cz': physical maximum")
}

@Test func fixedFieldsAreChecked() throws {
    let psg = try EDFFixtures.bytes(psgName)
    try expectError(patched(psg, at: 0, width: 8, "1"), code: .badVersion, field: "version (bytes 0–7)")
    try expectError(patched(psg, at: 168, width: 8, "32.04.89"), code: .badField, field: "start date")
    try expectError(patched(psg, at: 176, width: 8, "16:13:00"), code: .badField, field: "start time")
    try expectError(patched(psg, at: 236, width: 8, "-2"), code: .badField, field: "number of data records")
    try expectError(patched(psg, at: 236, width: 8, "ten"), code: .badField, field: "number of data records")
    try expectError(patched(psg, at: 244, width: 8, "-30"), code: .badField, field: "duration of a data record")
    try expectError(patched(psg, at: 244, width: 8, "0"), code: .badField, field: "duration of a data record")
    try expectError(patched(psg, at: 244, width: 8, "0x1E"), code: .badField, field: "duration of a data record")
    // Finite but absurd: named against the file and the field, not failing later without either.
    try expectError(patched(psg, at: 244, width: 8, "1e308"), code: .badField, field: "duration of a data record",
                    foundContains: "1e+308")
    try expectError(patched(psg, at: 244, width: 8, "1e7"), code: .badField, field: "duration of a data record")
    // "EDF+C" promises an annotation signal this file does not have.
    try expectError(patched(psg, at: 192, width: 44, "EDF+C"), code: .badField, field: "signal labels")
}

@Test func recordCountMustMatchTheFileSize() throws {
    let psg = try EDFFixtures.bytes(psgName)
    let recordBytes = (3 * 3000 + 4 * 30) * 2
    // −1 (unknown): the count comes from the size when it is a whole number of records…
    let unknown = try EDFReader(bytes: patched(psg, at: 236, width: 8, "-1"), name: "unknown.edf")
    #expect(unknown.header.recordCountField == -1)
    #expect(unknown.header.recordCount == 10)
    #expect(try unknown.digitalSamples(signal: 0) == EDFReader(bytes: psg, name: "psg.edf").digitalSamples(signal: 0))
    // …and an error when a partial record trails.
    try expectError(patched(psg, at: 236, width: 8, "-1") + [1, 2, 3], code: .badFileSize,
                    field: "number of data records (−1, unknown)", foundContains: "+ 3 bytes")
    try expectError(Array(patched(psg, at: 236, width: 8, "-1").dropLast(recordBytes / 2)), code: .badFileSize,
                    field: "number of data records (−1, unknown)")
    // A stated count with bytes left over, or fewer records than stated.
    try expectError(psg + [0, 0], code: .badFileSize, field: "number of data records")
    try expectError(psg + Array(repeating: 0, count: recordBytes), code: .badFileSize, field: "number of data records")
    try expectError(patched(psg, at: 236, width: 8, "11"), code: .truncated, field: "number of data records")
    try expectError(patched(psg, at: 236, width: 8, "1.5"), code: .badField, field: "number of data records")
    try expectError(patched(psg, at: 236, width: 8, "9999999"), code: .truncated, field: "number of data records")
}

@Test func malformedTALsNameTheRecordAndByte() throws {
    let hypnogram = try EDFFixtures.bytes(hypnogramName)
    let data = 512   // one signal: the TALs start after 2 · 256 header bytes
    #expect(Array(hypnogram[data..<(data + 5)]) == Array("+0\u{14}\u{14}\u{0}".utf8))
    var noSign = hypnogram
    noSign[data + 5] = UInt8(ascii: "x")   // "+0\x15…" of the first annotation becomes "x0…"
    try expectError(noSign, code: .badAnnotation, field: "record 0, signal 1/1 'EDF Annotations', TAL at byte 5",
                    foundContains: "'x'")
    func tals(_ text: String) -> [UInt8] {
        Array(hypnogram[..<data]) + Array(text.utf8) + Array(repeating: 0x20, count: hypnogram.count - data - text.utf8.count)
    }
    // The first TAL of a record must be the time-keeping TAL (empty first text).
    try expectError(tals("+0\u{14}A\u{14}\u{0}"), code: .badAnnotation,
                    field: "record 0, signal 1/1 'EDF Annotations', TAL at byte 0", foundContains: "'A'")
    var badDuration = hypnogram
    badDuration[data + 8] = UInt8(ascii: "?")     // "+0\x15" then a non-digit
    try expectError(badDuration, code: .badAnnotation, field: "record 0, signal 1/1 'EDF Annotations', TAL at byte 8")
    try expectError(tals("+0\u{14}\u{14}\u{0}+1\u{14}text"), code: .badAnnotation,
                    field: "record 0, signal 1/1 'EDF Annotations', TAL at byte 8", foundContains: "not ended by 0x14")
    let empty = Array(hypnogram[..<data]) + Array(repeating: 0, count: hypnogram.count - data)
    try expectError(empty, code: .badAnnotation, field: "record 0, signal 1/1 'EDF Annotations', TAL at byte 0",
                    foundContains: "no TAL")
}

/// Every header byte replaced by characters that break fields (and the TAL bytes of the
/// hypnogram by bytes that break TALs), every truncation length, and random multi-byte
/// damage: reading must either succeed or throw a `SleepfoldError` of an EDF code naming
/// the file, the field, what was found and what was expected.
@Test(arguments: ["samples/test_uneven_samp.edf", hypnogramName])
func corruptedAndTruncatedFilesNeverTrap(file: String) throws {
    let original = try EDFFixtures.bytes(file)
    let headerBytes = try EDFReader(bytes: original, name: "x").header.headerByteCount
    let replacements: [UInt8] = [0x00, 0x20, UInt8(ascii: "-"), UInt8(ascii: "9"), UInt8(ascii: "."),
                                 UInt8(ascii: "x"), UInt8(ascii: "+"), 0x14, 0x15, 0xFF]
    var failures = 0, successes = 0
    func attempt(_ bytes: [UInt8]) throws {
        if let error = try readAll(bytes, name: "fuzz.edf") {
            failures += 1
            #expect([.truncated, .badVersion, .badField, .badFileSize, .badAnnotation].contains(error.code), "\(error)")
            #expect(error.file == "fuzz.edf" && error.field?.isEmpty == false, "\(error)")
            #expect(found(in: error.message)?.isEmpty == false && !error.message.hasSuffix(", expected "), "\(error)")
        } else {
            successes += 1
        }
    }
    let positions = Array(0..<headerBytes) + Array(headerBytes..<min(original.count, headerBytes + 600))
    for p in positions {
        for r in replacements where original[p] != r {
            var bytes = original
            bytes[p] = r
            try attempt(bytes)
        }
    }
    for length in stride(from: 0, to: original.count, by: max(1, original.count / 1000)) {
        try attempt(Array(original.prefix(length)))
    }
    var random = SeededGenerator(seed: 2024)
    for _ in 0..<500 {
        var bytes = original
        for _ in 0..<(1 + Int(random.next() % 8)) {
            let p = Int(random.next() % UInt64(min(original.count, headerBytes + 2000)))
            bytes[p] = UInt8(truncatingIfNeeded: random.next())
        }
        try attempt(bytes)
    }
    // Both outcomes occur: the corruption reaches the checks, and harmless bytes pass.
    #expect(failures > 500)
    #expect(successes > 100)
}
