extension Sleepfold_FoldTask {
    /// The identity written into every fold state of this fold and required of a state
    /// it resumes from: the run id (a hash of data, plan, config and seed), the fold and
    /// its seed. The coordinator checks uploads and files with it, the trainer checks
    /// the state it resumes.
    public var stateFingerprint: String { "run \(runID) fold \(fold) seed \(seed)" }
}
