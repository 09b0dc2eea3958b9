import Foundation
import SleepNet
import Testing
import Basics

/// The profiler only reads clocks (results bit for bit as without it), names
/// every layer of the model, and its self times add up to the step.
@Suite struct ProfilerTests {
    /// A narrow AttnSleep with dropout on, so that the dropout draws are compared too.
    static func smallModel() throws -> SleepModel {
        var config = ModelConfig()
        config.cnnFirstChannels = 16
        config.cnnChannels = 32
        config.afrChannels = 8
        config.heads = 4
        config.dFF = 32
        return try SleepModel(config: config, seed: 3)
    }

    static let batch = 6
    static let x: [Float] = {
        var rng = SeededGenerator(seed: 21)
        return (0..<(batch * 3000)).map { _ in Float(rng.nextGaussian()) * 20 }
    }()
    static let labels: [Int32] = [0, 1, 2, 3, 4, 2]

    /// Two training steps and an evaluation forward; the losses, then every
    /// parameter, gradient and BatchNorm buffer and the logits, as bit patterns.
    static func train(_ model: SleepModel) throws -> (losses: [UInt32], state: [UInt32]) {
        let adam = Adam(store: model.store, learningRate: 1e-3, weightDecay: 1e-3, amsgrad: true)
        let ce = WeightedCrossEntropy()
        var losses: [UInt32] = []
        for _ in 0..<2 {
            losses.append(try model.trainStep(x, labels: labels, classWeights: [1, 1.5, 1, 1, 1], loss: ce,
                                              optimizer: adam).bitPattern)
        }
        let s = model.store
        var state = (0..<s.parameterCount).map { s.values[$0].bitPattern }
        state += (0..<s.parameterCount).map { s.gradients[$0].bitPattern }
        state += (0..<s.bufferCount).map { s.bufferValues[$0].bitPattern }
        state += try model.forward(x, batch: batch, training: false).array.map(\.bitPattern)
        return (losses, state)
    }

    @Test func profilingChangesNoBit() throws {
        let plain = try Self.train(Self.smallModel())
        let profiler = Profiler()
        let profiled = try profiler.run { try Self.train(Self.smallModel()) }
        #expect(!profiler.results.isEmpty)   // it did profile
        #expect(plain.losses == profiled.losses)
        #expect(plain.state.count == profiled.state.count)
        #expect(plain.state == profiled.state)
    }

    /// Every module of AttnSleep's structure appears in the forward, backward and
    /// evaluation passes, under its PyTorch name; and every parameter that gets a
    /// gradient lies under a profiled name.
    @Test func everyLayerAppearsUnderItsPyTorchName() throws {
        let model = try Self.smallModel()
        let profiler = Profiler()
        try profiler.run {
            _ = try Self.train(model)
        }
        // (No "mrcnn.concat": the branches' last pools write the concatenation in place.)
        var layers: [String] = ["input", "fc", "mrcnn.dropout", "tce.norm"]
        for branch in ["mrcnn.features1", "mrcnn.features2"] {
            layers += ["0", "3", "5", "8", "11"].map { "\(branch).\($0)" }
        }
        layers += ["", ".conv1", ".bn1", ".conv2", ".bn2", ".se", ".downsample.0", ".downsample.1"].map { "mrcnn.AFR.0\($0)" }
        for i in 0..<2 {
            layers += ["", ".conv", ".self_attn", ".self_attn.convs.1", ".self_attn.convs.2", ".self_attn.linear",
                       ".sublayer_output.1.norm", ".feed_forward.w_1", ".feed_forward.w_2"].map { "tce.layers.\(i)\($0)" }
        }
        func names(_ pass: Profiler.Pass) -> Set<String> {
            Set(profiler.results.filter { $0.pass == pass }.map(\.name))
        }
        #expect(names(.forward) == Set(layers))
        #expect(names(.evaluation) == Set(layers))
        #expect(names(.backward) == Set(layers.filter { $0 != "input" } + ["gradients.zero"]))
        #expect(names(.loss) == ["loss"])
        #expect(names(.optimizer) == ["adam"])
        // Each entry was entered once per step (2 steps; one evaluation forward).
        for e in profiler.results {
            #expect(e.calls == (e.pass == .evaluation ? 1 : 2), "\(e.name) \(e.pass)")
        }
        // A conv block (mrcnn.featuresN.0) holds the BatchNorm after it (…1): its parameters count as the block's.
        let profiledNames = names(.backward)
        func block(_ parameter: String) -> Bool {
            var parts = parameter.split(separator: ".").map(String.init)
            while !parts.isEmpty {
                parts.removeLast()
                var prefix = parts.joined(separator: ".")
                if profiledNames.contains(prefix) { return true }
                if parts.count == 3, parts[0] == "mrcnn", let index = Int(parts[2]), let conv = [1: 0, 6: 5, 9: 8][index] {
                    prefix = "\(parts[0]).\(parts[1]).\(conv)"
                    if profiledNames.contains(prefix) { return true }
                }
            }
            return false
        }
        for p in model.store.parameters where p.receivesGradient {
            #expect(block(p.name), "\(p.name) lies under no profiled layer")
        }
    }

