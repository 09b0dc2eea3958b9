import Basics
/// Where a classifier goes wrong: at stage transitions or inside stable stretches,
/// which stages it mistakes for which and at what time of night, and on which
/// nights it does worst. report.json's `error_analysis`.
///
/// Definitions, over the predictions of each recording ordered by epoch:
/// - An epoch is at a *transition* when its true stage differs from the true stage
///   of the previous or of the next epoch of the same recording; otherwise it is
///   *stable*. A neighbour that does not exist — before the first epoch, after the
///   last one, or an epoch without a prediction — never makes a transition, so the
///   first and last epochs of a night are compared with their one neighbour only.
/// - A night's length is its highest predicted epoch + 1; epoch e lies in fifth
///   ⌊5·e / length⌋ (0 = first fifth … 4 = last fifth), and `e · 30 s` after the
///   recording's start (the prepared recording's first epoch, which is up to 30 min
///   of wake before sleep onset in Sleep-EDF).
/// - A (recording, epoch) predicted twice counts once, as its first prediction
///   (`Evaluation` refuses such input; this type only needs to stay defined).
public struct ErrorAnalysis: Codable, Equatable, Sendable {
    /// Parts of the night the confusions are counted in (fifths).
    public static let nightParts = 5
    /// Length of one scored epoch.
    public static let epochSeconds = 30.0 // s

    /// Scores of the epochs at a transition.
    public let transitions: Metrics
    /// Scores of the stable epochs (neither neighbour has another true stage).
    public let stable: Metrics
    /// Number of wrong predictions (true ≠ predicted) in all.
    public let errors: Int
    /// Share of all errors that fall at a transition; nil when there are no errors.
    public let transitionErrorShare: Double?
    /// The most frequent (true, predicted) pairs with true ≠ predicted, most
    /// frequent first, ties in stage order of the true then the predicted stage.
    public let topConfusions: [Confusion]
    /// The nights with the lowest accuracy, lowest first, ties by recording id.
    public let worstNights: [Night]

    /// One kind of error and where in the night it falls.
    public struct Confusion: Codable, Equatable, Sendable {
        /// The expert's stage.
        public let truth: Stage
        /// The stage predicted instead.
        public let predicted: Stage
        /// Epochs of `truth` predicted as `predicted`.
        public let count: Int
        /// `count` over all errors.
        public let shareOfErrors: Double
        /// `count` split by fifth of the night (5 values, first fifth first).
        public let perFifth: [Int]
        /// All epochs of `truth` in each fifth of the night, so that `perFifth` reads
        /// as a rate: N3 lies mostly in the first fifths, and so do its errors.
        public let truthEpochsPerFifth: [Int]
        /// Mean time of these errors since the recording started, in hours.
        public let meanHours: Double

        public init(truth: Stage, predicted: Stage, count: Int, shareOfErrors: Double, perFifth: [Int],
                    truthEpochsPerFifth: [Int], meanHours: Double) {
            self.truth = truth
            self.predicted = predicted
            self.count = count
            self.shareOfErrors = shareOfErrors
            self.perFifth = perFifth
            self.truthEpochsPerFifth = truthEpochsPerFifth
            self.meanHours = meanHours
        }

        enum CodingKeys: String, CodingKey {
            case truth, predicted, count, shareOfErrors = "share_of_errors", perFifth = "per_fifth",
                 truthEpochsPerFifth = "truth_epochs_per_fifth", meanHours = "mean_hours"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            // Stages by name ("N1"), as everywhere else in report.json.
            func stage(_ key: CodingKeys) throws -> Stage {
                let name = try container.decode(String.self, forKey: key)
                guard let stage = Stage.allCases.first(where: { $0.name == name }) else {
                    throw DecodingError.dataCorruptedError(forKey: key, in: container,
                                                           debugDescription: "found stage \"\(name)\", expected W, N1, N2, N3 or REM")
                }
                return stage
            }
            truth = try stage(.truth)
            predicted = try stage(.predicted)
            count = try container.decode(Int.self, forKey: .count)
            shareOfErrors = try container.decode(Double.self, forKey: .shareOfErrors)
            perFifth = try container.decode([Int].self, forKey: .perFifth)
            truthEpochsPerFifth = try container.decode([Int].self, forKey: .truthEpochsPerFifth)
            meanHours = try container.decode(Double.self, forKey: .meanHours)
            for (key, values) in [(CodingKeys.perFifth, perFifth), (.truthEpochsPerFifth, truthEpochsPerFifth)]
                where values.count != ErrorAnalysis.nightParts {
                throw DecodingError.dataCorruptedError(forKey: key, in: container,
                                                       debugDescription: "found \(values.count) values, expected \(ErrorAnalysis.nightParts) (one per fifth of the night)")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(truth.name, forKey: .truth)
            try container.encode(predicted.name, forKey: .predicted)
            try container.encode(count, forKey: .count)
            try container.encode(shareOfErrors, forKey: .shareOfErrors)
            try container.encode(perFifth, forKey: .perFifth)
            try container.encode(truthEpochsPerFifth, forKey: .truthEpochsPerFifth)
            try container.encode(meanHours, forKey: .meanHours)
        }
    }

