import Foundation
import Testing
import Basics
import EDF
import TestSupport

/// The EDF files under Fixtures/edf and what pyedflib reads in them (expected.json,
/// written by scripts/make-edf-expectations.py).
extension EDFFixtures {
    struct Signal: Decodable {
        let index_in_file: Int
        let label, transducer, dimension, prefilter, reserved: String
        let physical_min, physical_max: Double
        let digital_min, digital_max: Int
        let samples_per_record, samples: Int
        let sample_frequency: Double
        let digital_first, digital_last: [Int]
        let digital_sum: Int
        let physical_first, physical_last: [Double]
        let physical_sum, physical_abs_sum: Double
    }

    struct File: Decodable {
        let filetype, records: Int
        let record_duration: Double
        let start, reserved: String
        let start_offset: Double
        let labels_in_file: [String]
        let signals: [Signal]
        let annotations: [Annotation]
    }

    /// [onset, duration, text]; pyedflib gives duration −1 when the TAL has none.
    struct Annotation: Decodable {
        let onset, duration: Double
        let text: String
        init(from decoder: Decoder) throws {
            var c = try decoder.unkeyedContainer()
            onset = try c.decode(Double.self)
            duration = try c.decode(Double.self)
            text = try c.decode(String.self)
        }
    }

    struct Expected: Decodable {
        let edge: Int
        let files: [String: File]
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: url("expected.json")))
    }

    static let allFiles = [
        "samples/duplicate_channel_labels.edf", "samples/test_edf_stim_channel.edf",
        "samples/test_edfann.edf", "samples/test_generator.bdf", "samples/test_generator-first60s.edf",
        "samples/test_subsecond.edf", "samples/test_uneven_samp.edf", "samples/test_utf8.edf",
        "sleep-edf/SC4001E0-PSG-first300s.edf", "sleep-edf/SC4001EC-Hypnogram.edf",
    ]
}

@Test func fixtureListCoversTheExpectations() throws {
    #expect(Set(try EDFFixtures.expected().files.keys) == Set(EDFFixtures.allFiles))
}

@Test(arguments: EDFFixtures.allFiles)
func headerMatchesPyEDFlib(file: String) throws {
    let expected = try #require(try EDFFixtures.expected().files[file])
    let edf = try EDFReader(url: EDFFixtures.url(file))
    let h = edf.header
    let filetype = (h.sampleFormat == .edf ? 0 : 2) + (h.isPlus ? 1 : 0)
    #expect(filetype == expected.filetype)
    #expect(h.recordCount == expected.records)
    #expect(h.recordDuration == expected.record_duration)
    #expect(h.startTime.description == expected.start)
    #expect(h.reserved == expected.reserved)
    #expect(h.signals.map(\.label) == expected.labels_in_file)
    #expect(h.dataSignalIndices == expected.signals.map(\.index_in_file))
    for e in expected.signals {
        let s = h.signals[e.index_in_file]
        #expect(s.label == e.label)
        #expect(s.transducer == e.transducer)
        #expect(s.physicalDimension == e.dimension)
        #expect(s.prefiltering == e.prefilter)
        #expect(s.reserved == e.reserved)
        #expect(s.physicalMinimum == e.physical_min)
        #expect(s.physicalMaximum == e.physical_max)
        #expect(s.digitalMinimum == e.digital_min)
        #expect(s.digitalMaximum == e.digital_max)
        #expect(s.samplesPerRecord == e.samples_per_record)
        #expect(s.isAnnotation == false)
        let rate = try #require(h.sampleRate(ofSignal: e.index_in_file))
        #expect(abs(rate - e.sample_frequency) < 1e-9 * e.sample_frequency)
    }
}

@Test(arguments: EDFFixtures.allFiles)
func samplesMatchPyEDFlib(file: String) throws {
    let all = try EDFFixtures.expected()
    let expected = try #require(all.files[file])
    let edf = try EDFReader(url: EDFFixtures.url(file))
    for e in expected.signals {
        let digital = try edf.digitalSamples(signal: e.index_in_file).map(Int.init)
        #expect(digital.count == e.samples)
        #expect(Array(digital.prefix(all.edge)) == e.digital_first)
        #expect(Array(digital.suffix(all.edge)) == e.digital_last)
        #expect(digital.reduce(0, +) == e.digital_sum)

        // pyedflib scales as bitvalue · (offset + d); the spec's formula differs in the last bit or two.
        let physical: [Double] = try edf.physicalSamples(signal: e.index_in_file)
        let scale = max(abs(e.physical_max), abs(e.physical_min))
        #expect(maxAbsDifference(Array(physical.prefix(all.edge)), e.physical_first) <= 1e-14 * scale)
        #expect(maxAbsDifference(Array(physical.suffix(all.edge)), e.physical_last) <= 1e-14 * scale)
        // Sums differ by the summation order (numpy sums pairwise).
        #expect(abs(physical.reduce(0, +) - e.physical_sum) <= 1e-12 * scale * Double(e.samples))
        #expect(abs(physical.map(abs).reduce(0, +) - e.physical_abs_sum) <= 1e-12 * scale * Double(e.samples))

        let floats: [Float] = try edf.physicalSamples(signal: e.index_in_file, as: Float.self)
        #expect(floats == physical.map { Float($0) })
    }
}

