import Basics
/// A copy of a model's parameters, buffers and counters: the best epoch's
/// weights, kept while training goes on.
struct ModelSnapshot {
    private var values: [Float]
    private var buffers: [Float]
    private var counters: [Int64]

    init(_ model: SleepModel) {
        let s = model.store
        values = Array(UnsafeBufferPointer(start: s.values, count: s.parameterCount))
        buffers = Array(UnsafeBufferPointer(start: s.bufferValues, count: s.bufferCount))
        counters = s.counters
    }

    /// Overwrites `model`'s state with this copy (the same architecture).
    func restore(into model: SleepModel) {
        let s = model.store
        values.withUnsafeBufferPointer { s.values.update(from: $0.baseAddress!, count: $0.count) }
        buffers.withUnsafeBufferPointer { s.bufferValues.update(from: $0.baseAddress!, count: $0.count) }
        s.counters = counters
    }
}
