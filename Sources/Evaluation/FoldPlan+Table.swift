import Basics
extension FoldPlan {
    /// The plan as a plain-text table for people (`sleepfold plan` without `--json`):
    /// one row per fold with its test subjects, validation subjects and the number
    /// of training subjects, columns padded with spaces, ending with a newline.
    ///
    /// ```
    /// fold  test  validation  train
    ///    0  14    03 11          17
    /// ```
    public func table() -> String {
        let header = ["fold", "test", "validation", "train"]
        let rows = folds.map { fold in
            [String(fold.index),
             fold.test.joined(separator: " "),
             fold.validation.isEmpty ? "-" : fold.validation.joined(separator: " "),
             String(fold.train.count)]
        }
        var widths = header.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        // Numbers right-aligned, subject lists left-aligned.
        let rightAligned = [true, false, false, true]
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned[column] ? pad + cell : cell + pad
            }.joined(separator: "  ")
        }
        var text = line(header).trimmingTrailingSpaces() + "\n"
        for row in rows { text += line(row).trimmingTrailingSpaces() + "\n" }
        return text
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
