import ArgumentParser
import Dispatch
import Foundation
import SleepNet

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import Synthesis
import Evaluation
import Reports
import Shared

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the model core's throughput on random input: training and inference samples per second.",
        discussion: """
        Training is one step (forward, weighted cross-entropy, backward, Adam) at --batch; \
        inference is an eval-mode forward at batch 128 and at batch 512. \
        Each is run once to warm up (buffers are sized on first use), then --repeats times; \
        the median counts. Peak RSS is the process's maximum resident set size (VmHWM). FLOPs per sample are the matrix work (every GEMM call, 2·m·n·k) of one more training step and one eval forward, divided by the batch. \
        The matrix multiplies run on sleepfold's own sgemm (its AVX-512 kernel where the CPU has AVX-512, else \
        its AVX2 kernel), on OpenBLAS elsewhere; SLEEPFOLD_GEMM=openblas, avx2 or avx512 chooses, and the output \
        names the one used.

        --profile then runs --repeats more training steps and as many eval-mode forwards at --batch \
        with the profiler on, and prints a table sorted by time: each layer (PyTorch's module name, e.g. \
        mrcnn.features1.0 for conv 0 with its BatchNorm and GELU) and pass (forward, loss, backward, \
        optimizer, evaluation), its self time per step (nested layers excluded, so rows add up to the step), \
        its share of the measured step, the part inside sgemm with its GFLOP/s, and the rest; \
        then totals per pass. GEMM time is summed over threads, and so are the evaluation's \
        layer times (its slices of 32 samples run side by side); use --threads 1 for wall time. \
        With --json the same data is the "profile" key. See Benchmarks/pytorch/README.md, "Profiling".
        """)

    @Option(help: "Experiment config whose model to measure (default: full-size AttnSleep).")
    var config: String?

    @Option(help: "Compute threads (matrix multiplies and elementwise); default: all cores.")
    var threads: Int?

    @Option(help: "Training batch size.")
    var batch: Int = 128

    @Option(help: "Timed runs of each measurement (the median counts).")
    var repeats: Int = 5

    @Option(help: ArgumentHelp("Number format of the inference measurements: fp32, or bf16 (the convolutions and linear layers on Intel AMX tiles; fp32 where the CPU has none).",
                               valueName: "fp32|bf16"))
    var precision: EvaluationPrecision = .float32

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Flag(help: "Also time each layer and pass over --repeats profiled steps (see below).")
    var profile = false

    /// The measurements, as `--json` prints them.
    struct Result: Encodable {
        var config: String
        var model: String
        var parameters: Int
        var threads: Int
        var gemm: String
        var batch: Int
        var repeats: Int
        /// The inference measurements' number format, as it ran (`EvaluationPrecision.effective`).
        var precision: String
        var trainSamplesPerSecond: Double
        var trainStepSeconds: Double
        var inferSamplesPerSecond: Double
        var inferSamplesPerSecondBatch512: Double
        var peakRSSBytes: Int
        /// GEMM FLOPs of one training step (forward + backward) and of one eval forward, per sample.
        var trainFLOPsPerSample: Double
        var inferFLOPsPerSample: Double
        /// Only with --profile (absent otherwise, so the output is unchanged).
        var profile: Profile?

        enum CodingKeys: String, CodingKey {
            case config, model, parameters, threads, gemm, batch, repeats, precision
            case trainSamplesPerSecond = "train_samples_per_s", trainStepSeconds = "train_step_seconds"
            case inferSamplesPerSecond = "infer_samples_per_s", inferSamplesPerSecondBatch512 = "infer_samples_per_s_batch512"
            case peakRSSBytes = "peak_rss_bytes"
            case trainFLOPsPerSample = "train_flops_per_sample", inferFLOPsPerSample = "infer_flops_per_sample"
            case profile
        }
    }

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        try CPUFeatures.current.requireModelCore()
        let experiment = try config.map { try ExperimentConfig.load(from: URL(fileURLWithPath: $0)) }
            ?? ExperimentConfig(name: "ex1-attnsleep")
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        ComputeThreads.set(threadCount)
        let model = try SleepModel(config: experiment.model, seed: 0)
        model.evaluationPrecision = precision.effective
        if let fallback = precision.fallbackNote { FileHandle.standardError.write(Data((fallback + "\n").utf8)) }
        let optimizer = Adam(store: model.store, config: experiment.training)
        let loss = WeightedCrossEntropy()
        let S = experiment.model.inputSamples

        // Random EEG-like input and labels, the same every run.
        var generator = SeededGenerator(seed: 0)
        let largest = max(batch, 512)
        let x = (0..<(largest * S)).map { _ in Float(generator.nextGaussian()) }
        let labels = (0..<batch).map { _ in Int32(generator.next() % UInt64(Stage.count)) }
        let weights = [Float](repeating: 1, count: experiment.model.classes)

        let stepSeconds = try Self.median(repeats: repeats) {
            _ = try x.withUnsafeBufferPointer { xs in
                try labels.withUnsafeBufferPointer { ls in
                    try model.trainStep(UnsafeBufferPointer(rebasing: xs[0..<(batch * S)]), labels: ls,
                                        classWeights: weights, loss: loss, optimizer: optimizer)
                }
            }
        }
        func inferenceSeconds(_ b: Int) throws -> Double {
            try Self.median(repeats: repeats) {
                _ = try x.withUnsafeBufferPointer {
                    try model.forward(UnsafeBufferPointer(rebasing: $0[0..<(b * S)]), batch: b, training: false)
                }
            }
        }
        let infer128 = try inferenceSeconds(128), infer512 = try inferenceSeconds(512)

        // Matrix work per sample, counted at the GEMM calls of one more step and forward.
        GEMMCounter.reset()
        _ = try x.withUnsafeBufferPointer { xs in
            try labels.withUnsafeBufferPointer { ls in
                try model.trainStep(UnsafeBufferPointer(rebasing: xs[0..<(batch * S)]), labels: ls,
                                    classWeights: weights, loss: loss, optimizer: optimizer)
            }
        }
        let trainFLOPs = Double(GEMMCounter.flops) / Double(batch)
        GEMMCounter.reset()
        _ = try x.withUnsafeBufferPointer { try model.forward(UnsafeBufferPointer(rebasing: $0[0..<(128 * S)]), batch: 128, training: false) }
        let inferFLOPs = Double(GEMMCounter.flops) / 128

        // Profiled last, after every plain measurement, so those are taken exactly as without --profile.
        let profiled = try profile ? Self.profile(steps: repeats, trainStep: {
            _ = try x.withUnsafeBufferPointer { xs in
                try labels.withUnsafeBufferPointer { ls in
                    try model.trainStep(UnsafeBufferPointer(rebasing: xs[0..<(batch * S)]), labels: ls,
                                        classWeights: weights, loss: loss, optimizer: optimizer)
                }
            }
        }, evalForward: {
            _ = try x.withUnsafeBufferPointer {
                try model.forward(UnsafeBufferPointer(rebasing: $0[0..<(batch * S)]), batch: batch, training: false)
            }
        }) : nil

        let result = Result(
            config: experiment.name,
            model: "\(experiment.model.featureExtractor.rawValue) + \(experiment.model.encoder.rawValue)",
            parameters: model.parameterCount, threads: ComputeThreads.count, gemm: GEMMBackend.current.rawValue, batch: batch, repeats: repeats,
            precision: model.evaluationPrecision.rawValue,
            trainSamplesPerSecond: Double(batch) / stepSeconds, trainStepSeconds: stepSeconds,
            inferSamplesPerSecond: 128 / infer128, inferSamplesPerSecondBatch512: 512 / infer512,
            peakRSSBytes: peakResidentBytes(), trainFLOPsPerSample: trainFLOPs, inferFLOPsPerSample: inferFLOPs,
            profile: profiled)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(result) + Data("\n".utf8))
        } else {
            print("\(result.config) (\(result.model)): \(result.parameters) parameters, \(result.threads) threads, \(result.gemm) sgemm, median of \(repeats) after a warm-up")
            print(String(format: "train (batch %d): %9.1f samples/s (%.3f s per step)", batch, result.trainSamplesPerSecond, stepSeconds))
            print(String(format: "infer (batch 128, %@): %9.1f samples/s", result.precision, result.inferSamplesPerSecond))
            print(String(format: "infer (batch 512, %@): %9.1f samples/s", result.precision, result.inferSamplesPerSecondBatch512))
            print(String(format: "GEMM work: %.0f MFLOP per training sample, %.0f MFLOP per inferred sample",
                         trainFLOPs / 1e6, inferFLOPs / 1e6))
            print(String(format: "peak RSS: %.1f MiB", Double(result.peakRSSBytes) / 1_048_576))
            if let profiled { Self.printProfile(profiled, batch: batch, threads: result.threads) }
        }
    }

    /// Runs `body` once to warm up, then `repeats` times; the median wall time in seconds.
    static func median(repeats: Int, _ body: () throws -> Void) throws -> Double {
        try body()
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        times.sort()
        let mid = times.count / 2
        return times.count % 2 == 1 ? times[mid] : (times[mid - 1] + times[mid]) / 2
    }
}
