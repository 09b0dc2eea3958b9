import Foundation
import Basics
import Recordings

/// The AttnSleep / DeepSleepNet recording format: one night per `.npz` file with
///
/// - `x`: float32 (n, 3000) or (n, 3000, 1) — 30-s epochs at 100 Hz (float64 is
///   accepted and rounded to float32; at another rate `fs`, 30 × fs samples);
/// - `y`: int32 (n,) stage labels 0…4 (any integer dtype is accepted);
/// - `fs`: the sampling rate, a scalar (numpy stores `fs=100` as a 0-d int64).
///
/// Other members (DeepSleepNet's `ch_label`, `header_raw`, …) are ignored when
/// reading. Files are written as numpy would: x `<f4` (n, samplesPerEpoch),
/// y `<i4` (n,), fs a 0-d `<i8` (or `<f8` for a fractional rate).
extension Recording {
    /// The night of an AttnSleep file without labels (`y` absent, as a night nobody scored):
    /// `x` shaped (n, S) or (n, S, 1) with n ≥ 1, finite; labels all 0 (unused), the rate
    /// that puts S samples in a 30-s epoch. Used by `predict` and `stage`.
    /// - Throws: `SleepfoldError` naming the file and member 'x': `.missingMember`,
    ///   `.unexpectedDType`, `.unexpectedShape`, `.nonFiniteSignal`.
    public static func unlabelled(_ archive: NPZArchive, id: String, samplesPerEpoch S: Int) throws -> Recording {
        let file = archive.path
        guard archive.contains("x") else {
            throw SleepfoldError(.missingMember, file: file, field: "member 'x'", found: "no such member",
                                 expected: "x (n, \(S)) float32 as in AttnSleep files")
        }
        let xArray = try archive.array("x")
        let shape = xArray.shape
        guard xArray.dtype.isFloatingPoint, shape.count == 2 || (shape.count == 3 && shape[2] == 1), shape[0] >= 1 else {
            throw SleepfoldError(xArray.dtype.isFloatingPoint ? .unexpectedShape : .unexpectedDType, file: file,
                                 field: "member 'x'", found: "\(xArray.dtype.rawValue) of shape \(shape)",
                                 expected: "float of shape (n, \(S)) or (n, \(S), 1) with n ≥ 1")
        }
        guard shape[1] == S else {
            throw SleepfoldError(.unexpectedShape, file: file, field: "member 'x'", found: "\(shape[1]) samples per epoch",
                                 expected: "\(S), as the model takes")
        }
        let x = try locating(file: file, field: "member 'x'") { try xArray.floats() }
        if let bad = x.firstIndex(where: { !$0.isFinite }) {
            throw SleepfoldError(.nonFiniteSignal, file: file, field: "member 'x'",
                                 found: "value \(x[bad]) at epoch \(bad / S), sample \(bad % S)", expected: "finite numbers")
        }
        return Recording(id: id, subject: id, night: nil, sampleRate: Double(S) / Recording.epochSeconds,
                         samplesPerEpoch: S, x: x, labels: [Int32](repeating: 0, count: shape[0]))
    }
}

extension Recording {
    /// Sampling rate of the AttnSleep format, Hz.
    public static let standardSampleRate: Double = 100
    /// Length of one scored epoch, seconds.
    public static let epochSeconds: Double = 30

    /// Loads and checks one night.
    ///
    /// - Parameters:
    ///   - url: the `.npz` file; `id` becomes its name without extension.
    ///   - subject: subject id; nil reads subject and night from a Sleep-EDF file
    ///     name (`SC4ssN…`, `ST7ssN…`), and another name is an error.
    ///   - night: night number, used only with an explicit `subject`.
    ///   - expectedSampleRate: the rate `fs` must equal; nil accepts any rate.
    /// - Throws: `SleepfoldError` naming the file, the member and the problem: unreadable
    ///   archive, missing member, bad dtype or shape, fs mismatch, no epochs, x/y epoch
    ///   counts that differ, labels outside 0…4, NaN or infinity in x.
    public init(contentsOf url: URL, subject: String? = nil, night: Int? = nil,
                expectedSampleRate: Double? = Recording.standardSampleRate) throws {
        let (subject, night) = try Recording.identity(of: url, subject: subject, night: night)
        let archive = try NPZArchive(url: url)
        let layout = try RecordingLayout(archive: archive, expectedSampleRate: expectedSampleRate)
        let file = archive.path
        let xArray = try archive.array("x")
        let x = try locating(file: file, field: "member 'x'") { try xArray.floats() }
        if let bad = x.firstIndex(where: { !$0.isFinite }) {
            let count = x.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            throw layout.nonFiniteError(file: file, firstIndex: bad, value: Double(x[bad]), count: count)
        }
        self.init(id: Recording.id(of: url), subject: subject, night: night, sampleRate: layout.sampleRate,
                  samplesPerEpoch: layout.samplesPerEpoch, x: x, labels: layout.labels)
    }

