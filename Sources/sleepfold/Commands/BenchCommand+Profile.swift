import Dispatch
import Foundation
import SleepNet

/// `sleepfold bench --profile`: per-layer time of training steps and evaluation forwards.
extension BenchCommand {
    /// One row of the profile table: a layer (scope) in one pass, per step.
    struct ProfileRow: Encodable {
        var layer: String
        var pass: String
        /// Self time (nested scopes excluded) per step or forward, in ms.
        var ms: Double
        /// `ms` as a share of the measured training step (or, for the
        /// evaluation pass, of the measured evaluation forward), in percent.
        var percent: Double
        var gemmMs: Double
        /// GEMM FLOPs of the row divided by its GEMM time (0 without GEMM).
        var gemmGFLOPs: Double
        var nonGemmMs: Double
        /// Time with nested scopes included, per step, in ms.
        var totalMs: Double
        var callsPerStep: Double

        enum CodingKeys: String, CodingKey {
            case layer, pass, ms = "ms_per_step", percent, gemmMs = "gemm_ms", gemmGFLOPs = "gemm_gflops_per_s"
            case nonGemmMs = "non_gemm_ms", totalMs = "total_ms", callsPerStep = "calls_per_step"
        }
    }

    /// A pass's sums over its rows, per step.
    struct PassTotal: Encodable {
        var pass: String
        var ms: Double
        var percent: Double
        var gemmMs: Double
        var nonGemmMs: Double

        enum CodingKeys: String, CodingKey {
            case pass, ms = "ms_per_step", percent, gemmMs = "gemm_ms", nonGemmMs = "non_gemm_ms"
        }
    }

    /// What `--profile` adds to the output.
    struct Profile: Encodable {
        var steps: Int
        /// Wall time of one training step (median of the profiled steps) and of
        /// one evaluation forward at the training batch, in ms.
        var trainStepMs: Double
        var evalForwardMs: Double
        /// Sum of all training rows' self times per step: what the scopes cover of `trainStepMs`.
        var profiledTrainMs: Double
        var passes: [PassTotal]
        /// Sorted by `ms`, largest first.
        var rows: [ProfileRow]

        enum CodingKeys: String, CodingKey {
            case steps, trainStepMs = "train_step_ms", evalForwardMs = "eval_forward_ms"
            case profiledTrainMs = "profiled_train_ms", passes, rows
        }
    }

    /// Runs `steps` profiled training steps, then `steps` profiled evaluation
    /// forwards (the model is warm: `run` has measured it already).
    static func profile(steps: Int, trainStep: () throws -> Void, evalForward: () throws -> Void) throws -> Profile {
        let profiler = Profiler()
        var stepTimes: [Double] = [], forwardTimes: [Double] = []
        try profiler.run {
            for _ in 0..<steps {
                let start = DispatchTime.now().uptimeNanoseconds
                try trainStep()
                stepTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            for _ in 0..<steps {
                let start = DispatchTime.now().uptimeNanoseconds
                try evalForward()
                forwardTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
        }
        // Means, not medians, so that the rows (sums over all steps) add up to the step.
        let stepMs = stepTimes.reduce(0, +) / Double(steps)
        let forwardMs = forwardTimes.reduce(0, +) / Double(steps)
        return summarize(profiler.results, steps: steps, trainStepMs: stepMs, evalForwardMs: forwardMs)
    }

    /// The table of `entries` accumulated over `steps` steps and as many evaluation forwards.
    static func summarize(_ entries: [Profiler.Entry], steps: Int, trainStepMs: Double, evalForwardMs: Double) -> Profile {
        let n = Double(steps)
        func share(_ ms: Double, _ pass: Profiler.Pass) -> Double {
            let whole = pass == .evaluation ? evalForwardMs : trainStepMs
            return whole > 0 ? 100 * ms / whole : 0
        }
        let rows = entries.map { e -> ProfileRow in
            let ms = Double(e.selfNanos) / 1e6 / n
            let gemmMs = Double(e.gemmSelfNanos) / 1e6 / n
            return ProfileRow(
                layer: e.name, pass: e.pass.rawValue, ms: ms, percent: share(ms, e.pass), gemmMs: gemmMs,
                gemmGFLOPs: e.gemmSelfNanos > 0 ? Double(e.gemmSelfFLOPs) / Double(e.gemmSelfNanos) : 0,
                nonGemmMs: max(ms - gemmMs, 0), totalMs: Double(e.totalNanos) / 1e6 / n,
                callsPerStep: Double(e.calls) / n)
        }.sorted { $0.ms > $1.ms }
        let passes = Profiler.Pass.allCases.compactMap { pass -> PassTotal? in
            let mine = rows.filter { $0.pass == pass.rawValue }
            guard !mine.isEmpty else { return nil }
            let ms = mine.reduce(0) { $0 + $1.ms }, gemm = mine.reduce(0) { $0 + $1.gemmMs }
            return PassTotal(pass: pass.rawValue, ms: ms, percent: share(ms, pass), gemmMs: gemm,
                             nonGemmMs: mine.reduce(0) { $0 + $1.nonGemmMs })
        }
        let trained = rows.filter { $0.pass != Profiler.Pass.evaluation.rawValue }.reduce(0) { $0 + $1.ms }
        return Profile(steps: steps, trainStepMs: trainStepMs, evalForwardMs: evalForwardMs,
                       profiledTrainMs: trained, passes: passes, rows: rows)
    }

    /// The profile as text: per-pass totals, then every row.
    static func printProfile(_ p: Profile, batch: Int, threads: Int) {
        print("")
        print(String(format: "profile: %d training steps (%.1f ms each, %.1f ms in profiled scopes) and %d evaluation forwards (%.1f ms each) at batch %d",
                     p.steps, p.trainStepMs, p.profiledTrainMs, p.steps, p.evalForwardMs, batch))
        print("self time (nested scopes excluded); % of the training step (evaluation: of the evaluation forward); GEMM time (and at 2+ threads evaluation times) summed over threads")
        if threads > 1 {
            // CPU time of several lanes against one wall clock: the GEMM column can exceed ms/step.
            print("at \(threads) threads GEMM ms is CPU time and other ms is understated (floored at 0): profile at --threads 1 for the split")
        }
        // Swift pads the text columns: String(format:)'s %@ width is not honoured on Linux.
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        func right(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
        }
        let header = pad("layer", 42) + " " + pad("pass", 10) + right("ms/step", 10) + right("%", 7)
            + right("GEMM ms", 10) + right("GFLOP/s", 9) + right("other ms", 10)
        func line(_ layer: String, _ pass: String, _ ms: Double, _ percent: Double, _ gemm: Double, _ gflops: Double?,
                  _ other: Double) -> String {
            pad(layer, 42) + " " + pad(pass, 10) + right(String(format: "%.2f", ms), 10)
                + right(String(format: "%.1f", percent), 7) + right(String(format: "%.2f", gemm), 10)
                + right(gflops.map { String(format: "%.1f", $0) } ?? "-", 9) + right(String(format: "%.2f", other), 10)
        }
        print(header)
        for t in p.passes {
            print(line("(all)", t.pass, t.ms, t.percent, t.gemmMs, nil, t.nonGemmMs))
        }
        print(header)
        for r in p.rows {
            print(line(r.layer, r.pass, r.ms, r.percent, r.gemmMs, r.gemmMs > 0 ? r.gemmGFLOPs : nil, r.nonGemmMs))
        }
    }
}
