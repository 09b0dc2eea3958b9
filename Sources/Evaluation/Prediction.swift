import Basics
/// The prediction for one test epoch: one row of predictions.csv.
public struct Prediction: Equatable, Hashable, Sendable {
    /// Recording (night) id, e.g. "SC4001E0".
    public let recording: String
    /// Index of the 30-s epoch within the recording, 0-based.
    public let epoch: Int
    /// Fold whose model predicted this epoch (the fold that tests the recording's subject).
    public let fold: Int
    /// True stage (CSV column `true`).
    public let truth: Stage
    /// Predicted stage.
    public let predicted: Stage
    /// Class probabilities of W, N1, N2, N3, REM, in that order.
    public let probabilities: [Float]

    /// A prediction, checked so that it can always be written to and read back from
    /// predictions.csv.
    ///
    /// - Throws: `SleepfoldError` (`.invalidValue`, the CSV column as the field) when
    ///   `recording` is empty or holds a comma, quote, CR or LF; `epoch` or `fold` is
    ///   negative; or `probabilities` is not 5 finite values.
    public init(recording: String, epoch: Int, fold: Int, truth: Stage, predicted: Stage,
                probabilities: [Float]) throws(SleepfoldError) {
        if recording.isEmpty {
            throw SleepfoldError(.invalidValue, field: "recording", found: "an empty id", expected: "a non-empty id")
        }
        if recording.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            throw SleepfoldError(.invalidValue, field: "recording", found: "id \"\(recording)\" with a comma, quote or line break",
                                 expected: "none of them (it is a CSV field)")
        }
        if epoch < 0 {
            throw SleepfoldError(.invalidValue, field: "epoch", found: "\(epoch) (recording \(recording))", expected: "≥ 0")
        }
        if fold < 0 {
            throw SleepfoldError(.invalidValue, field: "fold", found: "\(fold) (recording \(recording) epoch \(epoch))", expected: "≥ 0")
        }
        if probabilities.count != Stage.count {
            throw SleepfoldError(.invalidValue, field: "probabilities",
                                 found: "\(probabilities.count) (recording \(recording) epoch \(epoch))",
                                 expected: "\(Stage.count) (W, N1, N2, N3, REM)")
        }
        if let bad = probabilities.first(where: { !$0.isFinite }) {
            throw SleepfoldError(.invalidValue, field: "probabilities",
                                 found: "\(bad) (recording \(recording) epoch \(epoch))", expected: "finite values")
        }
        self.recording = recording
        self.epoch = epoch
        self.fold = fold
        self.truth = truth
        self.predicted = predicted
        self.probabilities = probabilities
    }
}
