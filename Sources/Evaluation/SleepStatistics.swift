import Basics

/// The standard sleep statistics of one night, as YASA 0.8.1's
/// `yasa.sleep_statistics(hypno, sf_hyp=1/epochLength)` computes them
/// (yasa/sleepstats.py), plus the number of awakenings and of stage shifts.
/// summary.json's statistics; docs/sleep-statistics.md has the definitions with
/// their sources and the choices made where YASA is silent.
///
/// The hypnogram is one `Stage` per epoch from lights off to lights on (YASA:
/// "assumed to be already cropped to time in bed"). sleepfold's stages have no
/// artefact (-1) or unscored (-2) epochs, so every epoch is wake or sleep.
/// Let `first` and `last` be the indices of the first and last sleep epoch
/// (N1, N2, N3 or REM) and `m = epochLength / 60` the minutes per epoch:
/// - `tib` (time in bed) = epochs · m.
/// - `spt` (sleep period time) = (last − first + 1) · m; 0 without sleep.
/// - `waso` (wake after sleep onset) = wake epochs in first…last · m; nil without sleep.
/// - `tst` (total sleep time) = sleep epochs in first…last · m (= all sleep epochs).
/// - `n1`, `n2`, `n3`, `rem` = epochs of that stage · m; `nrem` = n1 + n2 + n3.
/// - `sol` (sleep onset latency) = first · m; nil without sleep.
/// - `latN1` … `latREM` = index of the stage's first epoch · m, from the start of
///   the hypnogram (not from sleep onset: the AASM's REM latency is `latREM − sol`);
///   nil when the stage never occurs.
/// - `percentN1` … `percentNREM` = 100 · stage / tst; nil without sleep.
/// - `se` (sleep efficiency) = 100 · tst / tib; `sme` (sleep maintenance
///   efficiency) = 100 · tst / spt, nil without sleep.
///
/// Not in `yasa.sleep_statistics`:
/// - `awakenings`: the number of sleep → wake changes between consecutive epochs,
///   anywhere in the hypnogram, as YASA's `Hypnogram.sleep_statistics` counts them
///   for its sleep fragmentation index (yasa/hypno.py, `n_trans_to_wake`). The
///   morning awakening (last sleep epoch → wake) counts; wake before sleep onset
///   does not, since it follows no sleep.
/// - `sfi` (sleep fragmentation index) = awakenings per hour of TST, YASA's `SFI`;
///   nil without sleep.
/// - `stageShifts`: the number of consecutive epochs with different stages over
///   the whole hypnogram (the time in bed, so falling asleep and the morning
///   awakening count): the off-diagonal sum of `yasa.transition_matrix(hypno)`.
public struct SleepStatistics: Codable, Equatable, Sendable {
    /// Length of one epoch in seconds (YASA's `1 / sf_hyp`).
    public static let defaultEpochLength = 30.0 // s

    /// Seconds per epoch the minutes below were computed with.
    public var epochLength: Double
    /// Epochs in the hypnogram.
    public var epochs: Int

    /// Time in bed, minutes (YASA `TIB`).
    public var tib: Double
    /// Sleep period time: first to last sleep epoch, minutes (`SPT`).
    public var spt: Double
    /// Wake after sleep onset, minutes (`WASO`); nil without sleep.
    public var waso: Double?
    /// Total sleep time, minutes (`TST`).
    public var tst: Double
    /// Minutes of each stage (`N1`, `N2`, `N3`, `REM`, `NREM`).
    public var n1, n2, n3, rem, nrem: Double
    /// Sleep onset latency, minutes from the start (`SOL`); nil without sleep.
    public var sol: Double?
    /// Minutes from the start to the stage's first epoch (`Lat_N1` …); nil when it never occurs.
    public var latN1, latN2, latN3, latREM: Double?
    /// Percent of TST in each stage (`%N1` …); nil without sleep.
    public var percentN1, percentN2, percentN3, percentREM, percentNREM: Double?
    /// Sleep efficiency, 100 · TST / TIB (`SE`).
    public var se: Double
    /// Sleep maintenance efficiency, 100 · TST / SPT (`SME`); nil without sleep.
    public var sme: Double?
    /// Sleep → wake changes between consecutive epochs (YASA's SFI numerator).
    public var awakenings: Int
    /// Awakenings per hour of TST (YASA `Hypnogram.sleep_statistics`' `SFI`); nil without sleep.
    public var sfi: Double?
    /// Changes of stage between consecutive epochs over the whole hypnogram.
    public var stageShifts: Int

