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
    /// - Throws: `PredictionError` when `recording` is empty or holds a comma, quote,
    ///   CR or LF; `epoch` or `fold` is negative; or `probabilities` is not 5 finite values.
    public init(recording: String, epoch: Int, fold: Int, truth: Stage, predicted: Stage,
                probabilities: [Float]) throws(PredictionError) {
        if recording.isEmpty {
            throw PredictionError(.recording, "prediction: recording id is empty, expected a non-empty id")
        }
        if recording.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            throw PredictionError(.recording, "prediction: recording id \"\(recording)\" holds a comma, quote or line break, expected none (it is a CSV field)")
        }
        if epoch < 0 {
            throw PredictionError(.epoch, "prediction: recording \(recording) epoch is \(epoch), expected ≥ 0")
        }
        if fold < 0 {
            throw PredictionError(.fold, "prediction: recording \(recording) epoch \(epoch) fold is \(fold), expected ≥ 0")
        }
        if probabilities.count != Stage.count {
            throw PredictionError(.probabilities, "prediction: recording \(recording) epoch \(epoch) has \(probabilities.count) probabilities, expected \(Stage.count) (W, N1, N2, N3, REM)")
        }
        if let bad = probabilities.first(where: { !$0.isFinite }) {
            throw PredictionError(.probabilities, "prediction: recording \(recording) epoch \(epoch) has probability \(bad), expected finite values")
        }
        self.recording = recording
        self.epoch = epoch
        self.fold = fold
        self.truth = truth
        self.predicted = predicted
        self.probabilities = probabilities
    }
}

/// Why a prediction cannot be made, or predictions.csv cannot be read.
public struct PredictionError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong, for callers that react to it; grows without breaking them.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public var description: String { rawValue }
        public static let recording = Code(rawValue: "recording")
        public static let epoch = Code(rawValue: "epoch")
        public static let fold = Code(rawValue: "fold")
        public static let label = Code(rawValue: "label")
        public static let probabilities = Code(rawValue: "probabilities")
        /// The CSV header is not the expected one.
        public static let header = Code(rawValue: "header")
        /// A CSV line has the wrong number of fields, or bad line endings.
        public static let format = Code(rawValue: "format")
        /// The file cannot be read or written.
        public static let io = Code(rawValue: "io")
    }

    public let code: Code
    /// 1-based line of predictions.csv, when the error comes from reading it.
    public let line: Int?
    /// Column name of predictions.csv, when the error concerns one field.
    public let column: String?
    /// One line for the user: where, what was found and what was expected.
    public let message: String

    public init(_ code: Code, _ message: String, line: Int? = nil, column: String? = nil) {
        self.code = code
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String { message }
}
