import Foundation
import Basics
import Recordings
import Evaluation

extension Report {
    /// report.md: the report's numbers as plain markdown tables — data, protocol,
    /// pooled scores with per-class scores and the confusion matrix, mean ± sd over
    /// folds, one row per fold, one row per subject, and the config.
    ///
    /// Accuracy, macro-F1, precision, recall and F1 are in percent with one
    /// decimal, kappa with three decimals; undefined values are shown as "–".
    public func markdown() -> String {
        var md = "# \(escape(title))\n\n"
        md += "Written by sleepfold \(escape(sleepfoldVersion)) at \(createdAt) (report.json schema \(schemaVersion)). "
        md += "Scores in percent, kappa as a fraction; – marks an undefined value.\n\n"

        md += "## Data\n\n"
        md += table(["directory", "recordings", "subjects"] + Stage.allCases.map { "\($0.name) epochs" },
                    [[escape(data.directory), String(data.recordings), String(data.subjects)]
                        + data.epochsPerClass.map(String.init)])

        md += "## Protocol\n\n"
        md += table(["folds", "fold plan", "seed", "selection"],
                    [[String(evaluationProtocol.folds), evaluationProtocol.foldPlan.rawValue,
                      String(evaluationProtocol.seed), evaluationProtocol.selection.rawValue]])

        md += "## Pooled over all folds\n\n"
        md += table(["epochs", "accuracy", "macro-F1", "kappa"],
                    [[String(pooled.epochs), percent(pooled.accuracy), percent(pooled.macroF1), fraction(pooled.kappa)]])
        md += "### Per class\n\n"
        md += table(["stage", "precision", "recall", "F1", "support"],
                    Stage.allCases.map { stage in
                        let s = pooled[stage]
                        return [stage.name, percent(s.precision), percent(s.recall), percent(s.f1), String(s.support)]
                    })
        md += "### Confusion matrix (rows true, columns predicted)\n\n"
        md += table(["true \\ predicted"] + Stage.allCases.map(\.name),
                    Stage.allCases.map { truth in
                        [truth.name] + Stage.allCases.map { String(pooled.confusion[truth, $0]) }
                    })

        md += "## Mean ± sd over folds\n\n"
        md += "Sample standard deviation (ddof = 1); each score over the folds where it is defined.\n\n"
        var statistics: [[String]] = [
            ["accuracy", percent(overFolds.accuracy.mean), percent(overFolds.accuracy.sd), String(overFolds.accuracy.n)],
            ["macro-F1", percent(overFolds.macroF1.mean), percent(overFolds.macroF1.sd), String(overFolds.macroF1.n)],
            ["kappa", fraction(overFolds.kappa.mean), fraction(overFolds.kappa.sd), String(overFolds.kappa.n)],
        ]
        for stage in Stage.allCases {
            let s = overFolds.f1PerClass[Int(stage.rawValue)]
            statistics.append(["F1 \(stage.name)", percent(s.mean), percent(s.sd), String(s.n)])
        }
        md += table(["score", "mean", "sd", "folds"], statistics)

        md += "## Folds\n\n"
        md += table(["fold", "test", "validation", "train", "epochs", "accuracy", "macro-F1", "kappa"]
                        + Stage.allCases.map { "F1 \($0.name)" }
                        + ["chosen epoch", "epochs trained", "wall s", "worker"],
                    folds.map(foldRow))

        md += "## Subjects\n\n"
        md += table(["subject", "fold", "recordings", "epochs", "accuracy", "macro-F1", "kappa"],
                    subjects.map { s in
                        [escape(s.subject), String(s.fold), escape(s.recordings.joined(separator: " ")),
                         String(s.metrics.epochs), percent(s.metrics.accuracy), percent(s.metrics.macroF1),
                         fraction(s.metrics.kappa)]
                    })

        md += "## Config\n\n"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let config = (try? encoder.encode(self.config)).map { String(decoding: $0, as: UTF8.self) } ?? "(not encodable)"
        md += "```json\n\(config)\n```\n"
        return md
    }

    /// One row of the folds table.
    private func foldRow(_ entry: FoldReport) -> [String] {
        let m = entry.metrics
        var row: [String] = [String(entry.fold.index)]
        row.append(escape(entry.fold.test.joined(separator: " ")))
        row.append(entry.fold.validation.isEmpty ? "–" : escape(entry.fold.validation.joined(separator: " ")))
        row.append(String(entry.fold.train.count))
        row += [String(m.epochs), percent(m.accuracy), percent(m.macroF1), fraction(m.kappa)]
        for stage in Stage.allCases { row.append(m.epochs == 0 ? "–" : percent(m[stage].f1)) }
        row.append(entry.run.chosenEpoch.map { String($0) } ?? "–")
        row.append(entry.run.epochsTrained.map { String($0) } ?? "–")
        row.append(entry.run.wallSeconds.map { String(format: "%.1f", $0) } ?? "–")
        row.append(entry.run.worker.map { escape($0) } ?? "–")
        return row
    }

    /// A markdown table with a header row; ends with a blank line.
    private func table(_ header: [String], _ rows: [[String]]) -> String {
        var text = "| " + header.joined(separator: " | ") + " |\n"
        text += "|" + header.map { _ in " --- |" }.joined() + "\n"
        for row in rows { text += "| " + row.joined(separator: " | ") + " |\n" }
        return text + "\n"
    }

    private func percent(_ value: Double?) -> String {
        value.map { String(format: "%.1f", $0 * 100) } ?? "–"
    }

    private func fraction(_ value: Double?) -> String {
        value.map { String(format: "%.3f", $0) } ?? "–"
    }

    /// Keeps user text (directories, ids) from breaking a table row.
    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    /// Writes report.md to `url` atomically.
    public func writeMarkdown(to url: URL) throws(SleepfoldError) {
        try AtomicFile.write(Data(markdown().utf8), to: url)
    }
}