    /// One night and its scores.
    public struct Night: Codable, Equatable, Sendable {
        /// Recording id.
        public let recording: String
        /// The recording's subject; nil when the recording → subject map lacks it.
        public let subject: String?
        /// The fold whose model predicted the night (of its first prediction).
        public let fold: Int
        /// Scores of the night's predictions.
        public let metrics: Metrics

        public init(recording: String, subject: String?, fold: Int, metrics: Metrics) {
            self.recording = recording
            self.subject = subject
            self.fold = fold
            self.metrics = metrics
        }

        enum CodingKeys: String, CodingKey { case recording, subject, fold, metrics }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            recording = try container.decode(String.self, forKey: .recording)
            subject = try container.decode(String?.self, forKey: .subject)
            fold = try container.decode(Int.self, forKey: .fold)
            metrics = try container.decode(Metrics.self, forKey: .metrics)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(recording, forKey: .recording)
            try container.encode(subject, forKey: .subject)  // explicit null: keys always present
            try container.encode(fold, forKey: .fold)
            try container.encode(metrics, forKey: .metrics)
        }
    }

    /// The analysis of a set of test predictions (any order, any number of recordings).
    ///
    /// - Parameters:
    ///   - predictions: test-epoch predictions.
    ///   - recordingSubjects: the subject of each recording, for `worstNights`.
    ///   - worstNights: how many nights to list (fewer when there are fewer).
    ///   - topConfusions: how many confusions to list (fewer when fewer kinds occur).
    public init(predictions: [Prediction], recordingSubjects: [String: String], worstNights: Int = 3,
                topConfusions: Int = 5) {
        let parts = Self.nightParts
        var transitionMatrix = ConfusionMatrix(), stableMatrix = ConfusionMatrix()
        // [truth][predicted][fifth] error counts, [truth][fifth] epochs, [truth][predicted] Σ hours.
        var errorsPerFifth = Array(repeating: Array(repeating: Array(repeating: 0, count: parts), count: Stage.count),
                                   count: Stage.count)
        var truthPerFifth = Array(repeating: Array(repeating: 0, count: parts), count: Stage.count)
        var hoursSum = Array(repeating: Array(repeating: 0.0, count: Stage.count), count: Stage.count)
        var nights: [Night] = []

        for (recording, night) in Self.nights(predictions) {
            let length = night[night.count - 1].epoch + 1
            var nightMatrix = ConfusionMatrix()
            for (i, p) in night.enumerated() {
                // Neighbours are the adjacent entries only if their epochs are adjacent too.
                let previous = i > 0 && night[i - 1].epoch == p.epoch - 1 ? night[i - 1].truth : nil
                let next = i + 1 < night.count && night[i + 1].epoch == p.epoch + 1 ? night[i + 1].truth : nil
                let atTransition = (previous != nil && previous != p.truth) || (next != nil && next != p.truth)
                if atTransition {
                    transitionMatrix.add(truth: p.truth, predicted: p.predicted)
                } else {
                    stableMatrix.add(truth: p.truth, predicted: p.predicted)
                }
                nightMatrix.add(truth: p.truth, predicted: p.predicted)

                // In Double: 5 · epoch could overflow Int for a hostile epoch number.
                let fifth = min(Int(Double(p.epoch) / Double(length) * Double(parts)), parts - 1)
                let t = Int(p.truth.rawValue), q = Int(p.predicted.rawValue)
                truthPerFifth[t][fifth] += 1
                if p.truth != p.predicted {
                    errorsPerFifth[t][q][fifth] += 1
                    hoursSum[t][q] += Double(p.epoch) * Self.epochSeconds / 3600
                }
            }
            nights.append(Night(recording: recording, subject: recordingSubjects[recording], fold: night[0].fold,
                                metrics: Metrics(confusion: nightMatrix)))
        }

        transitions = Metrics(confusion: transitionMatrix)
        stable = Metrics(confusion: stableMatrix)
        let transitionErrors = transitionMatrix.total - transitionMatrix.correct
        errors = transitionErrors + stableMatrix.total - stableMatrix.correct
        transitionErrorShare = errors == 0 ? nil : Double(transitionErrors) / Double(errors)

        var all = transitionMatrix
        all.add(stableMatrix)
        var kinds: [(truth: Stage, predicted: Stage, count: Int)] = []
        for truth in Stage.allCases {
            for predicted in Stage.allCases where predicted != truth && all[truth, predicted] > 0 {
                kinds.append((truth, predicted, all[truth, predicted]))
            }
        }
        // Most frequent first; ties in stage order, so the list never depends on sort stability.
        kinds.sort { ($1.count, $0.truth.rawValue, $0.predicted.rawValue) < ($0.count, $1.truth.rawValue, $1.predicted.rawValue) }
        let errorCount = errors
        self.topConfusions = kinds.prefix(max(topConfusions, 0)).map { kind in
            let t = Int(kind.truth.rawValue), q = Int(kind.predicted.rawValue)
            return Confusion(truth: kind.truth, predicted: kind.predicted, count: kind.count,
                             shareOfErrors: Double(kind.count) / Double(errorCount),
                             perFifth: errorsPerFifth[t][q], truthEpochsPerFifth: truthPerFifth[t],
                             meanHours: hoursSum[t][q] / Double(kind.count))
        }

        // Every night has at least one prediction, so its accuracy is defined.
        nights.sort { ($0.metrics.accuracy ?? 0, $0.recording) < ($1.metrics.accuracy ?? 0, $1.recording) }
        self.worstNights = Array(nights.prefix(max(worstNights, 0)))
    }

