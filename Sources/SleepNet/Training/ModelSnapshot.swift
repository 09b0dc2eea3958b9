import Basics
/// A copy of a model's parameters, buffers and counters: the best epoch's
/// weights, kept while training goes on, and the weights of a fold state.
/// Each array is laid out as the store's block (registration order).
struct ModelSnapshot: Sendable, Equatable {
    /// Parameter values (parameterCount).
    private(set) var values: [Float]
    /// BatchNorm running statistics (bufferCount).
    private(set) var buffers: [Float]
    /// num_batches_tracked counters (counterNames.count).
    private(set) var counters: [Int64]

    init(_ model: SleepModel) {
        let s = model.store
        values = Array(UnsafeBufferPointer(start: s.values, count: s.parameterCount))
        buffers = Array(UnsafeBufferPointer(start: s.bufferValues, count: s.bufferCount))
        counters = s.counters
    }

    /// A snapshot read back from a fold state; the caller has checked the sizes.
    init(values: [Float], buffers: [Float], counters: [Int64]) {
        self.values = values
        self.buffers = buffers
        self.counters = counters
    }

    /// Overwrites `model`'s state with this copy (the same architecture).
    func restore(into model: SleepModel) {
        let s = model.store
        precondition(values.count == s.parameterCount && buffers.count == s.bufferCount
                     && counters.count == s.counters.count, "a snapshot of another architecture")
        values.withUnsafeBufferPointer { s.values.update(from: $0.baseAddress!, count: $0.count) }
        buffers.withUnsafeBufferPointer { s.bufferValues.update(from: $0.baseAddress!, count: $0.count) }
        s.counters = counters
    }
}
