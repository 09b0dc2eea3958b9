import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import Synthesis

/// Naive O(N²) DFT, the reference the FFT must match.
private func dft(_ re: [Double], _ im: [Double]) -> ([Double], [Double]) {
    let n = re.count
    var outRe = [Double](repeating: 0, count: n), outIm = outRe
    for k in 0..<n {
        for t in 0..<n {
            let angle = -2 * Double.pi * Double(k * t) / Double(n)
            outRe[k] += re[t] * cos(angle) - im[t] * sin(angle)
            outIm[k] += re[t] * sin(angle) + im[t] * cos(angle)
        }
    }
    return (outRe, outIm)
}

@Test(arguments: [2, 8, 64, 256])
func fftMatchesNaiveDFT(size: Int) throws {
    let fft = try #require(FFT(size: size))
    var rng = SeededGenerator(seed: UInt64(size))
    let re = (0..<size).map { _ in rng.nextGaussian() }
    let im = (0..<size).map { _ in rng.nextGaussian() }
    var fr = re, fi = im
    fft.forward(real: &fr, imag: &fi)
    let (dr, di) = dft(re, im)
    for k in 0..<size {
        #expect(abs(fr[k] - dr[k]) < 1e-9 * Double(size))
        #expect(abs(fi[k] - di[k]) < 1e-9 * Double(size))
    }
}

@Test(arguments: [0, 1, 3, 100, 3000])
func fftRejectsSizesThatAreNotPowersOfTwo(size: Int) {
    #expect(FFT(size: size) == nil)
}

@Test func welchRejectsBadSettingsAndShortInput() throws {
    #expect(WelchEstimator(segmentLength: 200, sampleRate: 100) == nil)
    #expect(WelchEstimator(segmentLength: 256, sampleRate: 0) == nil)
    let welch = try #require(WelchEstimator(segmentLength: 256, sampleRate: 100))
    #expect(welch.spectrum(of: [Float](repeating: 1, count: 255)) == nil)
}

@Test(arguments: [1.0, 2.5, 10.0, 13.0, 30.0])
func welchFindsASinusoidWithItsPower(frequency: Double) throws {
    // A = 20 µV: power A²/2 = 200 µV², all of it near `frequency`.
    let x = (0..<3000).map { Float(20 * sin(2 * Double.pi * frequency * Double($0) / 100 + 0.3)) }
    let welch = try #require(WelchEstimator(segmentLength: 256, sampleRate: 100))
    let spectrum = try #require(welch.spectrum(of: x))
    let near = FrequencyBand("near", frequency - 1, frequency + 1)
    #expect(abs(spectrum.power(in: near) - 200) < 200 * 0.03)
    #expect(spectrum.power(in: .total) < 200 * 1.03)
    let peak = try #require(spectrum.peakFrequency(in: FrequencyBand("any", 0.4, 49)))
    #expect(abs(peak - frequency) <= spectrum.resolution / 2)
}

@Test func welchOfWhiteNoiseIsFlatAtTheExpectedDensity() throws {
    // Unit-variance white noise at 100 Hz: one-sided density 2/100 per Hz everywhere.
    var rng = SeededGenerator(seed: 11)
    let x = (0..<60_000).map { _ in Float(rng.nextGaussian()) }
    let welch = try #require(WelchEstimator(segmentLength: 256, sampleRate: 100))
    let spectrum = try #require(welch.spectrum(of: x))
    for band in FrequencyBand.standard {
        let expected = 0.02 * (band.high - band.low)
        #expect(abs(spectrum.power(in: band) - expected) < 0.1 * expected, "\(band)")
    }
    // Parseval: the whole density integrates to the variance.
    #expect(abs(spectrum.power(in: FrequencyBand("all", 0, 51)) - 1) < 0.05)
}

@Test func stageBandPowersAveragesEachStagesEpochs() throws {
    // Epoch 0 (W): 10 Hz sinusoid; epochs 1, 2 (N3): 1.5 Hz sinusoids of two sizes.
    func tone(_ f: Double, _ a: Double) -> [Float] {
        (0..<3000).map { Float(a * sin(2 * Double.pi * f * Double($0) / 100)) }
    }
    let x = tone(10, 10) + tone(1.5, 40) + tone(1.5, 80)
    let rec = Recording(id: "T", subject: "00", night: 1, sampleRate: 100, samplesPerEpoch: 3000,
                        x: x, labels: [0, 3, 3])
    let table = StageBandPowers(recordings: [rec])
    #expect(table.epochCounts == [1, 0, 0, 2, 0])
    let alphaW = try #require(table.absolute(.wake, .alpha))
    #expect(abs(alphaW - 50) < 2)
    let deltaN3 = try #require(table.absolute(.n3, .delta))
    #expect(abs(deltaN3 - (800 + 3200) / 2) < 0.03 * 2000)
    #expect(try #require(table.relative(.wake, .alpha)) > 0.97)
    #expect(try #require(table.relative(.n3, .delta)) > 0.97)
    #expect(table.absolute(.rem, .alpha) == 0)
    #expect(table.absolute(.wake, FrequencyBand("unmeasured", 1, 2)) == nil)
    #expect(table.table().contains("N3"))
}
