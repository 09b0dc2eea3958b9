import Foundation
import Basics

/// Upper bounds on every size of a model and its batch, and an estimate of the
/// memory they need, checked before anything is allocated.
///
/// SleepNet is built `-Ounchecked`: integer arithmetic on sizes wraps silently and
/// buffers are not bounds-checked, so a config (or a checkpoint's metadata) must
/// never reach a layer with a size that overflows or cannot be allocated. Each
/// bound is generous for real models: the shipped configs (configs/*.json) use
/// at most 3750 input samples, 128 channels, kernel 400, dModel 100, dFF 120,
/// 2 layers and batch 128, so every bound leaves a wide margin above them.
public enum ModelLimits {
    /// Samples per input epoch: 30 s at 100 kHz, the highest rate Cohorts accepts.
    public static let maxInputSamples = 3_000_000
    /// Output classes: sleep staging uses 5; 64 covers any finer scheme.
    public static let maxClasses = 64
    /// Channels of any convolution (`cnnFirstChannels`, `cnnChannels`, `afrChannels`):
    /// the shipped models use ≤ 128; a 4096² weight is 64 MiB.
    public static let maxChannels = 4096
    /// Token width (`dModel`) and feed-forward width (`dFF`, `conformerExpansion · dModel`):
    /// shipped 100 and 120; a 65536-wide layer still fits a few GiB per token row.
    public static let maxWidth = 65_536
    /// Encoder layers: shipped 2; transformer classifiers rarely exceed 48.
    public static let maxEncoderLayers = 64
    /// Kernel of the narrow convolutions (`convKernel`, `causalKernel`, `conformerKernel`):
    /// shipped ≤ 31.
    public static let maxConvKernel = 1024
    /// Width factor of the Conformer's feed-forward modules: shipped 4.
    public static let maxConformerExpansion = 64
    /// Periods of the multi-period block, and its inception kernels (count and size): shipped 2 and [1, 3, 5].
    public static let maxPeriods = 64
    public static let maxInceptionKernels = 16
    public static let maxInceptionKernel = 63
    /// Batch size of training and evaluation: shipped 128; 4096 epochs of 30 s is
    /// more than a night (≈ 1000 epochs) several times over.
    public static let maxBatchSize = 4096
    /// The most memory parameters, gradients, optimizer moments and a batch's
    /// activations may need (estimated): 16 GiB, twice a compute node's usual
    /// share; the shipped models need well under 1 GiB at batch 128.
    public static let maxEstimatedBytes = 16 << 30
}

extension ModelConfig {
    /// Checks every size against `ModelLimits` (called by `validate` before any
    /// arithmetic on the sizes, so nothing later can overflow).
    func validateBounds(fail: (String, Any, String) -> SleepfoldError) throws {
        let bounded: [(String, Int, Int, String)] = [
            ("inputSamples", inputSamples, ModelLimits.maxInputSamples, "30 s at 100 kHz"),
            ("classes", classes, ModelLimits.maxClasses, "far more than any staging scheme"),
            ("cnnFirstChannels", cnnFirstChannels, ModelLimits.maxChannels, "the channel limit"),
            ("cnnChannels", cnnChannels, ModelLimits.maxChannels, "the channel limit"),
            ("afrChannels", afrChannels, ModelLimits.maxChannels, "the channel limit"),
            ("seReduction", seReduction, ModelLimits.maxChannels, "the channel limit"),
            ("dModel", dModel, ModelLimits.maxWidth, "the width limit"),
            ("heads", heads, ModelLimits.maxWidth, "the width limit"),
            ("dFF", dFF, ModelLimits.maxWidth, "the width limit"),
            ("encoderLayers", encoderLayers, ModelLimits.maxEncoderLayers, "the layer limit"),
            ("causalKernel", causalKernel, ModelLimits.maxConvKernel, "the kernel limit"),
            ("conformerKernel", conformerKernel, ModelLimits.maxConvKernel, "the kernel limit"),
            ("conformerExpansion", conformerExpansion, ModelLimits.maxConformerExpansion, "the expansion limit"),
            ("periods", periods, ModelLimits.maxPeriods, "the period limit"),
        ]
        for (field, value, limit, why) in bounded where value > limit {
            throw fail(field, value, "at most \(limit) (\(why))")
        }
        if conformerExpansion * dModel > ModelLimits.maxWidth {
            throw fail("conformerExpansion", conformerExpansion,
                       "at most \(ModelLimits.maxWidth / dModel) (conformerExpansion · dModel ≤ \(ModelLimits.maxWidth))")
        }
        if inceptionKernels.count > ModelLimits.maxInceptionKernels {
            throw fail("inceptionKernels", inceptionKernels.count, "at most \(ModelLimits.maxInceptionKernels) kernels")
        }
        if let k = inceptionKernels.first(where: { $0 > ModelLimits.maxInceptionKernel }) {
            throw fail("inceptionKernels", k, "kernels of at most \(ModelLimits.maxInceptionKernel)")
        }
        for (name, b) in branches {
            // The wide convolution reads the input: kernel and stride within it, padding below the kernel.
            if b.kernel > inputSamples { throw fail(name + ".kernel", b.kernel, "at most inputSamples (\(inputSamples))") }
            if b.stride > inputSamples { throw fail(name + ".stride", b.stride, "at most inputSamples (\(inputSamples))") }
            if b.padding >= b.kernel { throw fail(name + ".padding", b.padding, "less than the kernel (\(b.kernel))") }
            if b.convKernel > ModelLimits.maxConvKernel {
                throw fail(name + ".convKernel", b.convKernel, "at most \(ModelLimits.maxConvKernel) (the kernel limit)")
            }
            if b.convPadding >= b.convKernel {
                throw fail(name + ".convPadding", b.convPadding, "less than convKernel (\(b.convKernel))")
            }
            for (pname, p) in [("firstPool", b.firstPool), ("lastPool", b.lastPool)] where p.stride > inputSamples {
                throw fail("\(name).\(pname).stride", p.stride, "at most inputSamples (\(inputSamples))")
            }
        }
    }

