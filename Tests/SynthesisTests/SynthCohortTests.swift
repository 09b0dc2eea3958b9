import Testing
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import Synthesis
import TestSupport

/// Bit patterns of a signal, so equality means bit-identical.
private func bits(_ x: [Float]) -> [UInt32] { x.map(\.bitPattern) }

@Test func recordingsAreNamedAndShapedLikePreparedSleepEDF() throws {
    let options = SynthOptions(subjects: 3, nights: 2, hours: 0.5, seed: 7)
    let cohort = try SynthCohort.generate(options)
    #expect(cohort.map(\.id) == ["SC4001E0", "SC4002E0", "SC4011E0", "SC4012E0", "SC4021E0", "SC4022E0"])
    #expect(cohort.map(\.subject) == ["00", "00", "01", "01", "02", "02"])
    #expect(cohort.map(\.night) == [1, 2, 1, 2, 1, 2])
    for rec in cohort {
        #expect(rec.sampleRate == 100)
        #expect(rec.samplesPerEpoch == 3000)
        #expect(rec.epochCount == 60)
        #expect(rec.x.count == 60 * 3000)
        #expect(rec.labels.allSatisfy { (0...4).contains($0) })
        #expect(rec.x.allSatisfy { $0.isFinite && abs($0) < 1000 })
        // Tens of µV, like Fpz-Cz.
        let rms = (rec.x.reduce(0) { $0 + Double($1) * Double($1) } / Double(rec.x.count)).squareRoot()
        #expect((10...80).contains(rms), "\(rec.id) rms \(rms) µV")
    }
}

@Test func idsKeepTheSleepEDFPatternBeyondAHundredSubjects() {
    #expect(SynthCohort.subjectID(0) == "00")
    #expect(SynthCohort.subjectID(7) == "07")
    #expect(SynthCohort.subjectID(99) == "99")
    #expect(SynthCohort.subjectID(123) == "123")
    #expect(SynthCohort.recordingID(subject: 4, night: 2) == "SC4042E0")
    #expect(SynthCohort.recordingID(subject: 123, night: 1) == "SC41231E0")
}

@Test func epochCountFollowsHours() throws {
    for (hours, epochs) in [(0.1, 12), (1.0, 120), (1.5, 180), (8.0, 960)] {
        let options = SynthOptions(subjects: 1, nights: 1, hours: hours, seed: 1)
        #expect(options.epochsPerNight == epochs)
        let rec = try SynthCohort.night(subject: 0, night: 1, options: options)
        #expect(rec.epochCount == epochs)
    }
}

@Test func optionsOutOfRangeAreRejectedWithTheirName() {
    let bad: [(SynthOptions, String)] = [
        (SynthOptions(subjects: 0), "--subjects"),
        (SynthOptions(subjects: 10_000), "--subjects"),
        (SynthOptions(subjects: 2, nights: 3), "--nights"),
        (SynthOptions(subjects: 2, nights: 0), "--nights"),
        (SynthOptions(subjects: 2, hours: 0), "--hours"),
        (SynthOptions(subjects: 2, hours: -1), "--hours"),
        (SynthOptions(subjects: 2, hours: .nan), "--hours"),
        (SynthOptions(subjects: 2, hours: 25), "--hours"),
    ]
    for (options, name) in bad {
        expectError(.invalidValue, field: name) { _ = try SynthCohort.generate(options) }
        do {
            try options.validate()
            Issue.record("\(options) accepted")
        } catch {
            #expect(error.code == .invalidValue && error.file == nil && error.field == name)
            #expect(error.description.hasPrefix("\(name): found ") && error.description.contains(", expected "), "\(error)")
        }
    }
    let options = SynthOptions(subjects: 2, nights: 1, hours: 0.1)
    let subject = expectError(.invalidValue, field: "subject") { _ = try SynthCohort.night(subject: 2, night: 1, options: options) }
    #expect(subject?.message == "found 2, expected a subject index in 0..<2")
    expectError(.invalidValue, field: "subject") { _ = try SynthCohort.night(subject: -1, night: 1, options: options) }
    let night = expectError(.invalidValue, field: "night") { _ = try SynthCohort.night(subject: 0, night: 2, options: options) }
    #expect(night?.message == "found 2, expected a night in 1...1")
}

