import Basics

/// Shuffled mini-batches over the epochs of several recordings, assembled
/// into one reused buffer (B, samples) with its labels (B); the epochs come from
/// an `EpochSource` (memory or files), the order only from the labels.
///
/// The last batch holds the remainder (PyTorch's DataLoader without
/// drop_last), unless that remainder is a single epoch: BatchNorm cannot
/// normalise a batch of one, so it is dropped for that epoch.
final class EpochBatches {
    private let source: any EpochSource
    private var order: [(recording: Int32, epoch: Int32)]
    let batchSize: Int
    private let samples: Int
    private let x: UnsafeMutablePointer<Float>      // (batchSize, samples)
    private let labels: UnsafeMutablePointer<Int32> // (batchSize)

    init(source: any EpochSource, batchSize: Int) {
        self.source = source
        self.batchSize = batchSize
        self.samples = source.samplesPerEpoch
        order = []
        for (r, labels) in source.labels.enumerated() {
            for e in 0..<labels.count { order.append((Int32(r), Int32(e))) }
        }
        x = .allocate(capacity: max(1, batchSize * samples))
        labels = .allocate(capacity: max(1, batchSize))
    }

    deinit {
        x.deallocate()
        labels.deallocate()
    }

    var count: Int { Self.count(epochs: order.count, batchSize: batchSize) }

    /// Batches per epoch for `epochs` training epochs: the full batches and the
    /// remainder's batch, unless the remainder is a single epoch.
    static func count(epochs: Int, batchSize: Int) -> Int {
        let full = epochs / batchSize, rest = epochs % batchSize
        return full + (rest > 1 ? 1 : 0)
    }

    func shuffle(using rng: inout SeededGenerator) {
        seededShuffle(&order, using: &rng)
    }

    /// Batch `b`: its samples (n, samples), labels (n) and size n. The buffers
    /// are valid until the next call.
    func batch(_ b: Int) throws -> (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Int32>, Int) {
        let start = b * batchSize
        let n = min(batchSize, order.count - start)
        let S = samples
        let allLabels = source.labels
        for i in 0..<n {
            let (r, e) = order[start + i]
            try source.copyEpoch(recording: Int(r), epoch: Int(e), to: x + i * S)
            labels[i] = allLabels[Int(r)][Int(e)]
        }
        let xp = UnsafeBufferPointer(start: x, count: n * S)
        let lp = UnsafeBufferPointer(start: labels, count: n)
        return (xp, lp, n)
    }
}
