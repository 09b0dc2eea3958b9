import Foundation
import Basics
import Evaluation

extension StudyReport {
    /// study.md: the study's numbers as markdown — the arms, the seed-experiment
    /// table (pooled scores per selection, mean ± sd over seeds), each arm against
    /// the baseline, the leakage of test-fold selection, and utilisation.
    ///
    /// Accuracy, macro-F1 and F1 in percent with one decimal, kappa with three;
    /// differences in percentage points; undefined values as "–".
    public func markdown() -> String {
        var md = "# \(escape(title))\n\n"
        md += "Study \(escape(name)), written by sleepfold \(escape(sleepfoldVersion)) (study.json schema \(schemaVersion)); "
        md += "\(subjects) subjects in \(folds) subject-wise folds, the same for every run. "
        md += "Scores in percent, kappa as a fraction, differences in percentage points; – marks an undefined value.\n\n"
        for arm in arms {
            md += "- **\(escape(arm.name))**\(arm.name == baseline ? " (baseline)" : ""): \(escape(Self.describe(arm)))\n"
        }
        md += "\n"

        md += seedTable()
        md += comparisonTables()
        md += leakageTable()

        md += "## Utilisation\n\n"
        md += table(["workers", "makespan", "LPT lower bound", "makespan / LPT bound"],
                    [[String(workers), Self.duration(makespanSeconds), Self.duration(lptLowerBoundSeconds),
                      makespanOverLPT.map { String(format: "%.2f", $0) } ?? "–"]])
        md += "The LPT lower bound is max(longest task, total task time / workers): no schedule of these tasks "
        md += "on these workers can finish sooner.\n"
        return md
    }

    /// Writes study.md to `url` atomically.
    public func writeMarkdown(to url: URL) throws(SleepfoldError) {
        try AtomicFile.write(Data(markdown().utf8), to: url)
    }

    // MARK: Sections

    private func seedTable() -> String {
        var md = "## Seed experiment\n\n"
        md += "Each seed's run pooled over its folds; mean ± sample sd over seeds. Selections:\n\n"
        for selection in presentSelections { md += "- `\(selection.rawValue)`: \(Self.describe(selection))\n" }
        md += "\n"
        var rows: [[String]] = []
        for arm in arms {
            var first = true
            for selection in Selection.allCases {
                guard let scores = arm.pooled[selection] else { continue }
                // The arm's own columns only on its first row, so the table reads as one block per arm.
                var row = first ? [escape(arm.name), escape(arm.model), String(arm.batchSize), Self.parameters(arm.parameters),
                                   Self.flops(arm.flopsPerSample)] : ["", "", "", "", ""]
                first = false
                row += [selection.rawValue, Self.format(scores.accuracy, .accuracy), Self.format(scores.macroF1, .macroF1),
                        Self.format(scores.kappa, .kappa)]
                row += scores.perClassF1.map { Self.format($0, .macroF1) }
                rows.append(row)
            }
            if first { rows.append([escape(arm.name), escape(arm.model), String(arm.batchSize), Self.parameters(arm.parameters),
                                    Self.flops(arm.flopsPerSample), "(no predictions)"] + Array(repeating: "", count: 8)) }
        }
        md += table(["arm", "model", "batch", "parameters", "FLOPs/sample", "selection", "accuracy", "macro-F1", "kappa"]
                        + Stage.allCases.map { "F1 \($0.name)" }, rows)
        return md
    }

    private func comparisonTables() -> String {
        var md = "## Against the baseline (\(escape(baseline)))\n\n"
        guard !comparisons.isEmpty else {
            return md + "No comparison: \(arms.count < 2 ? "the study has one arm" : "no other arm shares a selection with the baseline").\n\n"
        }
        md += "Per-fold differences arm − baseline over (fold, seed) pairs, each fold scored on its test predictions; "
        md += "Wilcoxon signed-rank p (two-sided), Holm-adjusted across the arms for each selection and score; and the "
        md += "pooled difference (mean over seeds) with a 95 % bootstrap interval over subjects.\n\n"
        for selection in Self.comparedSelections {
            var rows: [[String]] = []
            for score in Self.comparedScores {
                for c in comparisons(selection, score) {
                    let b = c.bootstrap
                    rows.append([escape(c.arm), Self.describe(score), String(c.pairs), Self.signed(c.meanDifference, score),
                                 Self.signed(c.medianDifference, score), c.wilcoxon.p == nil ? "–" : String(format: "%g", c.wilcoxon.statistic),
                                 Self.pValue(c.wilcoxon.p), Self.pValue(c.holmP), Self.signed(b.estimate, score),
                                 "[\(Self.signed(b.low, score)), \(Self.signed(b.high, score))]"])
                }
            }
            guard !rows.isEmpty else { continue }
            md += "### Selection \(selection.rawValue)\n\n"
            md += table(["arm", "score", "pairs", "mean Δ", "median Δ", "W", "p", "Holm p", "pooled Δ", "95 % interval"], rows)
        }
        return md
    }

    private func leakageTable() -> String {
        var md = "## Leakage of test-fold selection\n\n"
        guard !leakage.isEmpty else {
            return md + "No arm has both the validation selection and test-oracle or paper predictions.\n\n"
        }
        md += "Pooled scores of a leaky selection minus the validation selection's, mean ± sd over seeds: "
        md += "`test-oracle − validation` is the selection leakage alone (the same trained models), "
        md += "`paper − validation` adds training on the subjects validation holds out.\n\n"
        md += table(["arm", "difference", "accuracy", "macro-F1", "kappa"], leakage.map { l in
            [escape(l.arm), "\(l.selection.rawValue) − \(l.reference.rawValue)", Self.signed(l.accuracy, .accuracy),
             Self.signed(l.macroF1, .macroF1), Self.signed(l.kappa, .kappa)]
        })
        return md
    }

    /// A markdown table with a header row; ends with a blank line.
    private func table(_ header: [String], _ rows: [[String]]) -> String {
        var text = "| " + header.joined(separator: " | ") + " |\n"
        text += "|" + header.map { _ in " --- |" }.joined() + "\n"
        for row in rows { text += "| " + row.joined(separator: " | ") + " |\n" }
        return text + "\n"
    }

    /// Keeps user text (names, ids) from breaking a table row.
    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
