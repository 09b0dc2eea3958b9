import Basics
/// A contiguous Float32 buffer with an explicit shape, batch first (B, C, L).
///
/// The tensor is the one place that allocates activation and gradient memory.
/// `resize` keeps the storage when the new shape fits in it, so a layer that
/// sizes its buffers for the batch on first use reuses them on every later step
/// without allocating.
public final class Tensor {
    /// Current shape; `count` elements of `data` are valid.
    public private(set) var shape: Shape
    /// Start of the storage (valid for `capacity` elements).
    public private(set) var data: UnsafeMutablePointer<Float>
    /// Number of elements the storage holds.
    public private(set) var capacity: Int

    /// An empty tensor (shape (0)); storage comes with the first `resize`.
    public init() {
        shape = Shape(0)
        capacity = 0
        data = Self.allocate(1)
    }

    /// Storage for `count` floats on a 64-byte boundary (a cache line): rows and
    /// panels laid out in multiples of 16 floats then start on a line, so the
    /// AVX-512 loops' 64-byte loads and stores of them (the Winograd transforms'
    /// phase rows and V, the sgemm's packed panels of V and its output rows) do
    /// not straddle two lines. malloc's 16-byte alignment (mmap'ed blocks start 16
    /// bytes into a page) put every one of them across two. Freed by `deallocate`.
    static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: 4 * count, alignment: 64).bindMemory(to: Float.self, capacity: count)
    }

    /// A zero-filled tensor of the given shape.
    public convenience init(shape: Shape) {
        self.init()
        resize(shape)
        zero()
    }

    /// A tensor holding a copy of `values`, which must have `shape.count` elements.
    public convenience init(shape: Shape, values: [Float]) {
        self.init()
        resize(shape)
        let n = min(values.count, shape.count)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { data.update(from: base, count: n) }
        }
    }

    deinit { data.deallocate() }

    /// Number of valid elements.
    public var count: Int { shape.count }

    /// Sets the shape; reallocates only when the storage is too small (contents
    /// are then undefined, as after any resize the caller overwrites them).
    public func resize(_ newShape: Shape) {
        if newShape.count > capacity {
            data.deallocate()
            data = Self.allocate(newShape.count)
            capacity = newShape.count
        }
        shape = newShape
    }

    /// Sets every valid element to zero.
    public func zero() {
        data.update(repeating: 0, count: count)
    }

    /// The valid elements as a buffer pointer.
    public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: data, count: count)
    }

    /// A copy of the valid elements (allocates: for tests and results).
    public var array: [Float] { Array(buffer) }
}
