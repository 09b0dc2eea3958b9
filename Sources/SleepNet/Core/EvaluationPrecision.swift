import MatrixAMX

/// The number format of evaluation forwards (inference: `predict`, `stage`).
///
/// `.float32` (default) is the model core's exact path: every result matches
/// PyTorch's fp32 within the parity tests' tolerances, and the same bits on every
/// thread count. `.bfloat16` (opt-in) rounds the inputs and weights of the 1-D
/// convolutions of one group and of the encoder's and classifier's linear layers
/// to bf16 and sums their products in fp32 on Intel AMX tiles (`AMXConvolution`,
/// `AMXLinear`): several times the fp32 speed of those layers, within bf16's
/// rounding (half a unit in the 8th significant bit) of each factor; the rest of
/// the network stays fp32. PyTorch's CPU autocast to bfloat16 does the same to its
/// convolutions and linear layers. Where the CPU has no AMX-BF16, `.bfloat16` runs as
/// `.float32` (`effective` says which ran).
public enum EvaluationPrecision: String, Sendable, CaseIterable, Codable {
    case float32 = "fp32"
    case bfloat16 = "bf16"

    /// What a model asked for this runs as on this machine.
    public var effective: EvaluationPrecision {
        self == .bfloat16 && !AMX.isUsable ? .float32 : self
    }

    /// Why this runs as fp32 here, for stderr (nil when it runs as asked).
    public var fallbackNote: String? {
        guard effective != self else { return nil }
        return AMX.isTurnedOff
            ? "--precision bf16 with SLEEPFOLD_AMX=off: inference runs in fp32"
            : "--precision bf16: this CPU has no AMX-BF16 (or Linux refused its tile state); inference runs in fp32"
    }
}
