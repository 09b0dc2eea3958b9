import SleepNet

/// The expected work of one study task (an arm's fold with one seed), to run the
/// longest tasks first (LPT: longest processing time first).
///
/// Each training epoch runs a training step (forward + backward) on every
/// training sample and an evaluation forward on every validation and test
/// sample (both are scored after each epoch). So a fold costs
///
///     epochs × (trainFLOPs/sample × training samples + inferFLOPs/sample × (validation + test samples))
///
/// with the FLOPs per sample of the arm's model measured at its GEMM calls
/// (`ModelCost`). Elementwise work and data loading are left out: they scale
/// with the same sample counts, so the order of tasks hardly changes.
public enum TaskCost {
    /// The cost in MFLOP (so that a 100-epoch full-size fold stays far inside `Int`).
    public static func megaFLOPs(epochs: Int, trainSamples: Int, evaluatedSamples: Int, model: ModelCost) -> Int {
        let perEpoch = model.trainFLOPsPerSample * Double(trainSamples) + model.inferFLOPsPerSample * Double(evaluatedSamples)
        return Int((Double(epochs) * perEpoch / 1e6).rounded())
    }
}
