import Foundation
import Basics
import Recordings
import EDF
import Preparation

/// An expert's hypnogram of a staged night, epoch by epoch.
public enum ExpertHypnogram {
    /// The expert stage of each of `night`'s epochs from a hypnogram file (`--hypnogram`),
    /// read as `prepare` reads it:
    /// - a Sleep-EDF-style EDF+ file: placed on the night's time line by the two files'
    ///   start times, Sleep-EDF's stage map (R&K 3 and 4 → N3; "?" and movement unscored);
    /// - NSRR XML (`*.xml`) or Compumedics Profusion XML (`*-profusion.xml`): onsets from
    ///   the recording's start, the NSRR or Profusion stage map.
    /// Epoch i gets the stage of the 30-s annotation epoch that starts where it starts;
    /// nil where none does.
    ///
    /// - Throws: `.unalignedHypnogram` when no epoch of the night gets a stage (another
    ///   night's file, or epochs off the night's 30-s grid), and the readers' errors.
    public static func stages(of url: URL, for night: Night) throws -> [Stage?] {
        let annotations: [EDFAnnotation]
        let mapping: StageMapping
        if url.lastPathComponent.hasSuffix(NightFiles.profusionSuffix) {
            annotations = try ProfusionAnnotations(contentsOf: url).events.map { shifted($0, by: -night.startOffset) }
            mapping = .profusion
        } else if url.pathExtension.lowercased() == "xml" {
            annotations = try NSRRAnnotations(contentsOf: url).events.map { shifted($0, by: -night.startOffset) }
            mapping = .nsrr
        } else {
            let file = try EDFReader(url: url)
            // Seconds from the night's first sample = hypnogram onset + shift.
            let shift = (night.startTime.map { Double(file.header.startTime.secondsSinceEpoch - $0.secondsSinceEpoch) } ?? 0)
                - night.startOffset
            annotations = try file.annotations().annotations.map { shifted($0, by: shift) }
            mapping = .sleepEDF
        }
        let S = night.recording.samplesPerEpoch
        let plan = Preparation.epochPlan(annotations: annotations, signalCount: night.epochCount * S,
                                         sampleRate: night.recording.sampleRate, mapping: mapping, trimWakeMinutes: nil)
        var stages = [Stage?](repeating: nil, count: night.epochCount)
        for (start, stage) in zip(plan.starts, plan.stages) where start >= 0 && start % S == 0 {
            stages[start / S] = stage
        }
        guard stages.contains(where: { $0 != nil }) else {
            throw SleepfoldError(.unalignedHypnogram, file: url.path,
                                 found: "no stage annotation on the 30-s epochs of \(night.source) "
                                     + "(\(plan.stages.count) scored epochs, \(plan.epochsOutsideSignal) outside its signal)",
                                 expected: "the hypnogram of this night, epochs starting at multiples of 30 s from its start")
        }
        return stages
    }

    private static func shifted(_ a: EDFAnnotation, by seconds: Double) -> EDFAnnotation {
        EDFAnnotation(onset: a.onset + seconds, duration: a.duration, text: a.text)
    }
}