    /// The predictions of each recording ordered by epoch, one per epoch (the
    /// first given), recordings in id order.
    static func nights(_ predictions: [Prediction]) -> [(recording: String, predictions: [Prediction])] {
        var byRecording: [String: [(index: Int, prediction: Prediction)]] = [:]
        for (index, p) in predictions.enumerated() { byRecording[p.recording, default: []].append((index, p)) }
        return byRecording.keys.sorted().map { recording in
            // Input index breaks ties so that the first of two predictions of an epoch is kept.
            let sorted = byRecording[recording]!.sorted { ($0.prediction.epoch, $0.index) < ($1.prediction.epoch, $1.index) }
            var night: [Prediction] = []
            for entry in sorted where night.last?.epoch != entry.prediction.epoch { night.append(entry.prediction) }
            return (recording, night)
        }
    }

    enum CodingKeys: String, CodingKey {
        case transitions, stable, errors, transitionErrorShare = "transition_error_share",
             topConfusions = "top_confusions", worstNights = "worst_nights"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        transitions = try container.decode(Metrics.self, forKey: .transitions)
        stable = try container.decode(Metrics.self, forKey: .stable)
        errors = try container.decode(Int.self, forKey: .errors)
        transitionErrorShare = try container.decode(Double?.self, forKey: .transitionErrorShare)
        topConfusions = try container.decode([Confusion].self, forKey: .topConfusions)
        worstNights = try container.decode([Night].self, forKey: .worstNights)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(transitions, forKey: .transitions)
        try container.encode(stable, forKey: .stable)
        try container.encode(errors, forKey: .errors)
        try container.encode(transitionErrorShare, forKey: .transitionErrorShare)  // explicit null
        try container.encode(topConfusions, forKey: .topConfusions)
        try container.encode(worstNights, forKey: .worstNights)
    }
}