    /// The statistics of `hypnogram`, one stage per `epochLength` seconds from lights off.
    /// Throws `.invalidValue` for fewer than 2 epochs (YASA asserts "hypno must have at
    /// least two elements") or an epoch length that is not a positive number of seconds.
    public init(hypnogram: [Stage], epochLength: Double = SleepStatistics.defaultEpochLength) throws {
        guard epochLength.isFinite, epochLength > 0 else {
            throw SleepfoldError(.invalidValue, field: "epoch length", found: "\(epochLength) s",
                                 expected: "a positive number of seconds")
        }
        guard hypnogram.count >= 2 else {
            throw SleepfoldError(.invalidValue, field: "hypnogram", found: "\(hypnogram.count) epochs",
                                 expected: "at least 2 epochs (as yasa.sleep_statistics asserts)")
        }
        // Counts in epochs first, minutes at the end, as YASA converts (value / (60 · sf_hyp)).
        let minutes = { (epochs: Int) in Double(epochs) * epochLength / 60 }
        let isSleep = hypnogram.map { $0 != .wake }
        let first = isSleep.firstIndex(of: true)
        let last = isSleep.lastIndex(of: true)
        func count(_ stage: Stage) -> Int { hypnogram.lazy.filter { $0 == stage }.count }
        func latency(_ stage: Stage) -> Double? { hypnogram.firstIndex(of: stage).map(minutes) }

        self.epochLength = epochLength
        epochs = hypnogram.count
        tib = minutes(hypnogram.count)
        if let first, let last {
            let period = hypnogram[first...last]
            spt = minutes(period.count)
            waso = minutes(period.lazy.filter { $0 == .wake }.count)
            tst = minutes(period.lazy.filter { $0 != .wake }.count)
            sol = minutes(first)
        } else {
            spt = 0
            waso = nil
            tst = 0
            sol = nil
        }
        n1 = minutes(count(.n1))
        n2 = minutes(count(.n2))
        n3 = minutes(count(.n3))
        rem = minutes(count(.rem))
        nrem = minutes(count(.n1) + count(.n2) + count(.n3))
        latN1 = latency(.n1)
        latN2 = latency(.n2)
        latN3 = latency(.n3)
        latREM = latency(.rem)
        let hasSleep = first != nil
        let tst = self.tst
        func percent(_ stageMinutes: Double) -> Double? { hasSleep ? 100 * stageMinutes / tst : nil }
        percentN1 = percent(n1)
        percentN2 = percent(n2)
        percentN3 = percent(n3)
        percentREM = percent(rem)
        percentNREM = percent(nrem)
        se = 100 * tst / tib
        sme = hasSleep ? 100 * tst / spt : nil

        var awakenings = 0, shifts = 0
        for (previous, next) in zip(hypnogram, hypnogram.dropFirst()) {
            if previous != .wake && next == .wake { awakenings += 1 }
            if previous != next { shifts += 1 }
        }
        self.awakenings = awakenings
        stageShifts = shifts
        sfi = hasSleep ? Double(awakenings) / (tst / 60) : nil
    }

    // YASA's names, lower-cased; "%" becomes "pct_" so the keys stay identifiers.
    enum CodingKeys: String, CodingKey {
        case epochLength = "epoch_length_s", epochs
        case tib, spt, waso, tst, n1, n2, n3, rem, nrem, sol
        case latN1 = "lat_n1", latN2 = "lat_n2", latN3 = "lat_n3", latREM = "lat_rem"
        case percentN1 = "pct_n1", percentN2 = "pct_n2", percentN3 = "pct_n3"
        case percentREM = "pct_rem", percentNREM = "pct_nrem"
        case se, sme, awakenings = "n_awakenings", sfi, stageShifts = "n_stage_shifts"
    }

    /// Writes every key, an undefined value as JSON null (the synthesized encoder would
    /// leave the key out, and summary.json readers should see that it is undefined).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(epochLength, forKey: .epochLength)
        try c.encode(epochs, forKey: .epochs)
        try c.encode(tib, forKey: .tib)
        try c.encode(spt, forKey: .spt)
        try c.encode(waso, forKey: .waso)
        try c.encode(tst, forKey: .tst)
        try c.encode(n1, forKey: .n1)
        try c.encode(n2, forKey: .n2)
        try c.encode(n3, forKey: .n3)
        try c.encode(rem, forKey: .rem)
        try c.encode(nrem, forKey: .nrem)
        try c.encode(sol, forKey: .sol)
        try c.encode(latN1, forKey: .latN1)
        try c.encode(latN2, forKey: .latN2)
        try c.encode(latN3, forKey: .latN3)
        try c.encode(latREM, forKey: .latREM)
        try c.encode(percentN1, forKey: .percentN1)
        try c.encode(percentN2, forKey: .percentN2)
        try c.encode(percentN3, forKey: .percentN3)
        try c.encode(percentREM, forKey: .percentREM)
        try c.encode(percentNREM, forKey: .percentNREM)
        try c.encode(se, forKey: .se)
        try c.encode(sme, forKey: .sme)
        try c.encode(awakenings, forKey: .awakenings)
        try c.encode(sfi, forKey: .sfi)
        try c.encode(stageShifts, forKey: .stageShifts)
    }
}
