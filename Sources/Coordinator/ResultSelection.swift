/// Which of a fold result's three sets of test predictions to read. One training
/// gives all three (the worker scores the test fold after every epoch); they differ
/// only in the epoch whose weights predicted, so their difference on the same model
/// is the effect of the selection alone.
public enum ResultSelection: String, Sendable, CaseIterable {
    /// `predictions`: the run's own `--selection` (validation, last or test-oracle).
    case own
    /// `last_predictions`: the last epoch's model.
    case last
    /// `oracle_predictions`: the epoch with the best test accuracy (leaks the test fold).
    case testOracle = "test-oracle"
}
