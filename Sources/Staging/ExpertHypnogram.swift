import Foundation
import Basics
import Recordings
import EDF
import Preparation

/// An expert's hypnogram of a staged night, epoch by epoch.
public enum ExpertHypnogram {
    /// The expert stage of each of `night`'s epochs from a Sleep-EDF-style EDF+ hypnogram
    /// (`--hypnogram`): the annotations are placed on the night's time line by the two
    /// files' start times (as `prepare` places them), mapped with Sleep-EDF's stage map
    /// (R&K 3 and 4 → N3; "?" and movement epochs have no stage), and epoch i gets the
    /// stage of the 30-s annotation epoch that starts where it starts; nil where none does.
    ///
    /// - Throws: `.unalignedHypnogram` when no epoch of the night gets a stage (another
    ///   night's file, or epochs off the night's 30-s grid), and the EDF reader's errors.
    public static func stages(edf url: URL, for night: Night) throws -> [Stage?] {
        let file = try EDFReader(url: url)
        let shift = night.startTime.map {
            Double(file.header.startTime.secondsSinceEpoch - $0.secondsSinceEpoch)
        } ?? 0
        let annotations = try file.annotations().annotations.map {
            EDFAnnotation(onset: $0.onset + shift, duration: $0.duration, text: $0.text)
        }
        let S = night.recording.samplesPerEpoch
        let plan = Preparation.epochPlan(annotations: annotations, signalCount: night.epochCount * S,
                                         sampleRate: night.recording.sampleRate, mapping: .sleepEDF,
                                         trimWakeMinutes: nil)
        var stages = [Stage?](repeating: nil, count: night.epochCount)
        for (start, stage) in zip(plan.starts, plan.stages) where start >= 0 && start % S == 0 {
            stages[start / S] = stage
        }
        guard stages.contains(where: { $0 != nil }) else {
            throw SleepfoldError(.unalignedHypnogram, file: file.name,
                                 found: "no stage annotation on the 30-s epochs of \(night.source) "
                                     + "(\(plan.stages.count) scored epochs, \(plan.epochsOutsideSignal) outside its signal)",
                                 expected: "the hypnogram of this night, epochs starting at multiples of 30 s from its start")
        }
        return stages
    }
}
