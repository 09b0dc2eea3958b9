import Foundation
import Testing
import Basics
import Evaluation
import TestSupport

/// SleepStatistics against Tests/Fixtures/metrics/sleep-statistics.json
/// (scripts/make-sleep-statistics-fixtures.py: yasa.sleep_statistics,
/// yasa.Hypnogram.sleep_statistics' SFI, yasa.transition_matrix).
@Suite struct SleepStatisticsTests {
    struct Case: Decodable {
        let name: String
        let epoch_length: Double
        let hypnogram: [Int32]
        let yasa: [String: Double?]
        let awakenings: Int
        let sfi: Double?
        let stage_shifts: Int
    }
    struct File: Decodable { let yasa_version: String; let cases: [Case] }

    static let file: File = {
        let url = TestFixtures.root.appendingPathComponent("metrics/sleep-statistics.json")
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url))
    }()

    /// Each YASA key and the value sleepfold computes for it.
    static func values(_ s: SleepStatistics) -> [String: Double?] {
        ["TIB": s.tib, "SPT": s.spt, "WASO": s.waso, "TST": s.tst,
         "N1": s.n1, "N2": s.n2, "N3": s.n3, "REM": s.rem, "NREM": s.nrem,
         "SOL": s.sol, "Lat_N1": s.latN1, "Lat_N2": s.latN2, "Lat_N3": s.latN3, "Lat_REM": s.latREM,
         "%N1": s.percentN1, "%N2": s.percentN2, "%N3": s.percentN3, "%REM": s.percentREM,
         "%NREM": s.percentNREM, "SE": s.se, "SME": s.sme]
    }

    static func stages(_ c: Case) -> [Stage] { c.hypnogram.map { Stage(rawValue: $0)! } }

    @Test func everyValueMatchesYASA() throws {
        #expect(Self.file.yasa_version == "0.8.1")
        #expect(Self.file.cases.count == 13)
        for c in Self.file.cases {
            let s = try SleepStatistics(hypnogram: Self.stages(c), epochLength: c.epoch_length)
            let mine = Self.values(s)
            // The same 21 keys as YASA returns, no more and no fewer.
            #expect(Set(mine.keys) == Set(c.yasa.keys), "\(c.name)")
            for (key, theirs) in c.yasa {
                let value = mine[key] ?? nil
                #expect((value == nil) == (theirs == nil), "\(c.name) \(key): \(String(describing: value)) vs YASA \(String(describing: theirs))")
                if let value, let theirs {
                    #expect(abs(value - theirs) <= 1e-9, "\(c.name) \(key): \(value) vs YASA \(theirs)")
                }
            }
            #expect(s.epochs == c.hypnogram.count && s.epochLength == c.epoch_length)
        }
    }

    @Test func awakeningsAndStageShiftsMatchYASA() throws {
        for c in Self.file.cases {
            let s = try SleepStatistics(hypnogram: Self.stages(c), epochLength: c.epoch_length)
            #expect(s.awakenings == c.awakenings, "\(c.name)")
            #expect(s.stageShifts == c.stage_shifts, "\(c.name)")
            #expect((s.sfi == nil) == (c.sfi == nil), "\(c.name)")
            // YASA rounds SFI to 4 decimals.
            if let mine = s.sfi, let theirs = c.sfi {
                #expect(abs(mine - theirs) <= 0.5e-4 + 1e-12, "\(c.name) SFI: \(mine) vs YASA \(theirs)")
            }
        }
    }

    /// The cases exercise what they are named for, so a fixture regenerated wrongly shows.
    @Test func theFixtureCoversTheEdgeCases() {
        let byName = Dictionary(uniqueKeysWithValues: Self.file.cases.map { ($0.name, $0) })
        #expect(byName["all wake"]?.hypnogram.allSatisfy { $0 == 0 } == true)
        #expect(byName["no REM"].map { !$0.hypnogram.contains(4) } == true)
        #expect(byName["sleep from the first epoch"]?.hypnogram.first.map { $0 != 0 } == true)
        #expect(byName["wake at the end"]?.hypnogram.last == 0)
        #expect(byName["sleep to the last epoch"]?.hypnogram.last.map { $0 != 0 } == true)
        #expect(Self.file.cases.filter { $0.hypnogram.count == 960 }.count == 4)
    }

    @Test func allWakeHasNoSleepPeriodAndUndefinedLatencies() throws {
        let s = try SleepStatistics(hypnogram: Array(repeating: .wake, count: 4))
        #expect(s.tib == 2 && s.spt == 0 && s.tst == 0 && s.se == 0)
        #expect(s.waso == nil && s.sol == nil && s.sme == nil && s.sfi == nil)
        #expect(s.latN1 == nil && s.latREM == nil && s.percentN2 == nil)
        #expect(s.awakenings == 0 && s.stageShifts == 0)
    }

    @Test func countsAreByHand() throws {
        // W W N1 N2 W N2 REM W W: sleep 2…6, one wake inside, the morning awakening after REM.
        let h: [Stage] = [.wake, .wake, .n1, .n2, .wake, .n2, .rem, .wake, .wake]
        let s = try SleepStatistics(hypnogram: h)
        #expect(s.tib == 4.5 && s.spt == 2.5 && s.waso == 0.5 && s.tst == 2 && s.sol == 1)
        #expect(s.latREM == 3 && s.latN3 == nil && s.percentN2 == 50 && s.se == 100 * 2 / 4.5)
        #expect(s.awakenings == 2 && s.stageShifts == 6 && s.sfi == 60)
        // A 20-s epoch changes minutes, not counts.
        let t = try SleepStatistics(hypnogram: h, epochLength: 20)
        #expect(abs(t.tib - 3) < 1e-12 && t.awakenings == 2 && t.stageShifts == 6)
    }

    @Test func tooShortHypnogramsAndBadEpochLengthsAreErrors() {
        for h in [[], [Stage.n2]] {
            let e = expectError(.invalidValue, file: nil, field: "hypnogram") { _ = try SleepStatistics(hypnogram: h) }
            #expect(e?.message == "found \(h.count) epochs, expected at least 2 epochs (as yasa.sleep_statistics asserts)")
        }
        for length in [0, -30, Double.nan, .infinity] {
            _ = expectError(.invalidValue, file: nil, field: "epoch length") {
                _ = try SleepStatistics(hypnogram: [.wake, .n1], epochLength: length)
            }
        }
    }

    @Test func jsonHasYASANamesAndNullForUndefined() throws {
        let s = try SleepStatistics(hypnogram: [.wake, .wake, .n2, .n2, .wake])
        let data = try JSONEncoder().encode(s)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["epoch_length_s", "epochs", "tib", "spt", "waso", "tst", "n1", "n2", "n3",
                                     "rem", "nrem", "sol", "lat_n1", "lat_n2", "lat_n3", "lat_rem", "pct_n1",
                                     "pct_n2", "pct_n3", "pct_rem", "pct_nrem", "se", "sme", "n_awakenings",
                                     "sfi", "n_stage_shifts"])
        #expect(object["lat_rem"] is NSNull && object["lat_n1"] is NSNull)
        #expect(object["sol"] as? Double == 1 && object["n_awakenings"] as? Int == 1)
        #expect(try JSONDecoder().decode(SleepStatistics.self, from: data) == s)
    }
}
