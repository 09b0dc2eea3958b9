import Basics
import Recordings
import Cohorts
import EDF
/// What preparation did with one night: epochs kept per stage and why others were not.
public struct NightSummary: Sendable, Equatable {
    public var id: String
    /// Label of the PSG channel used.
    public var channel: String
    /// Kept epochs per stage, indexed by `Stage.rawValue` (W, N1, N2, N3, REM).
    public var epochsPerStage: [Int]
    /// Epochs dropped by the stage map, per annotation text ("Sleep stage ?", "Movement time").
    public var droppedEpochs: [String: Int]
    /// Epochs of stage (or dropped) annotations that start before the signal or end after it.
    public var epochsOutsideSignal: Int
    /// Wake epochs removed before the first and after the last sleep epoch.
    public var trimmedWakeEpochs: Int
    /// Stage epochs that overlap an earlier kept epoch (overlapping annotations), not kept.
    public var overlappingEpochs: Int
    /// Stage or dropped annotations whose duration is not a whole number of 30-s epochs
    /// (the remainder is ignored).
    public var partialEpochAnnotations: Int
    /// Annotation texts that are neither stages nor dropped, with their counts (events).
    public var ignoredAnnotations: [String: Int]
    /// Duration of the PSG signal in seconds.
    public var signalDuration: Double
    /// Why the night yields no recording (e.g. no sleep epoch), nil when it does.
    public var skipReason: String?

    public init(id: String, channel: String, epochsPerStage: [Int], droppedEpochs: [String: Int],
                epochsOutsideSignal: Int, trimmedWakeEpochs: Int, overlappingEpochs: Int,
                partialEpochAnnotations: Int, ignoredAnnotations: [String: Int],
                signalDuration: Double, skipReason: String?) {
        self.id = id
        self.channel = channel
        self.epochsPerStage = epochsPerStage
        self.droppedEpochs = droppedEpochs
        self.epochsOutsideSignal = epochsOutsideSignal
        self.trimmedWakeEpochs = trimmedWakeEpochs
        self.overlappingEpochs = overlappingEpochs
        self.partialEpochAnnotations = partialEpochAnnotations
        self.ignoredAnnotations = ignoredAnnotations
        self.signalDuration = signalDuration
        self.skipReason = skipReason
    }

    /// Kept epochs.
    public var epochCount: Int { epochsPerStage.reduce(0, +) }
    /// Kept duration in seconds (30 s per epoch).
    public var keptDuration: Double { Double(epochCount) * Preparation.epochSeconds }
    /// Epochs dropped by the stage map, all texts together.
    public var droppedEpochCount: Int { droppedEpochs.values.reduce(0, +) }
}

/// The outcome of preparing a directory: one summary per night and the unpaired files.
public struct PreparationReport: Sendable, Equatable {
    /// One summary per paired night, in id order (skipped nights included, with their reason).
    public var nights: [NightSummary]
    /// Files without a partner, with the reason (see `NightFiles.pairs(in:)`).
    public var unpaired: [String]

    public init(nights: [NightSummary], unpaired: [String]) {
        self.nights = nights
        self.unpaired = unpaired
    }

    /// A Markdown table: one row per night (epochs per stage, dropped, outside the
    /// signal, trimmed wake, hours of signal and kept), a total row, then notes on
    /// skipped nights and unpaired files.
    public func table() -> String {
        let header = ["night", "epochs", "W", "N1", "N2", "N3", "REM", "dropped", "outside", "trimmed W", "signal h", "kept h"]
        var rows: [[String]] = []
        func hours(_ seconds: Double) -> String {
            let tenths = Int((seconds / 360).rounded())
            return "\(tenths / 10).\(tenths % 10)"
        }
        func row(_ name: String, _ s: [NightSummary]) -> [String] {
            let perStage = (0..<Stage.count).map { k in s.reduce(0) { $0 + $1.epochsPerStage[k] } }
            return [name, "\(perStage.reduce(0, +))"] + perStage.map { "\($0)" } + [
                "\(s.reduce(0) { $0 + $1.droppedEpochCount })",
                "\(s.reduce(0) { $0 + $1.epochsOutsideSignal })",
                "\(s.reduce(0) { $0 + $1.trimmedWakeEpochs })",
                hours(s.reduce(0) { $0 + $1.signalDuration }),
                hours(s.reduce(0) { $0 + $1.keptDuration }),
            ]
        }
        for night in nights { rows.append(row(night.skipReason == nil ? night.id : night.id + " (skipped)", [night])) }
        rows.append(row("total", nights))
        var lines = ["| " + header.joined(separator: " | ") + " |",
                     "|" + header.map { _ in "---" }.joined(separator: "|") + "|"]
        lines += rows.map { "| " + $0.joined(separator: " | ") + " |" }
        for night in nights {
            if let reason = night.skipReason { lines.append("- skipped \(night.id): \(reason)") }
        }
        for file in unpaired { lines.append("- unpaired \(file)") }
        return lines.joined(separator: "\n")
    }
}
