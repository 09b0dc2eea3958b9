import Evaluation
/// How one fold's training went epoch by epoch: the points of report.html's
/// training curves, taken from the run's journal (`Sleepfold_FoldResult.history`).
///
/// Not part of report.json: the journal keeps it, and `sleepfold report` reads it
/// from there, so old run directories get curves without a schema change.
public struct FoldHistory: Equatable, Sendable {
    /// One training epoch's scores.
    public struct Epoch: Equatable, Sendable {
        /// Training epoch, 1-based.
        public var epoch: Int
        /// Mean training loss over the epoch's batches; nil when not finite.
        public var trainLoss: Double?
        /// Loss on the selection set (the validation subjects; the test fold under
        /// `test-oracle`); nil when not measured (`last`) or not finite.
        public var validationLoss: Double?
        /// Accuracy on the selection set; nil when not measured.
        public var validationAccuracy: Double?
        /// Macro-F1 on the selection set; nil when not measured.
        public var validationMacroF1: Double?

        /// An epoch's scores; non-finite values (the journal's NaN for "not
        /// measured") become nil.
        public init(epoch: Int, trainLoss: Double?, validationLoss: Double?,
                    validationAccuracy: Double?, validationMacroF1: Double?) {
            self.epoch = epoch
            self.trainLoss = Self.finite(trainLoss)
            self.validationLoss = Self.finite(validationLoss)
            self.validationAccuracy = Self.finite(validationAccuracy)
            self.validationMacroF1 = Self.finite(validationMacroF1)
        }

        private static func finite(_ value: Double?) -> Double? {
            guard let value, value.isFinite else { return nil }
            return value
        }
    }

    /// The fold's index in the plan.
    public var fold: Int
    /// The epoch whose model predicted the test fold (1-based), if known.
    public var chosenEpoch: Int?
    /// The epochs in training order.
    public var epochs: [Epoch]

    public init(fold: Int, chosenEpoch: Int?, epochs: [Epoch]) {
        self.fold = fold
        self.chosenEpoch = chosenEpoch
        self.epochs = epochs
    }
}
