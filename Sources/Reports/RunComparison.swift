import Foundation
import Basics
import Recordings
import Evaluation

/// Runs side by side: pooled scores, per-fold differences, and for each pair a
/// Wilcoxon signed-rank test over folds (macro-F1 and kappa) and a bootstrap
/// confidence interval of the pooled difference, resampling subjects.
///
/// Differences are B − A for a pair (A, B). Paired fold tests need both runs to
/// use the same folds (the same test subjects per fold); the bootstrap needs
/// the same subjects.
public struct RunComparison: Codable, Equatable, Sendable {
    public struct RunSummary: Codable, Equatable, Sendable {
        public var name: String
        public var title: String
        public var config: String
        public var folds: Int
        public var epochs: Int
        public var accuracy: Double?
        public var macroF1: Double?
        public var kappa: Double?
        /// F1 of W, N1, N2, N3, REM.
        public var f1: [Double]
    }

    public struct FoldDifference: Codable, Equatable, Sendable {
        public var fold: Int
        public var macroF1A, macroF1B, kappaA, kappaB: Double?
    }

    public struct Interval: Codable, Equatable, Sendable {
        /// B − A on all the data.
        public var difference: Double?
        /// 2.5th and 97.5th percentiles of the bootstrap differences.
        public var low: Double?
        public var high: Double?
        /// True when the interval excludes 0.
        public var significant: Bool
    }

    public struct PairComparison: Codable, Equatable, Sendable {
        public var a: String
        public var b: String
        /// Why fold tests or the bootstrap were not made (different folds or subjects), if so.
        public var notes: [String]
        public var folds: [FoldDifference]
        public var wilcoxonMacroF1: WilcoxonResult?
        public var wilcoxonKappa: WilcoxonResult?
        public var bootstrapResamples: Int
        public var bootstrapSeed: UInt64
        public var accuracy: Interval?
        public var macroF1: Interval?
        public var kappa: Interval?
    }

    /// One run as the comparison reads it: its report and its predictions.
    public struct Run {
        public var name: String
        public var report: Report
        public var predictions: [Prediction]
        public init(name: String, report: Report, predictions: [Prediction]) {
            self.name = name
            self.report = report
            self.predictions = predictions
        }
    }

    public var runs: [RunSummary]
    public var pairs: [PairComparison]
    /// Significance level the tables mark.
    public var alpha: Double

    public init(_ runs: [Run], resamples: Int = 2000, seed: UInt64 = 0, alpha: Double = 0.05) {
        self.alpha = alpha
        self.runs = runs.map { run in
            let r = run.report
            let config: String
            if case .object(let fields) = r.config, case .string(let name)? = fields["name"] { config = name } else { config = "–" }
            return RunSummary(name: run.name, title: r.title, config: config, folds: r.folds.count, epochs: r.pooled.epochs,
                              accuracy: r.pooled.accuracy, macroF1: r.pooled.macroF1, kappa: r.pooled.kappa,
                              f1: r.pooled.perClass.map(\.f1))
        }
        var pairs: [PairComparison] = []
        for i in runs.indices {
            for j in runs.indices where j > i {
                pairs.append(Self.compare(runs[i], runs[j], resamples: resamples, seed: seed))
            }
        }
        self.pairs = pairs
    }

