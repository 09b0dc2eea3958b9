import Foundation
import Testing
import Basics
import EDF
import TestSupport

private let start = EDFDateTime(year: 2003, month: 2, day: 28, hour: 23, minute: 59, second: 58)

/// Two signals at different rates with values spread over the whole digital range.
private func testSignals(records: Int, format: EDFSampleFormat) -> [EDFWriter.Signal] {
    var random = SeededGenerator(seed: 11)
    let low = format.digitalLowerBound, high = format.digitalUpperBound
    func samples(_ n: Int) -> [Int32] {
        (0..<n).map { _ in Int32(low + Int(random.next() % UInt64(high - low + 1))) }
    }
    return [
        EDFWriter.Signal(header: EDFSignalHeader(label: "EEG C3-A2", transducer: "AgAgCl", physicalDimension: "uV",
                                                 physicalMinimum: -250.5, physicalMaximum: 250.5,
                                                 digitalMinimum: low, digitalMaximum: high,
                                                 prefiltering: "HP:0.3Hz", samplesPerRecord: 125, reserved: "r1"),
                         digitalSamples: samples(125 * records)),
        EDFWriter.Signal(header: EDFSignalHeader(label: "SaO2", physicalDimension: "%",
                                                 physicalMinimum: 0, physicalMaximum: 100,
                                                 digitalMinimum: 0, digitalMaximum: 1000, samplesPerRecord: 1),
                         digitalSamples: (0..<records).map { Int32($0 % 1001) }),
    ]
}

private let annotations = [
    EDFAnnotation(onset: 0, duration: 30, text: "Sleep stage W"),
    EDFAnnotation(onset: 1.951171875, duration: nil, text: "XLSpike"),
    EDFAnnotation(onset: -0.5, duration: 0, text: "before the start"),
    EDFAnnotation(onset: 3.5, duration: 0.25, text: "中文 über"),
    EDFAnnotation(onset: 9, duration: 2, text: "late"),
    EDFAnnotation(onset: 1e-5, duration: nil, text: "tiny onset"),
]

@Test(arguments: [EDFSampleFormat.edf, .bdf])
func writtenFilesReadBackExactly(format: EDFSampleFormat) throws {
    let signals = testSignals(records: 4, format: format)
    let writer = EDFWriter(startTime: start, recordDuration: 2.5, signals: signals, annotations: annotations,
                           sampleFormat: format, patient: "P01 M 01-JAN-1950 X")
    let edf = try EDFReader(bytes: writer.encode(), name: "roundtrip")
    let h = edf.header
    #expect(h.sampleFormat == format && h.variant == .continuous)
    #expect(h.reserved == (format == .edf ? "EDF+C" : "BDF+C"))
    #expect(h.patient == "P01 M 01-JAN-1950 X")
    #expect(h.recording == "Startdate 28-FEB-2003 X X X")
    #expect(h.startTime == start)
    #expect(h.recordCount == 4 && h.recordDuration == 2.5)
    #expect(h.signals.count == 3 && h.signals[2].isAnnotation && h.signals[2].label == format.annotationLabel)
    for (i, s) in signals.enumerated() {
        var expected = s.header
        expected.isAnnotation = false
        #expect(h.signals[i] == expected)
        #expect(try edf.digitalSamples(signal: i) == s.digitalSamples)
    }
    let read = try edf.annotations()
    #expect(read.recordOnsets == [0, 2.5, 5, 7.5])
    // Each annotation sits in the record holding its onset, so file order is record order.
    #expect(Set(read.annotations.map(\.text)) == Set(annotations.map(\.text)))
    for a in annotations {
        #expect(read.annotations.first { $0.text == a.text } == a)
    }
    #expect(read.annotations.last?.text == "late")
}

@Test func aReadFileWrittenBackIsByteIdentical() throws {
    let original = try EDFFixtures.bytes("sleep-edf/SC4001E0-PSG-first300s.edf")
    let edf = try EDFReader(bytes: original, name: "psg")
    let signals = try edf.header.signals.indices.map {
        EDFWriter.Signal(header: edf.header.signals[$0], digitalSamples: try edf.digitalSamples(signal: $0))
    }
    let writer = EDFWriter(startTime: edf.header.startTime, recordDuration: edf.header.recordDuration,
                           signals: signals, plus: false, patient: edf.header.patient,
                           recording: edf.header.recording)
    #expect(try writer.encode() == original)
}

