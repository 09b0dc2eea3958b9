import Foundation
import Basics
import Evaluation

extension ErrorAnalysis {
    /// The error analysis as a markdown section: transitions against stable epochs,
    /// the most frequent confusions with their count in each fifth of the night,
    /// and the worst nights with their scores. report.md shows it for the run; a
    /// document comparing runs can show one per run with its own `title`.
    ///
    /// - Parameters:
    ///   - title: the section's heading (its `|` and line breaks made harmless).
    ///   - headingLevel: 2 = `##`, clamped to 1…5; subheadings are one level lower.
    /// - Returns: the section, ending with a blank line.
    public func markdownSection(title: String = "Error analysis", headingLevel: Int = 2) -> String {
        let level = min(max(headingLevel, 1), 5)
        let heading = String(repeating: "#", count: level), sub = String(repeating: "#", count: level + 1)
        var md = "\(heading) \(M.escape(title))\n\n"
        var confusion = transitions.confusion
        confusion.add(stable.confusion)
        let total = confusion.total
        guard total > 0 else { return md + "No predictions yet.\n\n" }

        md += "An epoch is at a transition when the expert's stage just before or just after it is another one "
        md += "(the first and last epochs of a night have one neighbour; an epoch without a prediction is none); "
        md += "all other epochs are stable. "
        if let share = transitionErrorShare {
            md += "\(M.percent(share)) % of the \(errors) errors fall at a transition, where "
            md += "\(M.percent(Double(transitions.epochs) / Double(total))) % of the epochs are.\n\n"
        } else {
            md += "No errors.\n\n"
        }
        md += M.table(["", "epochs", "share of epochs", "accuracy", "macro-F1", "kappa", "errors", "share of errors"],
                      [("at a transition", transitions), ("stable", stable)].map { name, m in
                          let wrong = m.epochs - m.confusion.correct
                          return [name, String(m.epochs), M.percent(Double(m.epochs) / Double(total)), M.percent(m.accuracy),
                                  M.percent(m.macroF1), M.fraction(m.kappa), String(wrong),
                                  errors == 0 ? "–" : M.percent(Double(wrong) / Double(errors))]
                      })

        md += "\(sub) Most frequent confusions\n\n"
        if topConfusions.isEmpty {
            md += "No errors.\n\n"
        } else {
            md += "Errors in each fifth of the night (epoch index over the night's length), then the mean time of the "
            md += "errors in hours since the recording started.\n\n"
            md += M.table(["expert", "predicted", "epochs", "share of errors",
                           "1st fifth", "2nd fifth", "3rd fifth", "4th fifth", "last fifth", "mean time (h)"],
                          topConfusions.map { c in
                              [c.truth.name, c.predicted.name, String(c.count), M.percent(c.shareOfErrors)]
                                  + c.perFifth.map(String.init) + [String(format: "%.1f", c.meanHours)]
                          })
        }

        md += "\(sub) Worst nights\n\n"
        md += M.table(["recording", "subject", "fold", "epochs", "accuracy", "macro-F1", "kappa"],
                      worstNights.map { night in
                          [M.escape(night.recording), night.subject.map(M.escape) ?? "–", String(night.fold),
                           String(night.metrics.epochs), M.percent(night.metrics.accuracy),
                           M.percent(night.metrics.macroF1), M.fraction(night.metrics.kappa)]
                      })
        return md
    }

    private typealias M = MarkdownText
}