    static func compare(_ a: Run, _ b: Run, resamples: Int, seed: UInt64) -> PairComparison {
        var notes: [String] = []
        var folds: [FoldDifference] = []
        var wF1: WilcoxonResult?, wKappa: WilcoxonResult?
        let sameFolds = a.report.folds.map(\.fold.test) == b.report.folds.map(\.fold.test)
        if sameFolds {
            folds = zip(a.report.folds, b.report.folds).map { fa, fb in
                FoldDifference(fold: fa.fold.index, macroF1A: fa.metrics.macroF1, macroF1B: fb.metrics.macroF1,
                               kappaA: fa.metrics.kappa, kappaB: fb.metrics.kappa)
            }
            let f1 = folds.compactMap { f in f.macroF1A.flatMap { x in f.macroF1B.map { (x, $0) } } }
            let k = folds.compactMap { f in f.kappaA.flatMap { x in f.kappaB.map { (x, $0) } } }
            wF1 = WilcoxonResult(f1.map(\.1), f1.map(\.0))
            wKappa = WilcoxonResult(k.map(\.1), k.map(\.0))
        } else {
            notes.append("the runs test different subjects per fold: no paired fold tests")
        }

        // Per-subject confusion matrices, for resampling subjects.
        func bySubject(_ run: Run) -> [String: ConfusionMatrix] {
            let subjects = run.report.recordingSubjects
            var out: [String: ConfusionMatrix] = [:]
            for p in run.predictions {
                guard let s = subjects[p.recording] else { continue }
                out[s, default: ConfusionMatrix()].add(truth: p.truth, predicted: p.predicted)
            }
            return out
        }
        let ma = bySubject(a), mb = bySubject(b)
        var intervals: (Interval, Interval, Interval)?
        if Set(ma.keys) == Set(mb.keys), !ma.isEmpty {
            let subjects = ma.keys.sorted()
            func scores(_ pick: [Int], _ m: [String: ConfusionMatrix]) -> Metrics {
                var total = ConfusionMatrix()
                for i in pick { total.add(m[subjects[i]]!) }
                return Metrics(confusion: total)
            }
            let all = Array(subjects.indices)
            let fullA = scores(all, ma), fullB = scores(all, mb)
            var rng = SeededGenerator(seed: seed, stream: 0xB007)
            var dAcc: [Double] = [], dF1: [Double] = [], dK: [Double] = []
            for _ in 0..<resamples {
                let pick = subjects.indices.map { _ in Int(rng.next() % UInt64(subjects.count)) }
                let sa = scores(pick, ma), sb = scores(pick, mb)
                if let x = sa.accuracy, let y = sb.accuracy { dAcc.append(y - x) }
                if let x = sa.macroF1, let y = sb.macroF1 { dF1.append(y - x) }
                if let x = sa.kappa, let y = sb.kappa { dK.append(y - x) }
            }
            func interval(_ full: Double?, _ fullB: Double?, _ d: [Double]) -> Interval {
                let diff = full.flatMap { x in fullB.map { $0 - x } }
                guard d.count >= 2 else { return Interval(difference: diff, low: nil, high: nil, significant: false) }
                let s = d.sorted()
                func q(_ p: Double) -> Double {
                    // Linear interpolation between order statistics (numpy's default percentile).
                    let h = p * Double(s.count - 1), lo = Int(h.rounded(.down)), hi = min(lo + 1, s.count - 1)
                    return s[lo] + (h - Double(lo)) * (s[hi] - s[lo])
                }
                let low = q(0.025), high = q(0.975)
                return Interval(difference: diff, low: low, high: high, significant: low > 0 || high < 0)
            }
            intervals = (interval(fullA.accuracy, fullB.accuracy, dAcc),
                         interval(fullA.macroF1, fullB.macroF1, dF1),
                         interval(fullA.kappa, fullB.kappa, dK))
        } else {
            notes.append("the runs cover different subjects: no bootstrap interval")
        }
        return PairComparison(a: a.name, b: b.name, notes: notes, folds: folds, wilcoxonMacroF1: wF1, wilcoxonKappa: wKappa,
                              bootstrapResamples: resamples, bootstrapSeed: seed,
                              accuracy: intervals?.0, macroF1: intervals?.1, kappa: intervals?.2)
    }
}

extension RunComparison {
    /// The comparison as markdown tables.
    public func markdown() -> String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.2f", 100 * $0) } ?? "–" }
        func k(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "–" }
        func p(_ w: WilcoxonResult?) -> String {
            guard let w, let pv = w.pValue else { return "–" }
            return String(format: "%.4f", pv) + (pv < alpha ? " *" : "") + " (n=\(w.pairs), \(w.method.rawValue))"
        }
        var out = "# sleepfold compare\n\nScores in percent, kappa as a fraction; differences are B − A; * marks p < \(alpha) or a 95 % interval that excludes 0.\n\n"
        out += "| run | config | folds | epochs | accuracy | macro-F1 | kappa | F1 W | F1 N1 | F1 N2 | F1 N3 | F1 REM |\n"
        out += "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
        for r in runs {
            out += "| \(r.name) | \(r.config) | \(r.folds) | \(r.epochs) | \(pct(r.accuracy)) | \(pct(r.macroF1)) | \(k(r.kappa)) | "
            out += r.f1.map { pct($0) }.joined(separator: " | ") + " |\n"
        }
        for pair in pairs {
            out += "\n## \(pair.b) − \(pair.a)\n\n"
            for note in pair.notes { out += "Note: \(note).\n\n" }
            if !pair.folds.isEmpty {
                out += "Wilcoxon signed-rank over folds: macro-F1 p = \(p(pair.wilcoxonMacroF1)); kappa p = \(p(pair.wilcoxonKappa)).\n\n"
            }
            func ci(_ name: String, _ i: Interval?, _ f: (Double?) -> String) -> String {
                guard let i else { return "" }
                return "| \(name) | \(f(i.difference)) | [\(f(i.low)), \(f(i.high))]\(i.significant ? " *" : "") |\n"
            }
            if pair.accuracy != nil {
                out += "Bootstrap over subjects (\(pair.bootstrapResamples) resamples, seed \(pair.bootstrapSeed)):\n\n"
                out += "| score | difference | 95 % interval |\n| --- | --- | --- |\n"
                out += ci("accuracy", pair.accuracy, pct) + ci("macro-F1", pair.macroF1, pct) + ci("kappa", pair.kappa, k)
                out += "\n"
            }
            if !pair.folds.isEmpty {
                out += "| fold | macro-F1 A | macro-F1 B | Δ | kappa A | kappa B | Δ |\n| --- | --- | --- | --- | --- | --- | --- |\n"
                for f in pair.folds {
                    let dF1 = f.macroF1A.flatMap { x in f.macroF1B.map { $0 - x } }
                    let dK = f.kappaA.flatMap { x in f.kappaB.map { $0 - x } }
                    out += "| \(f.fold) | \(pct(f.macroF1A)) | \(pct(f.macroF1B)) | \(pct(dF1)) | \(k(f.kappaA)) | \(k(f.kappaB)) | \(k(dK)) |\n"
                }
            }
        }
        return out
    }
}
