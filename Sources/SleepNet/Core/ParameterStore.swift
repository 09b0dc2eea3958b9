import Basics

/// Where a parameter or buffer lives inside its store's block.
public struct TensorView: Sendable, Equatable {
    /// Offset of the first element in the block.
    public let offset: Int
    /// Number of elements.
    public let count: Int
}

/// How a parameter is initialised (PyTorch's rules, driven by a SeededGenerator).
public enum Initializer: Sendable, Equatable {
    case normal(mean: Float, std: Float)
    case uniform(bound: Float)
    case constant(Float)
}

/// All parameters, gradients and BatchNorm buffers of one network, each kind in
/// one contiguous block, reached by views with PyTorch's state_dict names.
///
/// Layers register their tensors while the network is built (`register…`),
/// then `allocate()` creates the blocks once. Parameters that never receive a
/// gradient (AttnSleep's unused `convs.0` and `sublayer_output.0.norm`) are
/// marked so, and the optimizer leaves them alone.
public final class ParameterStore {
    /// One parameter: name, shape, place in the block.
    public struct Parameter: Sendable {
        public let name: String
        public let shape: [Int]
        public let view: TensorView
        /// False for a parameter the forward pass never uses.
        public let receivesGradient: Bool
        public let initializer: Initializer
    }

    /// One Float buffer (running_mean, running_var).
    public struct Buffer: Sendable {
        public let name: String
        public let shape: [Int]
        public let view: TensorView
        public let initialValue: Float
    }

    public private(set) var parameters: [Parameter] = []
    public private(set) var buffers: [Buffer] = []
    /// Names of the Int64 counters (num_batches_tracked), index = counter id.
    public private(set) var counterNames: [String] = []

    /// Number of parameter elements (length of `values` and `gradients`).
    public private(set) var parameterCount = 0
    /// Number of Float buffer elements.
    public private(set) var bufferCount = 0

    /// Parameter values, one block.
    public private(set) var values = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    /// Parameter gradients, one block laid out as `values`.
    public private(set) var gradients = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    /// BatchNorm running statistics, one block.
    public private(set) var bufferValues = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    /// BatchNorm num_batches_tracked counters.
    public var counters: [Int64] = []
    /// True while one evaluation forward runs its second and later slices or
    /// chunks (set by the model around them): the values cannot change before it
    /// ends, so a layer may keep what it derived from them in the same forward
    /// (the Winograd layers' transformed weights) without comparing them again.
    var valuesSettled = false
    /// The number format the model's evaluation forwards run in (its layers read
    /// it; training ignores it). Set through `SleepModel.evaluationPrecision`.
    public var evaluationPrecision = EvaluationPrecision.float32

    private var allocated = false
    private var parameterIndex: [String: Int] = [:]
    private var bufferIndex: [String: Int] = [:]
    private var counterIndex: [String: Int] = [:]

    public init() {}

    deinit {
        values.deallocate()
        gradients.deallocate()
        bufferValues.deallocate()
    }

    // MARK: - Building

    /// Adds a parameter; call before `allocate()`.
    func registerParameter(
        _ name: String, shape: [Int], initializer: Initializer, receivesGradient: Bool = true
    ) -> TensorView {
        precondition(!allocated, "parameters are registered before allocation")
        let count = shape.reduce(1, *)
        let view = TensorView(offset: parameterCount, count: count)
        parameterIndex[name] = parameters.count
        parameters.append(Parameter(name: name, shape: shape, view: view,
                                    receivesGradient: receivesGradient, initializer: initializer))
        parameterCount += count
        return view
    }

    /// Adds a Float buffer; call before `allocate()`.
    func registerBuffer(_ name: String, shape: [Int], initialValue: Float) -> TensorView {
        precondition(!allocated, "buffers are registered before allocation")
        let count = shape.reduce(1, *)
        let view = TensorView(offset: bufferCount, count: count)
        bufferIndex[name] = buffers.count
        buffers.append(Buffer(name: name, shape: shape, view: view, initialValue: initialValue))
        bufferCount += count
        return view
    }

    /// Adds an Int64 counter; returns its index in `counters`.
    func registerCounter(_ name: String) -> Int {
        counterIndex[name] = counterNames.count
        counterNames.append(name)
        counters.append(0)
        return counterNames.count - 1
    }

    /// Creates the blocks once all layers are registered: gradients zero, buffers at their initial values,
    /// parameters initialised from `seed` (nil: zero, to be loaded next).
    public func allocate(seed: UInt64?) {
        precondition(!allocated)
        allocated = true
        values.deallocate(); gradients.deallocate(); bufferValues.deallocate()
        values = .allocate(capacity: max(1, parameterCount))
        gradients = .allocate(capacity: max(1, parameterCount))
        bufferValues = .allocate(capacity: max(1, bufferCount))
        gradients.update(repeating: 0, count: parameterCount)
        for b in buffers {
            (bufferValues + b.view.offset).update(repeating: b.initialValue, count: b.view.count)
        }
        if let seed { initialize(seed: seed) } else { values.update(repeating: 0, count: parameterCount) }
    }

    /// Re-draws every parameter from `seed` (PyTorch's rules, our generator).
    public func initialize(seed: UInt64) {
        var rng = SeededGenerator(seed: seed, stream: 0x1417)
        for p in parameters {
            let dst = values + p.view.offset
            switch p.initializer {
            case .constant(let v):
                dst.update(repeating: v, count: p.view.count)
            case .uniform(let bound):
                for i in 0..<p.view.count {
                    dst[i] = Float((rng.nextUnitDouble() * 2 - 1) * Double(bound))
                }
            case .normal(let mean, let std):
                for i in 0..<p.view.count {
                    dst[i] = Float(Double(mean) + rng.nextGaussian() * Double(std))
                }
            }
        }
    }

    // MARK: - Access

    /// Sets every gradient to zero (before a backward pass).
    public func zeroGradients() {
        gradients.update(repeating: 0, count: parameterCount)
    }

    /// The parameter named `name` (PyTorch state_dict name), if any.
    public func parameter(named name: String) -> Parameter? {
        parameterIndex[name].map { parameters[$0] }
    }

    /// The Float buffer named `name`, if any.
    public func buffer(named name: String) -> Buffer? {
        bufferIndex[name].map { buffers[$0] }
    }

    /// Index in `counters` of the counter named `name`, if any.
    public func counterIndex(named name: String) -> Int? { counterIndex[name] }

    /// Values of the parameter named `name`.
    public func value(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        parameter(named: name).map { UnsafeMutableBufferPointer(start: values + $0.view.offset, count: $0.view.count) }
    }

    /// Gradient of the parameter named `name`.
    public func gradient(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        parameter(named: name).map { UnsafeMutableBufferPointer(start: gradients + $0.view.offset, count: $0.view.count) }
    }

    /// Values of the Float buffer named `name`.
    public func bufferValue(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        buffer(named: name).map { UnsafeMutableBufferPointer(start: bufferValues + $0.view.offset, count: $0.view.count) }
    }

    @inline(__always) func value(_ v: TensorView) -> UnsafeMutablePointer<Float> { values + v.offset }
    @inline(__always) func gradient(_ v: TensorView) -> UnsafeMutablePointer<Float> { gradients + v.offset }
    @inline(__always) func buffer(_ v: TensorView) -> UnsafeMutablePointer<Float> { bufferValues + v.offset }
}
