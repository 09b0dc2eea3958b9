import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import TestSupport

/// scipy.signal.resample_poly outputs (resample-expected.json, by scripts/make-edf-expectations.py).
private struct ResampleCase: Decodable, CustomTestStringConvertible {
    let rate_in, rate_out: Double
    let up, down: Int
    let x, y: [Double]
    var testDescription: String { "\(rate_in) Hz → \(rate_out) Hz" }
}

private func resampleCases() throws -> [ResampleCase] {
    struct File: Decodable { let cases: [ResampleCase] }
    return try JSONDecoder().decode(File.self, from: Data(contentsOf: EDFFixtures.url("resample-expected.json"))).cases
}

@Test func resamplingMatchesScipyResamplePoly() throws {
    let cases = try resampleCases()
    #expect(cases.count == 7)
    for c in cases {
        let resampler = try PolyphaseResampler(from: c.rate_in, to: c.rate_out)
        #expect(resampler.up == c.up && resampler.down == c.down, "\(c.testDescription)")
        #expect(resampler.outputCount(inputCount: c.x.count) == c.y.count)
        let y = resampler.resample(c.x)
        let scale = c.y.map(abs).max() ?? 1
        #expect(maxAbsDifference(y, c.y) <= 1e-13 * scale, "\(c.testDescription): \(maxAbsDifference(y, c.y))")
    }
}

/// RMS of `x` without `edge` samples at each end (where zero padding is felt).
private func rms(_ x: [Double], edge: Int) -> Double {
    let middle = x[edge..<(x.count - edge)]
    return (middle.map { $0 * $0 }.reduce(0, +) / Double(middle.count)).squareRoot()
}

private func tone(_ frequency: Double, rate: Double, seconds: Double) -> [Double] {
    (0..<Int(rate * seconds)).map { sin(2 * Double.pi * frequency * Double($0) / rate) }
}

@Test(arguments: [(256.0, 70.0), (256.0, 100.0), (200.0, 60.0), (125.0, 60.0), (128.0, 62.0)])
func tonesAboveTheNewNyquistAreSuppressed(rate: Double, frequency: Double) throws {
    let resampler = try PolyphaseResampler(from: rate, to: 100)
    let x = tone(frequency, rate: rate, seconds: 20)
    let y = resampler.resample(x)
    // Taking the nearest input sample instead would alias the tone at full strength.
    let naive = (0..<y.count).map { x[min(x.count - 1, Int((Double($0) * rate / 100).rounded()))] }
    #expect(rms(naive, edge: 100) > 0.5)
    // The Kaiser(5) filter's transition band spans 50…58 Hz here (as scipy's); beyond it
    // less than −50 dB of the sine's RMS (0.707) is left.
    let suppression = 20 * log10(rms(y, edge: 100) / 0.5.squareRoot())
    #expect(suppression < -50, "\(suppression) dB")
    // A tone well inside the pass band keeps its amplitude.
    let kept = resampler.resample(tone(10, rate: rate, seconds: 20))
    #expect(abs(rms(kept, edge: 100) - 0.5.squareRoot()) < 1e-3)
}

@Test func factorsAreReducedAndBadRatesRejected() throws {
    let r = try PolyphaseResampler(up: 50, down: 64)
    #expect(r.up == 25 && r.down == 32)
    #expect(r.outputCount(inputCount: 128) == 100)
    #expect(r.outputCount(inputCount: 129) == 101)
    #expect(try PolyphaseResampler(from: 12.8, to: 100).up == 125)
    let same = try PolyphaseResampler(from: 100, to: 100)
    #expect(same.up == 1 && same.down == 1)
    #expect(same.resample([1, 2, 3]) == [1, 2, 3])
    #expect(r.resample([]) == [])
    let factors = expectError(.invalidValue, field: "resampling factors") { _ = try PolyphaseResampler(up: 0, down: 3) }
    #expect(factors?.message == "found up 0, down 3, expected integers in 1…10000")
    expectError(.invalidValue, field: "resampling factors") { _ = try PolyphaseResampler(up: 1, down: 20_000) }
    let ratio = expectError(.invalidValue, field: "sample rates") { _ = try PolyphaseResampler(from: 100, to: 100.0 / 3) }
    #expect(ratio?.message.hasSuffix("expected rates whose ratio is a fraction with terms ≤ 10000") == true)
    let negative = expectError(.invalidValue, field: "sample rates") { _ = try PolyphaseResampler(from: -1, to: 100) }
    #expect(negative?.message == "found -1.0 Hz → 100.0 Hz, expected positive finite rates")
}