@Test func annotationOnlyFilesHaveOneRecordOfDurationZero() throws {
    let hypnogram = try EDFReader(url: EDFFixtures.url("sleep-edf/SC4001EC-Hypnogram.edf"))
    let original = try hypnogram.annotations()
    let writer = EDFWriter(startTime: hypnogram.header.startTime, recordDuration: 0, signals: [],
                           annotations: original.annotations)
    let copy = try EDFReader(bytes: writer.encode(), name: "copy")
    #expect(copy.header.recordCount == 1 && copy.header.recordDuration == 0)
    #expect(copy.header.dataSignalIndices.isEmpty && copy.header.variant == .continuous)
    #expect(try copy.annotations() == original)
}

@Test func physicalSamplesAreQuantizedToTheNearestDigitalValue() throws {
    let header = EDFSignalHeader(label: "EEG", physicalMinimum: -192, physicalMaximum: 192,
                                 digitalMinimum: -2048, digitalMaximum: 2047, samplesPerRecord: 4)
    let step = 384.0 / 4095
    let signal = try EDFWriter.Signal(header: header, physicalSamples: [-192, 192, 0.4 * step - 191.953, 500])
    #expect(signal.digitalSamples == [-2048, 2047, Int32(((0.4 * step - 191.953 + 192) / step - 2048).rounded()), 2047])
    // Quantization error is at most half a step.
    var random = SeededGenerator(seed: 5)
    let values = (0..<1000).map { _ in random.nextUnitDouble() * 384 - 192 }
    let quantized = try EDFWriter.Signal(header: header, physicalSamples: values)
    let back = quantized.digitalSamples.map(header.physical(fromDigital:))
    #expect(maxAbsDifference(back, values) <= step / 2 + 1e-12)
    let nan = expectError(.unwritable, file: "EDFWriter", field: "signal 'EEG': sample 1") {
        _ = try EDFWriter.Signal(header: header, physicalSamples: [0, .nan])
    }
    #expect(nan?.message == "found nan, expected a finite physical value")
}

@Test func valuesTheFormatCannotHoldAreErrors() {
    func error(_ change: (inout EDFWriter) -> Void) -> SleepfoldError? {
        var writer = EDFWriter(startTime: start, recordDuration: 1, signals: testSignals(records: 2, format: .edf))
        change(&writer)
        do {
            _ = try writer.encode(name: "out.edf")
            return nil
        } catch let error as SleepfoldError {
            #expect(error.code == .unwritable && error.file == "out.edf")
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }
    #expect(error { _ in } == nil)
    #expect(error { $0.signals[0].header.label = String(repeating: "L", count: 17) }?.field == "signal 1 label")
    #expect(error { $0.signals[0].header.label = "EEG µV" }?.field == "signal 1 label")
    #expect(error { $0.signals[0].header.physicalMinimum = -1234567.5 }?.field == "signal 1 physical minimum")
    #expect(error { $0.signals[0].header.physicalMinimum = 250.5 }?.field == "signal 1 'EEG C3-A2': range")
    #expect(error { $0.recordDuration = 1.0 / 3 }?.field == "duration of a data record")
    #expect(error { $0.signals[1].digitalSamples.append(0) }?.field == "signal 2 'SaO2': samples")
    #expect(error { $0.signals[0].digitalSamples[3] = 40_000 }?.field == "signal 1 'EEG C3-A2': sample")
    #expect(error { $0.annotations = [EDFAnnotation(onset: 0, duration: nil, text: "a\u{14}b")] }?.field == "annotation 0")
    #expect(error { $0.annotations = [EDFAnnotation(onset: 0, duration: -1, text: "negative")] }?.field == "annotation 0")
    #expect(error { $0.startTime.year = 2100 }?.field == "start date")
    #expect(error { $0.plus = false; $0.signals = [] }?.field == "signals")
    #expect(error { $0.signals[0].header.label = "EDF Annotations" }?.field == "signal 1 'EDF Annotations': label")
}