    /// Estimated bytes of training this model on `batch` epochs: parameters with
    /// their gradients and Adam's three moments (5 copies), plus the activations a
    /// forward keeps for the backward (counted generously, several buffers per
    /// layer). Nil when the count overflows `Int`. Call only after `validateBounds`.
    public func estimatedTrainingBytes(batch: Int) -> Int? {
        var total = 0
        var overflow = false
        func product(_ factors: Int...) -> Int {
            var p = 1
            for f in factors {
                let (r, o) = p.multipliedReportingOverflow(by: f)
                if o { overflow = true; return 0 }
                p = r
            }
            return p
        }
        func add(_ x: Int) {
            let (r, o) = total.addingReportingOverflow(x)
            if o { overflow = true } else { total = r }
        }
        var parameters = 0
        var activations = inputSamples   // floats per epoch
        func param(_ x: Int) { let (r, o) = parameters.addingReportingOverflow(x); if o { overflow = true } else { parameters = r } }
        func act(_ x: Int) { let (r, o) = activations.addingReportingOverflow(x); if o { overflow = true } else { activations = r } }
        let F = cnnFirstChannels, C = cnnChannels, T = afrChannels, D = dModel
        for (_, b) in branches {
            param(product(F, b.kernel))
            param(product(C, F, b.convKernel))
            param(product(C, C, b.convKernel))
            let l1 = (inputSamples + 2 * b.padding - b.kernel) / b.stride + 1
            let l2 = max(1, l1 / b.firstPool.stride + 2 * b.convPadding + 2)
            act(product(8, F, max(l1, 1)))    // conv, batch norm, activation, pool, dropout
            act(product(8, C, l2))
        }
        // Recalibration (two convolutions, squeeze-excitation, downsample) and its activations.
        param(product(3, C, T))
        param(product(2, C, max(1, C / seReduction)))
        act(product(12, max(C, T), D))
        if isMultiScale {
            // One inception module (msmp) or one per branch (msmpPerBranch).
            let modules = featureExtractor == .msmpPerBranch ? branches.count : 1
            for k in inceptionKernels { param(product(modules, T, T, k, k)) }
            act(product(8, periods, inceptionKernels.count, T, D))
        }
        let hidden = encoder == .transformer ? dFF : product(conformerExpansion, D)
        for _ in 0..<encoderLayers {
            param(product(3, T, T, causalKernel))
            param(product(6, D, D))
            param(product(4, D, hidden))
            param(product(D, conformerKernel))
            act(product(16, T, D))
            act(product(6, T, hidden))
            act(product(4, heads, T, T))
        }
        param(product(T, D, classes))
        act(product(4, T, D))
        add(product(5, parameters, 4))
        add(product(batch, activations, 4))
        return overflow ? nil : total
    }

    /// Checks that this model trained or evaluated on batches of `batchSize` stays within
    /// `ModelLimits.maxEstimatedBytes`; the error names `field` of `source`.
    public func validateMemory(batchSize: Int, source: String, field: String) throws {
        let limit = ModelLimits.maxEstimatedBytes
        guard let bytes = estimatedTrainingBytes(batch: batchSize), bytes <= limit else {
            let found = estimatedTrainingBytes(batch: batchSize).map { String(format: "%.1f GiB", Double($0) / Double(1 << 30)) }
                ?? "more than \(Int.max) bytes"
            throw SleepfoldError(.invalidConfig, file: source, field: field,
                                 found: "an estimated \(found) for the parameters and a batch of \(batchSize)",
                                 expected: "at most \(limit >> 30) GiB (smaller sizes or batch)")
        }
    }
}