    /// Writes this night as an AttnSleep `.npz` file (stored by default, like `np.savez`).
    ///
    /// The file is checked as it would be on loading (labels 0…4, finite x, at
    /// least one epoch), so a bug upstream cannot write a file that later fails.
    /// `extraMembers` (e.g. `ch_label`) are stored after x, y and fs.
    public func write(to url: URL, compression: NPZCompression = .stored,
                      extraMembers: [(name: String, array: NPYArray)] = []) throws {
        let file = url.path
        guard epochCount >= 1 else {
            throw SleepfoldError(.emptyRecording, file: file, field: "member 'y'",
                                 "recording '\(id)' has no epochs, expected at least one")
        }
        if let bad = labels.firstIndex(where: { !(0...4).contains($0) }) {
            throw SleepfoldError(.labelOutOfRange, file: file, field: "member 'y'",
                                 "label \(labels[bad]) at epoch \(bad) is outside 0…4 (W, N1, N2, N3, REM)")
        }
        if let bad = x.firstIndex(where: { !$0.isFinite }) {
            throw SleepfoldError(.nonFiniteSignal, file: file, field: "member 'x'",
                                 "value \(x[bad]) at epoch \(bad / samplesPerEpoch), sample \(bad % samplesPerEpoch) is not finite, "
                                 + "expected finite values")
        }
        let fs = sampleRate.rounded() == sampleRate ? NPYArray(scalar: Int64(sampleRate)) : NPYArray(scalar: sampleRate)
        let members: [(name: String, array: NPYArray)] = [
            ("x", NPYArray(x, shape: [epochCount, samplesPerEpoch])),
            ("y", NPYArray(labels)),
            ("fs", fs),
        ] + extraMembers
        try NPZArchive.write(members, to: url, compression: compression)
    }

    /// Recording id for a file: its name without the extension.
    static func id(of url: URL) -> String {
        url.deletingPathExtension().lastPathComponent
    }

    /// Subject and night: the explicit ones, else those of a Sleep-EDF file name.
    static func identity(of url: URL, subject: String?, night: Int?) throws -> (String, Int?) {
        if let subject { return (subject, night) }
        guard let name = SleepEDFName(fileName: url.lastPathComponent) else {
            throw SleepfoldError(.unnamedRecording, file: url.path,
                                 "cannot tell the subject from the file name '\(url.lastPathComponent)': it does not follow the "
                                 + "Sleep-EDF pattern SC4ssN… or ST7ssN… (ss = subject, N = night); list the recordings with "
                                 + "their subjects in a manifest JSON ({\"recordings\": [{\"path\": …, \"subject\": …, \"night\": …}]}) "
                                 + "and use the manifest instead of the directory")
        }
        return (name.subject, name.night)
    }
}

/// What the members `fs`, `x` (header only) and `y` of a recording file say, checked
/// against each other and the format. Shared by the full load and the cheap scan.
struct RecordingLayout {
    var sampleRate: Double
    var samplesPerEpoch: Int
    var epochCount: Int
    var xDType: NPYDType
    var labels: [Int32]