@Test(arguments: EDFFixtures.allFiles)
func annotationsMatchPyEDFlib(file: String) throws {
    let expected = try #require(try EDFFixtures.expected().files[file])
    let found = try EDFReader(url: EDFFixtures.url(file)).annotations()
    #expect(found.startOffset == expected.start_offset)
    #expect(found.annotations.count == expected.annotations.count)
    for (a, e) in zip(found.annotations, expected.annotations) {
        // pyedflib counts onsets from the first sample.
        #expect(abs((a.onset - found.startOffset) - e.onset) < 1e-9)
        #expect((a.duration ?? -1) == e.duration)
        #expect(a.text == e.text)
    }
}

@Test func sleepEDFFilesHaveTheDocumentedLayout() throws {
    let psg = try EDFReader(url: EDFFixtures.url("sleep-edf/SC4001E0-PSG-first300s.edf"))
    #expect(psg.header.variant == .plain)
    #expect(psg.header.sampleFormat == .edf)
    #expect(psg.header.recordCount == 10 && psg.header.recordDuration == 30)
    #expect(psg.header.startTime == EDFDateTime(year: 1989, month: 4, day: 24, hour: 16, minute: 13, second: 0))
    #expect(psg.header.signals[0].samplesPerRecord == 3000)
    #expect(psg.header.signals.map(\.samplesPerRecord) == [3000, 3000, 3000, 30, 30, 30, 30])

    let hypnogram = try EDFReader(url: EDFFixtures.url("sleep-edf/SC4001EC-Hypnogram.edf"))
    #expect(hypnogram.header.variant == .continuous)
    #expect(hypnogram.header.recordDuration == 0 && hypnogram.header.recordCount == 1)
    #expect(hypnogram.header.dataSignalIndices.isEmpty)
    let annotations = try hypnogram.annotations()
    #expect(annotations.recordOnsets == [0])
    #expect(annotations.annotations.count == 154)
    // 30-s epochs per text, as the data README lists them.
    var epochs: [String: Double] = [:]
    for a in annotations.annotations { epochs[a.text, default: 0] += (a.duration ?? 0) / 30 }
    #expect(epochs == ["Sleep stage W": 1997, "Sleep stage 1": 58, "Sleep stage 2": 250, "Sleep stage 3": 101,
                       "Sleep stage 4": 119, "Sleep stage R": 125, "Sleep stage ?": 230])
    let last = try #require(annotations.annotations.last)
    #expect(last.onset + (last.duration ?? 0) == 86_400)
}

@Test func bdfAndOddLayoutsAreRecognised() throws {
    let bdf = try EDFReader(url: EDFFixtures.url("samples/test_generator.bdf"))
    #expect(bdf.header.sampleFormat == .bdf && bdf.header.variant == .continuous)
    #expect(bdf.header.signals.last?.label == "BDF Annotations" && bdf.header.signals.last?.isAnnotation == true)
    // 24-bit samples use the full range: the sine reaches beyond ±32767.
    let sine = try bdf.digitalSamples(signal: 0)
    #expect(sine.max()! > 1 << 20 && sine.min()! < -(1 << 20))
    #expect(try bdf.annotations().recordOnsets == (0..<30).map(Double.init))

    let stim = try EDFReader(url: EDFFixtures.url("samples/test_edf_stim_channel.edf"))
    #expect(stim.header.recordDuration == 9.59375)
    #expect(stim.header.variant == .plain && stim.header.reserved == "reserved")
    #expect(stim.header.sampleRate(ofSignal: 0) == 128)

    let uneven = try EDFReader(url: EDFFixtures.url("samples/test_uneven_samp.edf"))
    #expect(uneven.header.sampleRate(ofSignal: 0) == 100)
    #expect(uneven.header.sampleRate(ofSignal: 1) == 12.8)

    let duplicate = try EDFReader(url: EDFFixtures.url("samples/duplicate_channel_labels.edf"))
    #expect(duplicate.header.signalIndices(label: "EEG F1-Ref") == [0, 2])

    let annotationOnly = try EDFReader(url: EDFFixtures.url("samples/test_edfann.edf"))
    #expect(annotationOnly.header.recordDuration == 0)
    #expect(annotationOnly.header.dataSignalIndices.isEmpty)
    #expect(try annotationOnly.annotations().annotations.contains {
        $0.text == "Lights off@@EEG F4-A1" && $0.onset == 33.43 && $0.duration == 0 })

    let utf8 = try EDFReader(url: EDFFixtures.url("samples/test_utf8.edf")).annotations()
    #expect(utf8.annotations.map(\.text).contains("中文测试八个字"))
    #expect(utf8.recordOnsets.count == 698)
    #expect(utf8.recordOnsets[697] == 697.3945312)
}

