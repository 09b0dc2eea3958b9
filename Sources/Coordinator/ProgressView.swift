import Foundation
import Basics
import Recordings
import Cohorts
import Evaluation
import Reports
import Shared

/// The coordinator's live view: folds done / running / queued, each worker's
/// fold, epoch and recent loss, and the time left. Redrawn in place on a
/// terminal; on a pipe or file it writes nothing (the coordinator logs plain
/// lines instead).
public final class ProgressView {
    public struct Snapshot {
        public struct WorkerLine {
            public let id: String
            /// The fold it trains, within its run.
            public let fold: Int?
            public let progress: Sleepfold_Progress?
            /// The run's label when the coordinator serves several (e.g. "ex1/seed-0"), else empty.
            public let run: String
            /// The attempt it trains (1 for the first), and where it resumed: e.g.
            /// "after epoch 3" when it continues from a saved state, else nil.
            public let attempt: Int
            public let resumedFrom: String?

            public init(id: String, fold: Int?, progress: Sleepfold_Progress?, run: String = "", attempt: Int = 1,
                        resumedFrom: String? = nil) {
                self.id = id
                self.fold = fold
                self.progress = progress
                self.run = run
                self.attempt = attempt
                self.resumedFrom = resumedFrom
            }
        }
        public let folds, done, failed, running, queued: Int
        public let workers: [WorkerLine]

        public init(folds: Int, done: Int, failed: Int, running: Int, queued: Int, workers: [WorkerLine]) {
            self.folds = folds
            self.done = done
            self.failed = failed
            self.running = running
            self.queued = queued
            self.workers = workers
        }
    }

    public let isInteractive: Bool
    private let started = Date()
    private var linesDrawn = 0
    private var lastDraw = Date.distantPast

    public init(interactive: Bool = isatty(STDERR_FILENO) != 0) {
        isInteractive = interactive
    }

    /// Estimated seconds left: time per finished fold × folds left ÷ parallel workers.
    static func secondsLeft(elapsed: Double, snapshot s: Snapshot) -> Double? {
        guard s.done > 0 else { return nil }
        let perFold = elapsed * Double(max(1, s.workers.count)) / Double(s.done)
        return perFold * Double(s.folds - s.done - s.failed) / Double(max(1, s.workers.count))
    }

    public func render(_ s: Snapshot, elapsed: Double) -> [String] {
        var lines = ["folds: \(s.done)/\(s.folds) done, \(s.running) running, \(s.queued) queued" +
                     (s.failed > 0 ? ", \(s.failed) failed" : "") +
                     " · elapsed \(Self.clock(elapsed))" +
                     (Self.secondsLeft(elapsed: elapsed, snapshot: s).map { " · about \(Self.clock($0)) left" } ?? "")]
        for w in s.workers {
            var line = "  \(w.id.padding(toLength: 24, withPad: " ", startingAt: 0)) "
            if let fold = w.fold {
                line += w.run.isEmpty ? "fold \(fold)" : "\(w.run) fold \(fold)"
                if w.attempt > 1 { line += " (attempt \(w.attempt)" + (w.resumedFrom.map { ", resumed \($0))" } ?? ")") }
                if let p = w.progress, p.fold == fold {
                    line += String(format: "  epoch %d/%d  loss %.4f  val F1 %.3f", p.epoch, p.epochs, p.trainLoss, p.validationMacroF1)
                } else {
                    line += "  starting"
                }
            } else {
                line += "idle"
            }
            lines.append(line)
        }
        return lines
    }

    /// Prints a log line above the live view (the view redraws below it).
    public func log(_ line: String) {
        var out = ""
        if isInteractive && linesDrawn > 0 {
            out += "\u{1B}[\(linesDrawn)A\u{1B}[J"
            linesDrawn = 0
            lastDraw = .distantPast
        }
        out += line + "\n"
        FileHandle.standardError.write(Data(out.utf8))
    }

    /// Redraws the view, at most twice a second; `s` is only made when it is drawn.
    func update(_ s: @autoclosure () -> Snapshot) {
        guard isInteractive, Date().timeIntervalSince(lastDraw) > 0.5 else { return }
        draw(s())
    }

    func finish(_ s: Snapshot) {
        guard isInteractive else { return }
        draw(s)
    }

    private func draw(_ s: Snapshot) {
        lastDraw = Date()
        var out = ""
        if linesDrawn > 0 { out += "\u{1B}[\(linesDrawn)A" }
        let lines = render(s, elapsed: Date().timeIntervalSince(started))
        for line in lines { out += "\u{1B}[2K" + line + "\n" }
        // Clear lines left over from a taller previous frame.
        if linesDrawn > lines.count { for _ in lines.count..<linesDrawn { out += "\u{1B}[2K\n" } }
        linesDrawn = max(lines.count, linesDrawn)
        FileHandle.standardError.write(Data(out.utf8))
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