    /// The self times of a training step's scopes add up to its wall time (they do
    /// not double count and leave nothing big out); nested totals include self.
    @Test func selfTimesAddUpToTheStep() throws {
        let model = try Self.smallModel()
        let adam = Adam(store: model.store, learningRate: 1e-3, weightDecay: 1e-3, amsgrad: true)
        let ce = WeightedCrossEntropy()
        _ = try model.trainStep(Self.x, labels: Self.labels, classWeights: [1, 1, 1, 1, 1], loss: ce, optimizer: adam)
        let steps = 3
        // Self times can only fall short of the wall time, never exceed it; a loaded
        // machine makes them fall short by preempting between scopes, so the best of
        // three runs must be within 5 % (a scope left out or counted twice fails all three).
        var profiler = Profiler()
        var ratios: [Double] = []
        for _ in 0..<3 {
            profiler = Profiler()
            let wall = try profiler.run { () throws -> UInt64 in
                // Arrays are made before the clock starts, so only the step is timed.
                try Self.x.withUnsafeBufferPointer { xs in
                    try Self.labels.withUnsafeBufferPointer { ls in
                        let start = DispatchTime.now().uptimeNanoseconds
                        for _ in 0..<steps {
                            _ = try model.trainStep(xs, labels: ls, classWeights: [1, 1, 1, 1, 1], loss: ce,
                                                    optimizer: adam)
                        }
                        return DispatchTime.now().uptimeNanoseconds - start
                    }
                }
            }
            let covered = profiler.results.reduce(UInt64(0)) { $0 + $1.selfNanos }
            ratios.append(Double(covered) / Double(wall))
            #expect(ratios.last! <= 1.0, "self times exceed the run: \(ratios)")
            if ratios.last! > 0.95 { break }
        }
        #expect(ratios.max()! > 0.95, "self times cover \(ratios) of the runs")
        for e in profiler.results {
            #expect(e.selfNanos <= e.totalNanos, "\(e.name)")
            #expect(e.gemmSelfFLOPs >= 0, "\(e.name)")
        }
        // Layers with GEMMs have GEMM time and FLOPs; pools have none.
        let fc = try #require(profiler.results.first { $0.name == "fc" && $0.pass == .forward })
        #expect(fc.gemmSelfFLOPs == steps * 2 * Self.batch * 8 * 80 * 5)   // 2·B·(afr·dModel)·classes
        #expect(fc.gemmSelfNanos > 0)
        let pool = try #require(profiler.results.first { $0.name == "mrcnn.features1.11" && $0.pass == .forward })
        #expect(pool.gemmSelfNanos == 0 && pool.gemmSelfFLOPs == 0)
        // The encoder layer's GEMMs are its modules' (its own work is elementwise):
        // none in its self part.
        let layer = try #require(profiler.results.first { $0.name == "tce.layers.0" && $0.pass == .forward })
        #expect(layer.gemmSelfFLOPs == 0)
        let attention = try #require(profiler.results.first { $0.name == "tce.layers.0.self_attn" && $0.pass == .forward })
        #expect(attention.gemmSelfFLOPs > 0)   // the scaled dot-product core
    }
}
