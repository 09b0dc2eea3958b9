import Foundation
import Basics

/// The temporal context encoder (`tce`) a config selects.
///
///     // inp (B, T, D) -> out (B, T, D)
protocol TemporalEncoder: AnyObject {
    func forward(_ x: Tensor, training: Bool, rng: inout SeededGenerator) -> Tensor
    func backward(_ dy: Tensor) -> Tensor
}

extension TransformerEncoder: TemporalEncoder {}
extension ConformerEncoder: TemporalEncoder {}

/// A sleep-staging network built from a `ModelConfig` (AttnSleep by default):
/// feature extractor, temporal context encoder, linear head.
///
/// Not thread-safe: one forward/backward pair at a time (the model spreads its
/// own work over `ComputeThreads`). `forward` keeps what `backward` needs
/// in the layers' own buffers, sized on first use and reused on every later
/// call with the same or a smaller batch.
///
///     // input (B, 1, inputSamples) -> logits (B, classes)
public final class SleepModel {
    public let config: ModelConfig
    /// Parameters, gradients and BatchNorm buffers, by PyTorch name.
    public let store: ParameterStore

    let mrcnn: MultiResolutionCNN
    let tce: any TemporalEncoder
    let fc: Linear
    private let input = Tensor()
    /// Where the dropout masks' keys come from; read and set by the trainer to save
    /// and resume a fold mid-epoch at the exact draw.
    var dropoutGenerator: SeededGenerator
    private var lastForwardTrained = false
    /// Models of the same config that evaluate slices on the other threads
    /// (lane k > 0 uses replica k − 1): own activations, weights copied from
    /// this model before each sliced forward. Made on first use.
    private var evaluationReplicas: [SleepModel] = []
    /// Logits of a sliced evaluation forward (B, classes).
    private let evaluationLogits = Tensor()

    /// The number format of evaluation forwards (default fp32, exact); bf16 runs the
    /// one-group convolutions and the linear layers on AMX tiles where the CPU has them
    /// (`EvaluationPrecision`).
    public var evaluationPrecision: EvaluationPrecision {
        get { store.evaluationPrecision }
        set { store.evaluationPrecision = newValue }
    }

    /// Samples per slice of an evaluation forward. An evaluation forward treats
    /// every sample alone (running BatchNorm statistics, attention within a
    /// sample), so the batch is cut into slices, each run from input to logits
    /// on one thread: no layer waits for the others' lanes, and each slice's
    /// activations stay in cache longer. The cut depends on the batch only,
    /// not on the thread count, so results do not either (OpenBLAS's kernels
    /// depend on the matrix sizes).
    /// 32: at one thread as fast as the whole batch of 128 (16 is 4 % slower:
    /// the long-kernel branch's GEMMs get too few columns), and 4 slices of a
    /// batch of 128 share 2 or 4 threads evenly.
    public static let evaluationSlice = 32

    /// Builds the network and initialises it as the reference does, from `seed`
    /// (plain conv weights N(0, 0.02), BatchNorm weights N(1, 0.02) and biases 0,
    /// PyTorch's defaults elsewhere). Dropout masks come from a stream of the same seed.
    /// `initialized: false` leaves the parameters zero, for a model whose weights are
    /// loaded or copied next (a checkpoint, an evaluation replica): drawing half a
    /// million normal numbers took 8 ms per model, 0.17 s of staging with 20 checkpoints.
    public init(config: ModelConfig = ModelConfig(), seed: UInt64 = 0, initialized: Bool = true) throws {
        try config.validate()
        self.config = config
        store = ParameterStore()
        mrcnn = MultiResolutionCNN(store: store, config: config)
        switch config.encoder {
        case .transformer: tce = TransformerEncoder(store: store, config: config)
        case .conformer: tce = ConformerEncoder(store: store, config: config)
        }
        let flat = config.afrChannels * config.dModel
        fc = Linear(store: store, name: "fc", inFeatures: flat, outFeatures: config.classes)
        store.allocate(seed: initialized ? seed : nil)
        dropoutGenerator = SeededGenerator(seed: seed, stream: 0xD20F)
    }

    /// Restarts the dropout masks from `seed` (e.g. per epoch or fold).
    public func reseedDropout(_ seed: UInt64) {
        dropoutGenerator = SeededGenerator(seed: seed, stream: 0xD20F)
    }

    /// Number of parameter elements, as PyTorch counts them (the unused
    /// `convs.0` and `sublayer_output.0.norm` included): 522,805 for AttnSleep.
    public var parameterCount: Int { store.parameterCount }

    /// Runs the network on `batch` epochs laid out (B, inputSamples).
    /// `training` uses batch statistics (and updates the running ones) and dropout.
    /// The returned logits (B, classes) stay valid until the next forward.
    public func forward(_ x: UnsafeBufferPointer<Float>, batch: Int, training: Bool) throws -> Tensor {
        let S = config.inputSamples
        guard batch > 0, x.count == batch * S, let base = x.baseAddress else {
            throw SleepfoldError(.shapeMismatch, field: "forward input", found: "\(x.count) values",
                                 expected: "batch (\(batch)) × \(S) samples, batch ≥ 1")
        }
        lastForwardTrained = training
        Profiler.setPass(training ? .forward : .evaluation)
        if !training && batch > Self.evaluationSlice {
            return try forwardSlices(base, batch: batch)
        }
        return forwardWhole(base, batch: batch, training: training)
    }