    /// Reads `fs`, the header of `x` and all of `y`, and checks them.
    init(archive: NPZArchive, expectedSampleRate: Double?) throws {
        let file = archive.path

        // fs: a single positive number, equal to the expected rate.
        let fsArray = try archive.array("fs")
        guard fsArray.count == 1, fsArray.dtype != .bool else {
            throw SleepfoldError(.unexpectedShape, file: file, field: "member 'fs'",
                                 "expected a single number (the sampling rate), found \(fsArray.dtype.rawValue) of shape \(describe(shape: fsArray.shape))")
        }
        let fs = try locating(file: file, field: "member 'fs'") { try fsArray.doubleScalar() }
        // 1 Hz … 100 kHz: every EEG/PSG rate with a wide margin, and 30 · fs samples stay a small Int.
        guard fs.isFinite, fs >= Recording.minSampleRate, fs <= Recording.maxSampleRate else {
            throw SleepfoldError(.sampleRateMismatch, file: file, field: "member 'fs'", found: "sampling rate \(fs)",
                                 expected: "a rate between \(formatRate(Recording.minSampleRate)) and \(formatRate(Recording.maxSampleRate)) Hz")
        }
        if let expectedSampleRate, fs != expectedSampleRate {
            throw SleepfoldError(.sampleRateMismatch, file: file, field: "member 'fs'",
                                 "sampling rate is \(formatRate(fs)) Hz, expected \(formatRate(expectedSampleRate)) Hz")
        }
        let epochLength = fs * Recording.epochSeconds
        guard epochLength.rounded() == epochLength else {
            throw SleepfoldError(.sampleRateMismatch, file: file, field: "member 'fs'",
                                 "sampling rate \(formatRate(fs)) Hz gives \(epochLength) samples per 30-s epoch, expected a whole number")
        }
        let samplesPerEpoch = Int(epochLength)

        // x: float (n, 30·fs) or (n, 30·fs, 1).
        let x = try archive.header(of: "x")
        guard x.dtype.isFloatingPoint else {
            throw SleepfoldError(.unexpectedDType, file: file, field: "member 'x'",
                                 "dtype is \(x.dtype.rawValue), expected float32 ('<f4') or float64 ('<f8')")
        }
        let expectedShape = "(n, \(samplesPerEpoch)) or (n, \(samplesPerEpoch), 1)"
        let shapeFits = (x.shape.count == 2 || (x.shape.count == 3 && x.shape[2] == 1))
        guard shapeFits else {
            throw SleepfoldError(.unexpectedShape, file: file, field: "member 'x'",
                                 "shape is \(describe(shape: x.shape)), expected \(expectedShape)")
        }
        guard x.shape[1] == samplesPerEpoch else {
            throw SleepfoldError(.unexpectedShape, file: file, field: "member 'x'",
                                 "shape is \(describe(shape: x.shape)), expected \(expectedShape): "
                                 + "\(x.shape[1]) samples per epoch, but 30 s at fs \(formatRate(fs)) Hz is \(samplesPerEpoch)")
        }

        // y: integers (n,).
        let y = try archive.array("y")
        guard y.dtype.isInteger else {
            throw SleepfoldError(.unexpectedDType, file: file, field: "member 'y'",
                                 "dtype is \(y.dtype.rawValue), expected an integer type (int32 '<i4' or int64 '<i8')")
        }
        guard y.shape.count == 1 else {
            throw SleepfoldError(.unexpectedShape, file: file, field: "member 'y'",
                                 "shape is \(describe(shape: y.shape)), expected (n,)")
        }
        let values = try locating(file: file, field: "member 'y'") { try y.int64s() }

        // Epoch counts and label range.
        guard x.shape[0] == values.count else {
            throw SleepfoldError(.epochCountMismatch, file: file, field: "member 'y'",
                                 "y has \(values.count) labels but x has \(x.shape[0]) epochs, expected one label per epoch")
        }
        guard values.count >= 1 else {
            throw SleepfoldError(.emptyRecording, file: file, field: "member 'y'",
                                 "the recording has no epochs (n = 0), expected at least one")
        }
        let outside = values.indices.filter { !(0...4).contains(values[$0]) }
        if let first = outside.first {
            throw SleepfoldError(.labelOutOfRange, file: file, field: "member 'y'",
                                 "label \(values[first]) at epoch \(first) is outside 0…4 (W, N1, N2, N3, REM); "
                                 + "\(outside.count) of \(values.count) labels are out of range")
        }

        sampleRate = fs
        self.samplesPerEpoch = samplesPerEpoch
        epochCount = values.count
        xDType = x.dtype
        labels = values.map { Int32($0) }
    }

    /// The error for NaN or infinity at flat index `firstIndex` of x.
    func nonFiniteError(file: String, firstIndex: Int, value: Double, count: Int) -> SleepfoldError {
        SleepfoldError(.nonFiniteSignal, file: file, field: "member 'x'",
                       "value \(value) at epoch \(firstIndex / samplesPerEpoch), sample \(firstIndex % samplesPerEpoch) "
                       + "is not finite (\(count) non-finite values in all); the signal must not contain NaN or infinity")
    }
}

// Codes of the recording format (its arrays' own problems have the `.npy` and `.npz` codes).
extension SleepfoldError.Code {
    /// An array has a shape the recording format does not allow.
    public static let unexpectedShape = Self("unexpectedShape")
    /// An array has a dtype the recording format does not allow for that member.
    public static let unexpectedDType = Self("unexpectedDType")
    /// A recording has no epochs.
    public static let emptyRecording = Self("emptyRecording")
    /// `x` and `y` disagree on the number of epochs.
    public static let epochCountMismatch = Self("epochCountMismatch")
    /// A stage label outside 0…4.
    public static let labelOutOfRange = Self("labelOutOfRange")
    /// `fs` differs from the expected sampling rate, or does not match the epoch length.
    public static let sampleRateMismatch = Self("sampleRateMismatch")
    /// NaN or infinity in the signal.
    public static let nonFiniteSignal = Self("nonFiniteSignal")
    /// A file name that does not follow the Sleep-EDF pattern, without a manifest.
    public static let unnamedRecording = Self("unnamedRecording")
}

/// A rate without a needless ".0": 100, 128, 62.5.
func formatRate(_ rate: Double) -> String {
    rate.rounded() == rate && abs(rate) < 1e15 ? String(Int(rate)) : String(rate)
}

extension Recording {
    /// Lowest sampling rate a recording file may declare (Hz): below any EEG rate.
    public static let minSampleRate = 1.0
    /// Highest sampling rate a recording file may declare (Hz): 100 kHz, far above
    /// PSG rates (100–512 Hz), and 30 s of it (3,000,000 samples) is a small Int.
    public static let maxSampleRate = 100_000.0
}
