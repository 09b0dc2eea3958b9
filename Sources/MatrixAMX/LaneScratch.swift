/// One 64-byte aligned scratch block per lane (thread), for AMXConvolution and
/// AMXLinear: each lane's packed inputs and edge tile. Blocks only grow.
final class LaneScratch {
    private var blocks: [UnsafeMutableRawPointer] = []
    /// Bytes of every block.
    private(set) var bytes = 0

    /// At least `count` blocks of at least `bytes` bytes each (all reallocated when they grow).
    func reserve(_ count: Int, bytes needed: Int) {
        if needed > bytes {
            for block in blocks { block.deallocate() }
            blocks = []
            bytes = needed
        }
        while blocks.count < count {
            blocks.append(UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64))
        }
    }

    /// Lane `lane`'s block of at least `needed` bytes (reserved before).
    func block(_ lane: Int, bytes needed: Int) -> UnsafeMutableRawPointer {
        precondition(lane < blocks.count && needed <= bytes, "MatrixAMX: scratch not reserved for this lane and size")
        return blocks[lane]
    }

    deinit { for block in blocks { block.deallocate() } }
}

/// `count` zeroed elements of T on a 64-byte boundary (a tile row); the caller deallocates.
func allocateAligned<T>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
    let memory = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<T>.stride * count, alignment: 64)
    memory.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<T>.stride * count)
    return memory.bindMemory(to: T.self, capacity: count)
}
