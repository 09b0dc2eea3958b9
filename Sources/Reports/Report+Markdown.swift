import Foundation
import Basics
import Recordings
import Evaluation

extension Report {
    private typealias M = MarkdownText

    /// report.md: the report's numbers as plain markdown tables — data, protocol,
    /// pooled scores with per-class scores and the confusion matrix, mean ± sd over
    /// folds, one row per fold, one row per subject, and the config.
    ///
    /// Accuracy, macro-F1, precision, recall and F1 are in percent with one
    /// decimal, kappa with three decimals; undefined values are shown as "–".
    public func markdown() -> String {
        var md = "# \(M.escape(title))\n\n"
        md += "Written by sleepfold \(M.escape(sleepfoldVersion)) at \(createdAt) (report.json schema \(schemaVersion)). "
        md += "Scores in percent, kappa as a fraction; – marks an undefined value.\n\n"

        md += "## Data\n\n"
        md += M.table(["directory", "recordings", "subjects"] + Stage.allCases.map { "\($0.name) epochs" },
                    [[M.escape(data.directory), String(data.recordings), String(data.subjects)]
                        + data.epochsPerClass.map(String.init)])

        md += "## Protocol\n\n"
        md += M.table(["folds", "fold plan", "seed", "selection"],
                    [[String(evaluationProtocol.folds), evaluationProtocol.foldPlan.rawValue,
                      String(evaluationProtocol.seed), evaluationProtocol.selection.rawValue]])

        md += "## Pooled over all folds\n\n"
        md += M.table(["epochs", "accuracy", "macro-F1", "kappa"],
                    [[String(pooled.epochs), M.percent(pooled.accuracy), M.percent(pooled.macroF1), M.fraction(pooled.kappa)]])
        md += "### Per class\n\n"
        md += M.table(["stage", "precision", "recall", "F1", "support"],
                    Stage.allCases.map { stage in
                        let s = pooled[stage]
                        return [stage.name, M.percent(s.precision), M.percent(s.recall), M.percent(s.f1), String(s.support)]
                    })
        md += "### Confusion matrix (rows true, columns predicted)\n\n"
        md += M.table(["true \\ predicted"] + Stage.allCases.map(\.name),
                    Stage.allCases.map { truth in
                        [truth.name] + Stage.allCases.map { String(pooled.confusion[truth, $0]) }
                    })

        md += markdownSelections()

        md += "## Mean ± sd over folds\n\n"
        md += "Sample standard deviation (ddof = 1); each score over the folds where it is defined.\n\n"
        var statistics: [[String]] = [
            ["accuracy", M.percent(overFolds.accuracy.mean), M.percent(overFolds.accuracy.sd), String(overFolds.accuracy.n)],
            ["macro-F1", M.percent(overFolds.macroF1.mean), M.percent(overFolds.macroF1.sd), String(overFolds.macroF1.n)],
            ["kappa", M.fraction(overFolds.kappa.mean), M.fraction(overFolds.kappa.sd), String(overFolds.kappa.n)],
        ]
        for stage in Stage.allCases {
            let s = overFolds.f1PerClass[Int(stage.rawValue)]
            statistics.append(["F1 \(stage.name)", M.percent(s.mean), M.percent(s.sd), String(s.n)])
        }
        md += M.table(["score", "mean", "sd", "folds"], statistics)

        if let errorAnalysis {
            md += errorAnalysis.markdownSection()
        } else {
            md += "## Error analysis\n\nNot in this report (report.json schema \(schemaVersion)); `sleepfold report` adds it.\n\n"
        }

        md += "## Folds\n\n"
        md += M.table(["fold", "test", "validation", "train", "epochs", "accuracy", "macro-F1", "kappa"]
                        + Stage.allCases.map { "F1 \($0.name)" }
                        + ["chosen epoch", "epochs trained", "attempts", "wall s", "worker"],
                    folds.map(foldRow))

        md += "## Subjects\n\n"
        md += M.table(["subject", "fold", "recordings", "epochs", "accuracy", "macro-F1", "kappa"],
                    subjects.map { s in
                        [M.escape(s.subject), String(s.fold), M.escape(s.recordings.joined(separator: " ")),
                         String(s.metrics.epochs), M.percent(s.metrics.accuracy), M.percent(s.metrics.macroF1),
                         M.fraction(s.metrics.kappa)]
                    })

        md += "## Config\n\n"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let config = (try? encoder.encode(self.config)).map { String(decoding: $0, as: UTF8.self) } ?? "(not encodable)"
        md += "```json\n\(config)\n```\n"
        return md
    }

    /// The same models' pooled scores under the other selections the report has, with
    /// the differences to its own; nothing when it has none.
    private func markdownSelections() -> String {
        let own = evaluationProtocol.selection
        let others = SelectionMode.allCases.filter { $0 != own }.compactMap { mode in selections[mode.rawValue].map { (mode, $0) } }
        guard !others.isEmpty else { return "" }
        var md = "## Same model, other selections\n\n"
        md += "The same trained models with the checkpoint chosen another way, scored pooled on the same test epochs; "
        md += "Δ is the difference to this report's \(own.rawValue) selection in percentage points (kappa as a fraction).\n\n"
        var rows = [["\(own.rawValue) (this report)", String(pooled.epochs), M.percent(pooled.accuracy), "",
                     M.percent(pooled.macroF1), "", M.fraction(pooled.kappa), ""]]
        for (mode, m) in others {
            rows.append([mode.rawValue + (mode.leaksTestData ? " (leaks test data)" : ""), String(m.epochs),
                         M.percent(m.accuracy), Self.difference(m.accuracy, pooled.accuracy, scale: 100, digits: 1),
                         M.percent(m.macroF1), Self.difference(m.macroF1, pooled.macroF1, scale: 100, digits: 1),
                         M.fraction(m.kappa), Self.difference(m.kappa, pooled.kappa, scale: 1, digits: 3)])
        }
        md += M.table(["selection", "epochs", "accuracy", "Δ", "macro-F1", "Δ", "kappa", "Δ"], rows)
        if others.contains(where: { $0.1.epochs != pooled.epochs }) {
            md += "Not the same test epochs: a selection scored on another number of epochs than this report "
            md += "(a fold missing from one of them) differs for that reason too.\n\n"
        }
        return md
    }

    /// One row of the folds table.
    private func foldRow(_ entry: FoldReport) -> [String] {
        let m = entry.metrics
        var row: [String] = [String(entry.fold.index)]
        row.append(M.escape(entry.fold.test.joined(separator: " ")))
        row.append(entry.fold.validation.isEmpty ? "–" : M.escape(entry.fold.validation.joined(separator: " ")))
        row.append(String(entry.fold.train.count))
        row += [String(m.epochs), M.percent(m.accuracy), M.percent(m.macroF1), M.fraction(m.kappa)]
        for stage in Stage.allCases { row.append(m.epochs == 0 ? "–" : M.percent(m[stage].f1)) }
        row.append(entry.run.chosenEpoch.map { String($0) } ?? "–")
        row.append(entry.run.epochsTrained.map(FoldRun.epochs) ?? "–")
        row.append(entry.run.attempts.map { String($0) } ?? "–")
        row.append(entry.run.wallSeconds.map { String(format: "%.1f", $0) } ?? "–")
        row.append(entry.run.worker.map { M.escape($0) } ?? "–")
        return row
    }

    /// Writes report.md to `url` atomically.
    public func writeMarkdown(to url: URL) throws(SleepfoldError) {
        try AtomicFile.write(Data(markdown().utf8), to: url)
    }
}