@Test func sameSeedIsBitIdenticalAndOtherSeedsDiffer() throws {
    let options = SynthOptions(subjects: 2, nights: 2, hours: 0.5, seed: 42)
    let a = try SynthCohort.generate(options)
    let b = try SynthCohort.generate(options)
    var other = options
    other.seed = 43
    let c = try SynthCohort.generate(other)
    #expect(a.map { bits($0.x) } == b.map { bits($0.x) })
    #expect(a.map(\.labels) == b.map(\.labels))
    for (ra, rc) in zip(a, c) {
        #expect(bits(ra.x) != bits(rc.x))
        #expect(ra.id == rc.id)
    }
    // Nights of one subject, and subjects, differ from each other.
    #expect(bits(a[0].x) != bits(a[1].x))
    #expect(a[0].labels != a[2].labels)
}

@Test func aRecordingDoesNotDependOnWhatElseIsGenerated() throws {
    let big = try SynthCohort.generate(SynthOptions(subjects: 3, nights: 2, hours: 0.25, seed: 5))
    let small = try SynthCohort.generate(SynthOptions(subjects: 2, nights: 1, hours: 0.25, seed: 5))
    // small holds night 1 of subjects 0 and 1; big holds them at positions 0 and 2.
    #expect(bits(small[0].x) == bits(big[0].x))
    #expect(bits(small[1].x) == bits(big[2].x))
    #expect(small[1].labels == big[2].labels)
    // One night made alone equals the same night made in parallel with the others.
    let alone = try SynthCohort.night(subject: 2, night: 2, options: SynthOptions(subjects: 3, nights: 2, hours: 0.25, seed: 5))
    #expect(alone.id == big[5].id)
    #expect(bits(alone.x) == bits(big[5].x))
}

@Test func signalIsContinuousAcrossEpochBoundaries() throws {
    let cohort = try SynthCohort.generate(SynthOptions(subjects: 2, nights: 1, hours: 1, seed: 3))
    for rec in cohort {
        let n = rec.samplesPerEpoch
        var boundary: [Double] = [], within = 0.0, withinCount = 0, withinMax = 0.0
        for i in 1..<rec.x.count {
            let step = Double(abs(rec.x[i] - rec.x[i - 1]))
            if i % n == 0 {
                boundary.append(step)
            } else {
                within += step
                withinCount += 1
                withinMax = max(withinMax, step)
            }
        }
        let withinMean = within / Double(withinCount)
        let boundaryMean = boundary.reduce(0, +) / Double(boundary.count)
        // Epochs made independently would jump by ~the signal's rms (≈ 20 µV, many
        // times a typical 10-ms step) at every boundary.
        #expect(boundaryMean < 1.25 * withinMean, "\(rec.id): boundary \(boundaryMean) vs within \(withinMean) µV")
        #expect(boundary.max()! <= withinMax)
    }
}

@Test func subjectsDifferInAlphaPeakAndAmplitude() throws {
    let subjects = 6
    let cohort = try SynthCohort.generate(SynthOptions(subjects: subjects, nights: 1, hours: 1, seed: 21))
    let welch = try #require(WelchEstimator(segmentLength: 1024, sampleRate: 100))
    var measured: [Double] = []
    for (s, rec) in cohort.enumerated() {
        // Mean spectrum of the subject's wake epochs; its alpha peak is the subject's.
        var spectra: [PowerSpectrum] = []
        for (e, label) in rec.labels.enumerated() where label == Stage.wake.rawValue {
            let start = e * rec.samplesPerEpoch
            spectra.append(try #require(welch.spectrum(of: rec.x[start..<(start + rec.samplesPerEpoch)])))
        }
        let mean = try #require(PowerSpectrum.mean(spectra))
        let peak = try #require(mean.peakFrequency(in: FrequencyBand("alpha search", 7.5, 12.5)))
        let truth = SynthCohort.nightProfile(subject: s, night: 1, seed: 21).alphaPeakHz
        #expect(abs(peak - truth) < 0.5, "subject \(s): peak \(peak) Hz, profile \(truth) Hz")
        measured.append(peak)
    }
    #expect(measured.max()! - measured.min()! > 0.8, "alpha peaks \(measured)")
    let gains = (0..<subjects).map { SynthProfile.subject($0, seed: 21).gain }
    #expect(gains.max()! / gains.min()! > 1.2)
}
