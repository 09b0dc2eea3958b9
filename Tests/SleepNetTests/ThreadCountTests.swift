import Foundation
@_spi(Testing) import SleepNet
import Testing
import Basics

/// Results never depend on the thread count: the same seed and data give the
/// same bits with 1 and 2 threads, for every kind of model. Each run sets its
/// count for itself (`ComputeThreads.with`), so suites running in parallel
/// cannot change it, and reports how many lanes its parallel regions used.
@Suite struct ThreadCountTests {
    struct ModelCase: Sendable, CustomStringConvertible {
        var name: String
        var config: ModelConfig
        var description: String { name }
    }

    /// AttnSleep's structure at small widths (dropout on: masks must not depend on threads either).
    static var small: ModelConfig {
        var c = ModelConfig()
        c.cnnFirstChannels = 16
        c.cnnChannels = 32
        c.afrChannels = 8
        c.heads = 4
        c.dFF = 32
        return c
    }

    static let models: [ModelCase] = [
        ModelCase(name: "attnsleep", config: small),
        ModelCase(name: "conformer", config: ConformerModelTests.conformer(small)),
        ModelCase(name: "conformer over tokens", config: ConformerModelTests.conformerOverTokens(small)),
        ModelCase(name: "msmp per branch", config: MultiScaleMultiPeriodTests.msmp()),
        ModelCase(name: "msmp", config: MultiScaleMultiPeriodTests.msmp(kind: .msmp)),
        ModelCase(name: "msmp per branch + conformer",
                  config: ConformerModelTests.conformer(MultiScaleMultiPeriodTests.msmp(encoder: .conformer))),
    ]

    /// Everything two training steps and an evaluation forward produce.
    struct Run: Equatable {
        var trainLogits: [[Float]] = []
        var losses: [Float] = []
        var gradients: [[Float]] = []
        var values: [[Float]] = []
        var evalLogits: [Float] = []
        /// An evaluation batch cut into slices (32, 32, 6 samples), spread over the threads.
        var slicedEvalLogits: [Float] = []
    }

    /// 17 samples: several samples per convolution GEMM, three weight-gradient
    /// chunks of 8 (the last one short), an odd count for every split.
    static func train(_ config: ModelConfig, steps: Int = 2) throws -> Run {
        let B = 17
        let x = SleepModelTests.batch(B, samples: config.inputSamples, seed: 3)
        let labels = (0..<B).map { Int32($0 % 5) }
        let model = try SleepModel(config: config, seed: 5)
        let adam = Adam(store: model.store, learningRate: 1e-3, weightDecay: 1e-3, amsgrad: true)
        let ce = WeightedCrossEntropy()
        var run = Run()
        for _ in 0..<steps {
            let logits = try model.forward(x, batch: B, training: true)
            run.trainLogits.append(logits.array)
            run.losses.append(try labels.withUnsafeBufferPointer {
                try ce.forward(logits: logits, labels: $0, classWeights: [1, 2, 1, 1, 1])
            })
            model.zeroGradients()
            try model.backward(ce.logitsGradient)
            run.gradients.append(Array(UnsafeBufferPointer(start: model.store.gradients, count: model.parameterCount)))
            adam.step()
            run.values.append(Array(UnsafeBufferPointer(start: model.store.values, count: model.parameterCount)))
        }
        run.evalLogits = try model.forward(x, batch: B, training: false).array
        // In a scope of its own: at 2 threads a replica's first forward transforms its
        // Winograd weights, parallel regions a 1-thread run does not have.
        let sliced = 2 * SleepModel.evaluationSlice + 6
        let xs = SleepModelTests.batch(sliced, samples: config.inputSamples, seed: 4)
        run.slicedEvalLogits = try ComputeThreads.with(count: ComputeThreads.count) {
            try model.forward(xs, batch: sliced, training: false).array
        }
        return run
    }

    @Test(arguments: models)
    func trainingIsBitIdenticalAcrossThreadCounts(_ model: ModelCase) throws {
        func run(threads: Int) throws -> (Run, ParallelUsage) {
            try ComputeThreads.with(count: threads) {
                #expect(ComputeThreads.count == threads)
                return (try Self.train(model.config), try #require(ComputeThreads.usage))
            }
        }
        let (one, oneUsage) = try run(threads: 1)
        let (two, twoUsage) = try run(threads: 2)
        // The runs really used 1 and 2 lanes, over the same parallel regions.
        #expect(oneUsage.maxLanes == 1 && oneUsage.splitRegionCount == 0)
        #expect(twoUsage.maxLanes == 2 && twoUsage.splitRegionCount > 0)
        #expect(oneUsage.regionCount == twoUsage.regionCount && oneUsage.regionCount > 0)

        #expect(one.trainLogits == two.trainLogits)
        #expect(one.losses == two.losses)
        #expect(one.gradients == two.gradients)
        #expect(one.values == two.values)
        #expect(one.evalLogits == two.evalLogits)
        #expect(one.slicedEvalLogits == two.slicedEvalLogits)
        #expect(one.gradients.allSatisfy { g in g.contains { $0 != 0 } })
        #expect(one.losses.allSatisfy { $0.isFinite })
    }

    /// Two tasks at once, one with 1 thread and one with 2: each keeps its own count.
    @Test func concurrentScopesKeepTheirOwnCounts() async throws {
        @Sendable func run(threads: Int) -> (counts: Set<Int>, maxLanes: Int) {
            ComputeThreads.with(count: threads) {
                // Each task its own layer (a layer keeps buffers: one forward at a time).
                let store = ParameterStore()
                let conv = Conv1d(store: store, name: "c", inChannels: 4, outChannels: 8, kernel: 5, padding: 2)
                store.allocate(seed: 1)
                let x = randomTensor(Shape(8, 4, 300), seed: 2), dy = randomTensor(Shape(8, 8, 300), seed: 3)
                var counts = Set<Int>()
                for _ in 0..<50 {
                    counts.insert(ComputeThreads.count)
                    conv.forward(x)
                    conv.backward(dy)
                }
                return (counts, ComputeThreads.usage?.maxLanes ?? 0)
            }
        }
        async let a = Task.detached { run(threads: 1) }.value
        async let b = Task.detached { run(threads: 2) }.value
        let (one, two) = await (a, b)
        #expect(one.counts == [1] && one.maxLanes == 1)
        #expect(two.counts == [2] && two.maxLanes == 2)
        #expect(ComputeThreads.usage == nil)
    }

    /// A region started inside a region runs on its lane (count 1 there, even
    /// on a Dispatch worker, which sees no task-locals), and every index runs once.
    @Test func nestedRegionsRunOnTheirLane() throws {
        let outer = 6, inner = 7
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: outer * inner)
        let countsInside = UnsafeMutablePointer<Int>.allocate(capacity: outer)
        defer { hits.deallocate(); countsInside.deallocate() }
        hits.initialize(repeating: 0, count: outer * inner)
        countsInside.initialize(repeating: 0, count: outer)
        let usage = try ComputeThreads.with(count: 2) {
            parallelFor(outer) { i in
                countsInside[i] = ComputeThreads.count
                parallelFor(inner) { j in hits[i * inner + j] += 1 }
            }
            return try #require(ComputeThreads.usage)
        }
        #expect((0..<(outer * inner)).allSatisfy { hits[$0] == 1 })
        #expect((0..<outer).allSatisfy { countsInside[$0] == 1 })
        #expect(usage.regionCount == 1 + outer && usage.splitRegionCount == 1 && usage.maxLanes == 2)
    }
}