    /// The network on the whole batch at once, over `ComputeThreads`.
    private func forwardWhole(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> Tensor {
        let S = config.inputSamples
        Profiler.measure("input") {
            input.resize(Shape(batch, 1, S))
            input.data.update(from: x, count: batch * S)
        }
        let features = mrcnn.forward(input, training: training, rng: &dropoutGenerator)
        let encoded = tce.forward(features, training: training, rng: &dropoutGenerator)
        return Profiler.measure("fc") { fc.forward(encoded, training: training) }
    }

    /// An evaluation forward slice by slice (`evaluationSlice` samples), the
    /// slices spread over the threads, each thread with its own model: this one
    /// or a replica holding a copy of its weights and BatchNorm statistics.
    private func forwardSlices(_ x: UnsafePointer<Float>, batch: Int) throws -> Tensor {
        let S = config.inputSamples, K = config.classes, slice = Self.evaluationSlice
        let slices = (batch + slice - 1) / slice
        let threads = ComputeThreads.count, lanes = laneCount(slices)
        // More threads than slices (many cores, a small batch): each lane's
        // layers spread over its share of them.
        let threadsPerLane = max(1, threads / lanes)
        while evaluationReplicas.count < lanes - 1 {
            evaluationReplicas.append(try SleepModel(config: config, seed: 0, initialized: false))
        }
        for replica in evaluationReplicas.prefix(lanes - 1) {
            replica.store.evaluationPrecision = store.evaluationPrecision
            replica.store.values.update(from: store.values, count: store.parameterCount)
            replica.store.bufferValues.update(from: store.bufferValues, count: store.bufferCount)
        }
        evaluationLogits.resize(Shape(batch, K))
        let logits = evaluationLogits.data
        let models = [self] + evaluationReplicas
        // Each lane times its own slices when profiling (a profiler's scopes
        // belong to one thread); their times are added to this one's after.
        let profiler = Profiler.current
        let laneProfilers = profiler == nil || lanes == 1 ? [] : (0..<lanes).map { _ in Profiler() }
        // A lane's slices after its first run on weights its layers have seen in
        // this forward (nothing changes them before it ends): `valuesSettled`.
        let laneStarted = UnsafeMutablePointer<Bool>.allocate(capacity: lanes)
        laneStarted.initialize(repeating: false, count: lanes)
        defer {
            laneStarted.deallocate()
            for model in models.prefix(lanes) { model.store.valuesSettled = false }
        }
        parallelLanes(slices, lanes: lanes) { lane, i in
            let start = i * slice, n = min(slice, batch - start)
            let settled = laneStarted[lane]
            laneStarted[lane] = true
            func run() {
                let model = models[lane]
                model.store.valuesSettled = settled
                Profiler.setPass(.evaluation)
                let out = model.forwardWhole(x + start * S, batch: n, training: false)
                (logits + start * K).update(from: out.data, count: n * K)
            }
            func runOnLaneThreads() {
                if threadsPerLane > 1 { ComputeThreads.with(count: threadsPerLane) { run() } } else { run() }
            }
            if laneProfilers.isEmpty {
                runOnLaneThreads()
            } else {
                Profiler.$current.withValue(laneProfilers[lane]) { runOnLaneThreads() }
            }
        }
        for lane in laneProfilers { profiler?.absorb(lane) }
        return evaluationLogits
    }

    /// `forward` over an array (B·inputSamples values).
    public func forward(_ x: [Float], batch: Int, training: Bool) throws -> Tensor {
        try x.withUnsafeBufferPointer { try forward($0, batch: batch, training: training) }
    }

    /// Back-propagates the logits gradient (B, classes) of the last forward,
    /// which must have been a training forward, and ACCUMULATES the parameter
    /// gradients into `store.gradients` (call `zeroGradients()` first for a
    /// fresh step).
    public func backward(_ logitsGradient: Tensor) throws {
        guard lastForwardTrained else {
            throw SleepfoldError(.invalidConfig, field: "backward", found: "an evaluation forward before it",
                                 expected: "a training forward (evaluation keeps nothing for backward)")
        }
        guard logitsGradient.count == input.shape[0] * config.classes else {
            throw SleepfoldError(.shapeMismatch, field: "backward logits gradient", found: "shape \(logitsGradient.shape)",
                                 expected: "(\(input.shape[0]), \(config.classes))")
        }
        Profiler.setPass(.backward)
        let dEncoded = Profiler.measure("fc") { fc.backward(logitsGradient) }
        let dFeatures = tce.backward(dEncoded)
        mrcnn.backward(dFeatures)
    }

    /// Sets every parameter gradient to zero.
    public func zeroGradients() { store.zeroGradients() }
}

extension SleepfoldError.Code {
    /// Sizes that do not fit: an input, a gradient or labels for another batch
    /// or model, a tensor of another shape, epochs of another length.
    public static let shapeMismatch = Self("shapeMismatch")
}
