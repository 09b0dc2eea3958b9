import Basics
/// Counts of (true stage, predicted stage) pairs: a 5×5 matrix, rows the true
/// stage and columns the predicted stage, both in `Stage` order W, N1, N2, N3, REM
/// (scikit-learn's `confusion_matrix(y_true, y_pred, labels=[0, 1, 2, 3, 4])`).
///
/// Encodes as a JSON array of 5 rows of 5 counts. Decoding rejects another shape,
/// negative counts and counts of 2^40 or more (so that sums cannot overflow).
public struct ConfusionMatrix: Codable, Equatable, Hashable, Sendable {
    /// Row-major counts, `counts[t * 5 + p]` for true stage t and predicted stage p.
    private var counts: [Int]

    /// Largest count a decoded matrix may hold (exclusive): far above any cohort,
    /// low enough that totals and products of totals fit in `Int`.
    public static let countLimit = 1 << 40

    /// An empty matrix (all counts zero).
    public init() {
        counts = Array(repeating: 0, count: Stage.count * Stage.count)
    }

    /// The matrix of a sequence of (true, predicted) pairs.
    public init<S: Sequence>(pairs: S) where S.Element == (truth: Stage, predicted: Stage) {
        self.init()
        for pair in pairs { add(truth: pair.truth, predicted: pair.predicted) }
    }

    /// A matrix from 5 rows of 5 counts (rows true, columns predicted), or nil when
    /// the shape is not 5×5 or a count is negative or not below `countLimit`.
    public init?(rows: [[Int]]) {
        guard rows.count == Stage.count, rows.allSatisfy({ $0.count == Stage.count }),
              rows.joined().allSatisfy({ $0 >= 0 && $0 < Self.countLimit }) else { return nil }
        counts = Array(rows.joined())
    }

    /// Counts one more epoch of true stage `truth` predicted as `predicted`.
    public mutating func add(truth: Stage, predicted: Stage) {
        counts[Int(truth.rawValue) * Stage.count + Int(predicted.rawValue)] += 1
    }

    /// Adds all counts of `other` (e.g. to pool folds).
    public mutating func add(_ other: ConfusionMatrix) {
        for i in counts.indices { counts[i] += other.counts[i] }
    }

    /// The number of epochs of true stage `truth` predicted as `predicted`.
    public subscript(truth: Stage, predicted: Stage) -> Int {
        counts[Int(truth.rawValue) * Stage.count + Int(predicted.rawValue)]
    }

    /// The counts as 5 rows (true stage) of 5 columns (predicted stage).
    public var rows: [[Int]] {
        (0..<Stage.count).map { Array(counts[($0 * Stage.count)..<(($0 + 1) * Stage.count)]) }
    }

    /// Number of epochs counted.
    public var total: Int { counts.reduce(0, +) }

    /// Epochs predicted correctly (the diagonal).
    public var correct: Int { Stage.allCases.reduce(0) { $0 + self[$1, $1] } }

    /// Epochs whose true stage is `stage` (the row sum; scikit-learn's support).
    public func support(_ stage: Stage) -> Int {
        Stage.allCases.reduce(0) { $0 + self[stage, $1] }
    }

    /// Epochs predicted as `stage` (the column sum).
    public func predictedCount(_ stage: Stage) -> Int {
        Stage.allCases.reduce(0) { $0 + self[$1, stage] }
    }

    public init(from decoder: any Decoder) throws {
        let rows = try decoder.singleValueContainer().decode([[Int]].self)
        guard let matrix = ConfusionMatrix(rows: rows) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "confusion matrix: found \(rows.count) rows of \(rows.map(\.count)) counts, expected 5 rows of 5 counts in 0..<2^40"))
        }
        self = matrix
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rows)
    }
}
