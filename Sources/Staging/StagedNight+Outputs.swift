import Foundation
import Basics
import Recordings
import EDF
import Evaluation
import Reports

/// The files `sleepfold stage` writes: hypnogram.csv, hypnogram.edf, summary.json and
/// night.html (docs/staging.md).
extension StagedNight {
    /// File names in the output directory, in the order they are written.
    public static let outputNames = ["hypnogram.csv", "hypnogram.edf", "summary.json", "night.html"]

    /// Start time written into hypnogram.edf when the input has none (an NPZ night):
    /// EDF+'s "clipping date" for an unknown date, 01.01.85 00.00.00.
    public static let unknownStartTime = EDFDateTime(year: 1985, month: 1, day: 1, hour: 0, minute: 0, second: 0)

    /// hypnogram.csv: `epoch,onset_s,stage,p_w,p_n1,p_n2,p_n3,p_rem` (stage as W/N1/N2/N3/REM,
    /// onsets in seconds from the first sample, probabilities exact), plus `expert` (the
    /// expert's stage, empty where unscored) when there is an expert.
    public func csv() -> String {
        let K = Stage.count
        var text = "epoch,onset_s,stage," + Stage.allCases.map { "p_" + $0.name.lowercased() }.joined(separator: ",")
        text += expert == nil ? "\n" : ",expert\n"
        for (e, stage) in stages.enumerated() {
            text += "\(e),\(Int(Double(e) * Recording.epochSeconds)),\(stage.name)"
            for k in 0..<K { text += "," + probabilities[e * K + k].description }
            if let expert { text += "," + (expert[e]?.name ?? "") }
            text += "\n"
        }
        return text
    }

    /// hypnogram.edf: the predicted stages as Sleep-EDF's hypnograms are written
    /// (`EDFWriter.hypnogram`: EDF+C, one "Sleep stage W/1/2/3/R" annotation per epoch),
    /// starting at the night's start time.
    public func hypnogramEDF() throws -> [UInt8] {
        try EDFWriter.hypnogram(stages, startTime: night.startTime ?? Self.unknownStartTime,
                                epochLength: Recording.epochSeconds, patient: "X X X X",
                                recording: "Startdate X X X sleepfold-stage")
            .encode(name: "hypnogram.edf")
    }

    /// summary.json (pretty, sorted keys): the night, the models, the statistics of the
    /// predicted hypnogram (`SleepStatistics`' keys), REM latency from sleep onset, and the
    /// agreement with the expert (null without one).
    public func summaryJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Summary(self)) + Data("\n".utf8)
    }

    /// night.html (see `NightReport`).
    public func nightReport() -> NightReport {
        var facts: [(name: String, value: String)] = [
            ("input", night.source),
            ("channel", night.channel + String(format: " (%g Hz in the file, %g Hz for the model)",
                                               night.sourceRate, night.recording.sampleRate)),
        ]
        if let start = night.startTime { facts.append(("start", start.description)) }
        facts.append(("epochs", "\(night.epochCount) of 30 s from the first sample"
                      + (night.droppedSeconds > 0 ? String(format: "; the last %.1f s (a partial epoch) not staged", night.droppedSeconds) : "")))
        facts.append(("models", models.count == 1 ? models[0]
                      : "\(models.count) checkpoints, mean of their probabilities (\(models.joined(separator: ", ")))"))
        facts.append(("precision", precision == .bfloat16
                      ? "bf16: the convolutions and linear layers in bfloat16 on AMX tiles (fp32 sums), the rest in fp32"
                      : "fp32"))
        return NightReport(title: night.recording.id, facts: facts, stages: stages, probabilities: probabilities,
                           statistics: statistics, expert: expert, expertStatistics: expertStatistics,
                           agreement: agreement)
    }

    /// Every output's bytes, in `outputNames` order: all are made before any is written.
    public func outputs() throws -> [(name: String, bytes: Data)] {
        [("hypnogram.csv", Data(csv().utf8)),
         ("hypnogram.edf", Data(try hypnogramEDF())),
         ("summary.json", try summaryJSON()),
         ("night.html", Data(nightReport().html().utf8))]
    }

    /// Makes every output, then writes each into `directory` (created if missing)
    /// atomically: a failure before writing leaves nothing, and no file is ever half-written.
    public func write(to directory: URL) throws {
        let files = try outputs()
        try fileAccess(directory.path, cannot: "create the output directory") {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        for file in files {
            try AtomicFile.write(file.bytes, to: directory.appendingPathComponent(file.name))
        }
    }
}

