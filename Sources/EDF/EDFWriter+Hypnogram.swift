import Basics

extension EDFWriter {
    /// The EDF+ annotation text of a stage, as Sleep-EDF's hypnograms name them
    /// ("Sleep stage W", "Sleep stage 1", "Sleep stage 2", "Sleep stage 3", "Sleep stage R";
    /// AASM's N3 is written as R&K stage 3, the text Sleep-EDF uses for it).
    public static func hypnogramText(_ stage: Stage) -> String {
        switch stage {
        case .wake: return "Sleep stage W"
        case .n1: return "Sleep stage 1"
        case .n2: return "Sleep stage 2"
        case .n3: return "Sleep stage 3"
        case .rem: return "Sleep stage R"
        }
    }

    /// A writer of `hypnogram` as an annotation-only EDF+C file, laid out as Sleep-EDF's
    /// `*-Hypnogram.edf` files are: no data signal, one data record of duration 0 holding
    /// the "EDF Annotations" signal, its time-keeping TAL `+0`, then one TAL per epoch,
    /// `+onset 0x15 duration 0x14 Sleep stage X 0x14 0x00`, with onset `i · epochLength`
    /// seconds after `startTime` and duration `epochLength`. (Sleep-EDF merges runs of one
    /// stage into one TAL; one TAL per epoch keeps epoch i at annotation i, and readers
    /// such as MNE and pyedflib read both alike.)
    ///
    /// All TALs share the one record, ~32 bytes per epoch: 960 epochs (8 h) make a
    /// ~30 kB record, within EDF's recommended 61 440 bytes up to ~1900 epochs (16 h).
    ///
    /// Throws `.unwritable` for an empty hypnogram or an epoch length that is not a
    /// positive number of seconds; `write(to:)` and `encode()` throw as for any file.
    public static func hypnogram(_ hypnogram: [Stage], startTime: EDFDateTime,
                                 epochLength: Double = 30, patient: String = "X X X X",
                                 recording: String? = nil) throws -> EDFWriter {
        guard !hypnogram.isEmpty else {
            throw SleepfoldError(.unwritable, file: "EDFWriter", field: "hypnogram", found: "no epochs",
                                 expected: "at least one epoch")
        }
        guard epochLength.isFinite, epochLength > 0 else {
            throw SleepfoldError(.unwritable, file: "EDFWriter", field: "epoch length", found: "\(epochLength) s",
                                 expected: "a positive number of seconds")
        }
        // Onsets as i · epochLength, not a running sum, so no rounding error accumulates.
        let annotations = hypnogram.enumerated().map { i, stage in
            EDFAnnotation(onset: Double(i) * epochLength, duration: epochLength, text: hypnogramText(stage))
        }
        return EDFWriter(startTime: startTime, recordDuration: 0, signals: [], annotations: annotations,
                         sampleFormat: .edf, plus: true, patient: patient, recording: recording)
    }
}
