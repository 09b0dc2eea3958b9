import Basics
/// Precision, recall, F1 and support of one stage, as scikit-learn's
/// `precision_recall_fscore_support(labels=[0, 1, 2, 3, 4], zero_division=0)`.
public struct ClassScores: Codable, Equatable, Hashable, Sendable {
    /// Correct predictions of the stage over all predictions of it; 0 when never predicted.
    public let precision: Double
    /// Correct predictions of the stage over its true epochs; 0 when it never occurs.
    public let recall: Double
    /// 2·TP / (2·TP + FP + FN); 0 when the stage is neither true nor predicted anywhere.
    public let f1: Double
    /// Number of epochs whose true stage is this one.
    public let support: Int

    public init(precision: Double, recall: Double, f1: Double, support: Int) {
        self.precision = precision
        self.recall = recall
        self.f1 = f1
        self.support = support
    }
}

/// The scores of a set of (true, predicted) stage pairs: what the report gives
/// pooled over all folds, per fold and per subject.
///
/// Definitions follow scikit-learn with `labels=[0, 1, 2, 3, 4]` and
/// `zero_division=0`, checked against it to 1e-12 (Tests/Fixtures/metrics):
/// - `accuracy`: correct / epochs;
/// - per-class precision, recall, F1: see `ClassScores`; a division by zero gives 0;
/// - `macroF1`: the unweighted mean of the 5 per-class F1 scores, including a class
///   absent from both truth and prediction, which scores 0 (sklearn's
///   `f1_score(average="macro", labels=[0..4], zero_division=0)`), so a set without
///   N3 at all can reach at most 0.8;
/// - `kappa`: Cohen's kappa, (p_o − p_e) / (1 − p_e), p_e from the products of the
///   true and predicted class totals.
///
/// Undefined values, which scikit-learn reports as NaN or refuses, are nil and
/// encode as JSON `null`:
/// - no pairs at all (sklearn raises): `accuracy`, `macroF1` and `kappa` are nil,
///   every per-class score is 0 with support 0;
/// - `kappa` when the expected agreement is 1, i.e. truth and prediction are the
///   same single stage throughout (sklearn returns NaN): nil.
public struct Metrics: Codable, Equatable, Hashable, Sendable {
    /// Number of (true, predicted) pairs.
    public let epochs: Int
    /// Fraction predicted correctly; nil when there are no epochs.
    public let accuracy: Double?
    /// Mean of the 5 per-class F1 scores; nil when there are no epochs.
    public let macroF1: Double?
    /// Cohen's kappa; nil when there are no epochs or the expected agreement is 1.
    public let kappa: Double?
    /// Scores of W, N1, N2, N3, REM in that order (index = `Stage.rawValue`).
    public let perClass: [ClassScores]
    /// Counts of (true, predicted) pairs.
    public let confusion: ConfusionMatrix

    /// The scores of the pairs counted in `confusion`.
    public init(confusion: ConfusionMatrix) {
        self.confusion = confusion
        let total = confusion.total
        epochs = total

        var scores: [ClassScores] = []
        for stage in Stage.allCases {
            let truePositives = confusion[stage, stage]
            let predicted = confusion.predictedCount(stage)
            let support = confusion.support(stage)
            scores.append(ClassScores(
                precision: predicted == 0 ? 0 : Double(truePositives) / Double(predicted),
                recall: support == 0 ? 0 : Double(truePositives) / Double(support),
                // 2TP + FP + FN == predicted + support.
                f1: predicted + support == 0 ? 0 : Double(2 * truePositives) / Double(predicted + support),
                support: support))
        }
        perClass = scores

        guard total > 0 else {
            accuracy = nil
            macroF1 = nil
            kappa = nil
            return
        }
        accuracy = Double(confusion.correct) / Double(total)
        macroF1 = scores.reduce(0.0) { $0 + $1.f1 } / Double(Stage.count)

        // Undefined exactly when truth and prediction are the same single stage:
        // then the expected disagreement is zero (and so is the observed one).
        let singleStage = Stage.allCases.contains {
            confusion.support($0) == total && confusion.predictedCount($0) == total
        }
        if singleStage {
            kappa = nil
        } else {
            // kappa = 1 − observed disagreement / expected disagreement, both scaled by
            // total²; the scaled terms are integers, so only the last steps round.
            let n = Double(total)
            var agreementProducts = 0.0
            for stage in Stage.allCases {
                agreementProducts += Double(confusion.support(stage)) * Double(confusion.predictedCount(stage))
            }
            let observedDisagreement = Double(total - confusion.correct) * n
            let expectedDisagreement = n * n - agreementProducts
            kappa = 1 - observedDisagreement / expectedDisagreement
        }
    }

    /// The scores of a sequence of (true, predicted) pairs.
    public init<S: Sequence>(pairs: S) where S.Element == (truth: Stage, predicted: Stage) {
        self.init(confusion: ConfusionMatrix(pairs: pairs))
    }

    /// The scores of one stage.
    public subscript(stage: Stage) -> ClassScores { perClass[Int(stage.rawValue)] }

    enum CodingKeys: String, CodingKey {
        case epochs, accuracy, macroF1 = "macro_f1", kappa, perClass = "per_class", confusion = "confusion_matrix"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        epochs = try container.decode(Int.self, forKey: .epochs)
        accuracy = try container.decode(Double?.self, forKey: .accuracy)
        macroF1 = try container.decode(Double?.self, forKey: .macroF1)
        kappa = try container.decode(Double?.self, forKey: .kappa)
        perClass = try container.decode(StageKeyed<ClassScores>.self, forKey: .perClass).values
        confusion = try container.decode(ConfusionMatrix.self, forKey: .confusion)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(epochs, forKey: .epochs)
        // Optionals encoded as explicit nulls so that every key is always present.
        try container.encode(accuracy, forKey: .accuracy)
        try container.encode(macroF1, forKey: .macroF1)
        try container.encode(kappa, forKey: .kappa)
        try container.encode(StageKeyed(perClass), forKey: .perClass)
        try container.encode(confusion, forKey: .confusion)
    }
}

/// Five values, one per stage, coded as a JSON object keyed by stage name
/// (`{"W": …, "N1": …, "N2": …, "N3": …, "REM": …}`); decoding needs all five keys.
package struct StageKeyed<Value: Codable>: Codable {
    package var values: [Value]

    package init(_ values: [Value]) { self.values = values }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        values = try Stage.allCases.map { try container.decode(Value.self, forKey: Key(stringValue: $0.name)) }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (stage, value) in zip(Stage.allCases, values) {
            try container.encode(value, forKey: Key(stringValue: stage.name))
        }
    }
}
