import Foundation
import Basics

/// Writes and strictly reads predictions.csv, the per-epoch record a run's report
/// can always be rebuilt from (with the fold plan and the recording → subject map).
///
/// Format: UTF-8, LF line endings, no quoting; first line exactly
/// `recording,epoch,fold,true,predicted,p_w,p_n1,p_n2,p_n3,p_rem`, then one line per
/// test epoch. Labels are 0…4 (W, N1, N2, N3, REM); probabilities are printed with
/// the shortest decimal that reads back to the same `Float` (Swift's `description`),
/// so a write-read round trip is exact.
public enum PredictionsCSV {
    /// The column names, in order.
    public static let columns = ["recording", "epoch", "fold", "true", "predicted",
                                 "p_w", "p_n1", "p_n2", "p_n3", "p_rem"]

    /// The header line (without its newline).
    public static let header = columns.joined(separator: ",")

    /// The CSV text of `predictions`, sorted by (fold, recording, epoch) so that the
    /// file does not depend on the order in which folds finished. Ends with a newline.
    public static func encode(_ predictions: [Prediction]) -> String {
        let sorted = predictions.sorted {
            ($0.fold, $0.recording, $0.epoch) < ($1.fold, $1.recording, $1.epoch)
        }
        var text = header + "\n"
        text.reserveCapacity(64 * (predictions.count + 1))
        for p in sorted {
            text += "\(p.recording),\(p.epoch),\(p.fold),\(p.truth.rawValue),\(p.predicted.rawValue)"
            for probability in p.probabilities { text += ",\(probability.description)" }
            text += "\n"
        }
        return text
    }

    /// Writes `predictions` (see `encode`) to `url` atomically.
    public static func write(_ predictions: [Prediction], to url: URL) throws(SleepfoldError) {
        try AtomicFile.write(Data(encode(predictions).utf8), to: url)
    }

    /// Reads predictions.csv from `url` (see `decode`).
    public static func read(from url: URL) throws(SleepfoldError) -> [Prediction] {
        let data = try fileAccess(url.path, cannot: "read the predictions") { try Data(contentsOf: url) }
        return try decode(data, file: url.path)
    }

    /// Parses predictions.csv; `file` names it in error messages.
    ///
    /// Strict: the header must be exactly `header`; every line must have 10 fields;
    /// `epoch` and `fold` plain decimal digits; `true` and `predicted` one digit 0…4;
    /// probabilities decimal numbers that are finite `Float`s; no empty lines except
    /// the end of the file; LF line endings only.
    ///
    /// - Throws: `SleepfoldError` naming `file`, with the field "line N" or "line N,
    ///   column C" (1-based lines): `.malformedHeader` for the first line, `.malformedLine`
    ///   for a line of the wrong form, `.invalidValue` for a field out of range.
    public static func decode(_ data: Data, file: String = "predictions.csv") throws(SleepfoldError) -> [Prediction] {
        let bytes = [UInt8](data)
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        // A final newline leaves one empty piece behind.
        if lines.count > 1, lines.last?.isEmpty == true { lines.removeLast() }

        func fail(_ code: SleepfoldError.Code, line: Int, column: String? = nil, _ what: String) -> SleepfoldError {
            SleepfoldError(code, file: file, field: column.map { "line \(line), column \($0)" } ?? "line \(line)", what)
        }

        guard let first = lines.first, !first.isEmpty else {
            throw fail(.malformedHeader, line: 1, "found an empty file, expected the header \(header)")
        }
        let headerLine = String(decoding: first, as: UTF8.self)
        if headerLine != header {
            let found = headerLine.hasSuffix("\r") ? "a CR LF line ending" : "\"\(headerLine)\""
            throw fail(.malformedHeader, line: 1, "found \(found), expected the header \(header) and LF line endings")
        }

        var predictions: [Prediction] = []
        predictions.reserveCapacity(lines.count - 1)
        for (offset, lineBytes) in lines.dropFirst().enumerated() {
            let lineNumber = offset + 2
            if lineBytes.isEmpty {
                throw fail(.malformedLine, line: lineNumber, "found an empty line, expected \(columns.count) comma-separated fields")
            }
            if lineBytes.last == UInt8(ascii: "\r") {
                throw fail(.malformedLine, line: lineNumber, "found a CR LF line ending, expected LF")
            }
            let fields = lineBytes.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
                .map { String(decoding: $0, as: UTF8.self) }
            if fields.count != columns.count {
                throw fail(.malformedLine, line: lineNumber, "found \(fields.count) fields, expected \(columns.count) (\(header))")
            }

            func integer(_ index: Int) throws(SleepfoldError) -> Int {
                let field = fields[index]
                guard !field.isEmpty, field.utf8.count <= 18, field.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      let value = Int(field) else {
                    throw fail(.invalidValue, line: lineNumber, column: columns[index], "found \"\(field)\", expected a non-negative integer")
                }
                return value
            }
            func stage(_ index: Int) throws(SleepfoldError) -> Stage {
                let field = fields[index]
                guard field.utf8.count == 1, let value = Int32(field), let stage = Stage(rawValue: value) else {
                    throw fail(.invalidValue, line: lineNumber, column: columns[index], "found \"\(field)\", expected a stage label 0…4 (W, N1, N2, N3, REM)")
                }
                return stage
            }

            let epoch = try integer(1)
            let fold = try integer(2)
            let truth = try stage(3)
            let predicted = try stage(4)
            var probabilities: [Float] = []
            probabilities.reserveCapacity(Stage.count)
            for index in 5..<columns.count {
                guard let value = Float(fields[index]), value.isFinite else {
                    throw fail(.invalidValue, line: lineNumber, column: columns[index], "found \"\(fields[index])\", expected a finite decimal number")
                }
                probabilities.append(value)
            }
            do {
                predictions.append(try Prediction(recording: fields[0], epoch: epoch, fold: fold, truth: truth,
                                                  predicted: predicted, probabilities: probabilities))
            } catch {
                // Only the recording id can still be wrong here; the rest was checked above.
                throw fail(.invalidValue, line: lineNumber, column: "recording", "found \"\(fields[0])\", expected a non-empty id without quotes")
            }
        }
        return predictions
    }
}

// Codes of predictions.csv (values out of range are Basics' `.invalidValue`).
extension SleepfoldError.Code {
    /// A line of a CSV file with the wrong number of fields, an empty line or a CR LF ending.
    public static let malformedLine = Self("malformedLine")
}