/// The layout of summary.json.
struct Summary: Encodable {
    struct NightFacts: Encodable {
        var source: String
        var channel: String
        var sourceRate: Double
        var modelRate: Double
        var startTime: String?
        var epochs: Int
        var epochLength: Double
        var droppedSeconds: Double

        enum CodingKeys: String, CodingKey {
            case source, channel, sourceRate = "source_rate_hz", modelRate = "model_rate_hz", startTime = "start_time"
            case epochs, epochLength = "epoch_length_s", droppedSeconds = "dropped_s"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(source, forKey: .source)
            try c.encode(channel, forKey: .channel)
            try c.encode(sourceRate, forKey: .sourceRate)
            try c.encode(modelRate, forKey: .modelRate)
            try c.encode(startTime, forKey: .startTime)
            try c.encode(epochs, forKey: .epochs)
            try c.encode(epochLength, forKey: .epochLength)
            try c.encode(droppedSeconds, forKey: .droppedSeconds)
        }
    }

    struct Models: Encodable {
        var count: Int
        var combination: String
        var checkpoints: [String]
        /// "fp32" or "bf16" (`EvaluationPrecision`), as the models ran.
        var precision: String
    }

    var format = "sleepfold-night-summary"
    var formatVersion = 1
    var sleepfoldVersion = Basics.sleepfoldVersion
    var night: NightFacts
    var models: Models
    var statistics: SleepStatistics
    var remLatencyFromOnset: Double?
    var agreement: Metrics?
    var expertStatistics: SleepStatistics?

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", sleepfoldVersion = "sleepfold_version", night, models
        case statistics, remLatencyFromOnset = "rem_latency_from_onset", agreement, expertStatistics = "expert_statistics"
    }

    init(_ staged: StagedNight) {
        let n = staged.night
        night = NightFacts(source: n.source, channel: n.channel, sourceRate: n.sourceRate, modelRate: n.recording.sampleRate,
                           startTime: n.startTime.map(Self.isoDate), epochs: n.epochCount,
                           epochLength: Recording.epochSeconds, droppedSeconds: n.droppedSeconds)
        models = Models(count: staged.models.count,
                        combination: staged.models.count == 1 ? "one model" : "mean of the models' class probabilities",
                        checkpoints: staged.models, precision: staged.precision.rawValue)
        statistics = staged.statistics
        remLatencyFromOnset = staged.statistics.latREM.flatMap { rem in staged.statistics.sol.map { rem - $0 } }
        agreement = staged.agreement
        expertStatistics = staged.expertStatistics
    }

    static func isoDate(_ t: EDFDateTime) -> String {
        String(format: "%04d-%02d-%02dT%02d:%02d:%02d", t.year, t.month, t.day, t.hour, t.minute, t.second)
    }

    /// Every key present, undefined values as null.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(formatVersion, forKey: .formatVersion)
        try c.encode(sleepfoldVersion, forKey: .sleepfoldVersion)
        try c.encode(night, forKey: .night)
        try c.encode(models, forKey: .models)
        try c.encode(statistics, forKey: .statistics)
        try c.encode(remLatencyFromOnset, forKey: .remLatencyFromOnset)
        try c.encode(agreement, forKey: .agreement)
        try c.encode(expertStatistics, forKey: .expertStatistics)
    }
}