@Test func oneSignalAndRecordRangesReadTheSameSamplesAsTheWholeSignal() throws {
    let bytes = try EDFFixtures.bytes("samples/test_uneven_samp.edf")
    let fromFile = try EDFReader(url: EDFFixtures.url("samples/test_uneven_samp.edf"))
    let fromMemory = try EDFReader(bytes: bytes, name: "test_uneven_samp.edf")
    #expect(fromFile.header == fromMemory.header)
    for signal in 0..<2 {
        let whole = try fromFile.digitalSamples(signal: signal)
        #expect(try fromMemory.digitalSamples(signal: signal) == whole)
        let n = fromFile.header.signals[signal].samplesPerRecord
        let middle = try fromFile.digitalSamples(signal: signal, records: 3..<7)
        #expect(middle == Array(whole[(3 * n)..<(7 * n)]))
        #expect(try fromFile.digitalSamples(signal: signal, records: 5..<5).isEmpty)
    }
    let badSignal = expectError(.badRequest, file: "test_uneven_samp.edf", field: "signal index") {
        _ = try fromFile.digitalSamples(signal: 2)
    }
    #expect(badSignal?.message == "found 2, expected 0…1")
    let badRecords = expectError(.badRequest, file: "test_uneven_samp.edf", field: "record range") {
        _ = try fromFile.digitalSamples(signal: 0, records: 10..<12)
    }
    #expect(badRecords?.message == "found 10..<12, expected a range within 0..<11")
}

@Test func physicalScalingFollowsTheSpecificationFormula() {
    // Inverted physical range as in test_subsecond.edf: pmin 8711 > pmax −8711.
    let s = EDFSignalHeader(label: "Fp1", physicalMinimum: 8711, physicalMaximum: -8711,
                            digitalMinimum: -32768, digitalMaximum: 32767, samplesPerRecord: 1)
    #expect(s.physical(fromDigital: -32768) == 8711)
    #expect(s.physical(fromDigital: 32767) == -8711)
    #expect(s.physical(fromDigital: 0) == Double(32768) * -17422 / 65535 + 8711)
    let eeg = EDFSignalHeader(label: "EEG Fpz-Cz", physicalMinimum: -192, physicalMaximum: 192,
                              digitalMinimum: -2048, digitalMaximum: 2047, samplesPerRecord: 3000)
    #expect(eeg.physical(fromDigital: -2048) == -192)
    #expect(eeg.physical(fromDigital: 2047) == 192)
    #expect(abs(eeg.physical(fromDigital: 0) - 0.046886446886) < 1e-12)
}

@Test func discontinuousFilesGiveTheRecordOnsetsOfTheirTimeKeepingTALs() throws {
    let gap = try EDFReader(bytes: patchedPlusFile(reserved: "EDF+D", lastRecordOnset: "+9"), name: "gap.edf")
    #expect(gap.header.variant == .discontinuous)
    #expect(try gap.annotations().recordOnsets == [0, 1, 2, 9])
    #expect(try gap.digitalSamples(signal: 0) == (0..<40).map { Int32($0) })
    // Records of an EDF+D file may leave gaps but not overlap; those of EDF+C must be contiguous.
    let overlap = try EDFReader(bytes: patchedPlusFile(reserved: "EDF+D", lastRecordOnset: "+2"), name: "overlap.edf")
    let overlapError = try #require(throws: SleepfoldError.self) { try overlap.annotations() }
    #expect(overlapError.code == .badAnnotation && overlapError.file == "overlap.edf")
    #expect(overlapError.field == "record 3: time-keeping onset")
    #expect(overlapError.message == "found 2.0 s, expected ≥ 3.0 s (the previous record's end)")
    let notContiguous = try EDFReader(bytes: patchedPlusFile(reserved: "EDF+C", lastRecordOnset: "+9"), name: "c.edf")
    let contiguityError = try #require(throws: SleepfoldError.self) { try notContiguous.annotations() }
    #expect(contiguityError.code == .badAnnotation)
    #expect(contiguityError.description == "c.edf: record 3: time-keeping onset: found 9.0 s, expected 3.0 s in a contiguous (+C) file")
}
