import COpenBLAS
import Dispatch
import Synchronization
import Basics
import Evaluation

/// How many threads the model core uses.
///
/// OpenBLAS itself always runs single-threaded: its threaded GEMM driver cuts
/// the K dimension into blocks differently from the single-threaded one, so
/// its results depend on the thread count. Instead the model core splits work
/// over samples, channels or fixed-size chunks and runs them on `count`
/// Dispatch workers; every sum runs in a fixed order (weight gradients are
/// summed per fixed chunk of samples, then chunk by chunk), so results are
/// bit-identical whatever the thread count.
public enum ComputeThreads {
    // Set by the worker at start-up; read in every layer (possibly from other threads).
    private static let current = Atomic<Int>(1)

    /// Makes OpenBLAS single-threaded before its first GEMM (it would otherwise
    /// start a thread per core, and it must not be entered from two threads
    /// while threaded).
    static let configured: Void = openblas_set_num_threads(1)

    /// The thread count in use (1 until `set` is called).
    public static var count: Int { current.load(ordering: .relaxed) }

    /// Uses `n` threads (at least 1). Call between steps, not during one.
    public static func set(_ n: Int) {
        _ = configured
        current.store(max(1, n), ordering: .relaxed)
    }
}

/// Runs `body(i)` for i in 0..<n, spread over the compute threads. Each index
/// must write disjoint memory.
@inline(__always)
func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    if ComputeThreads.count <= 1 || n <= 1 {
        for i in 0..<n { body(i) }
    } else {
        // The body writes disjoint memory per index (the contract above), which
        // the compiler cannot check: hand it over as unchecked-Sendable.
        withoutActuallyEscaping(body) { escaping in
            let box = UncheckedSendable(escaping)
            DispatchQueue.concurrentPerform(iterations: n) { box.value($0) }
        }
    }
}

/// Number of lanes `parallelLanes` uses for `n` items now: read it once and
/// pass it on, so scratch sized for it matches even if the count changes.
@inline(__always)
func laneCount(_ n: Int) -> Int { max(1, min(ComputeThreads.count, n)) }

/// Runs `body(lane, item)` for every item in 0..<n, item i on lane i mod
/// `lanes`: `lane` indexes per-thread scratch buffers (it must not influence results).
@inline(__always)
func parallelLanes(_ n: Int, lanes: Int, _ body: (_ lane: Int, _ item: Int) -> Void) {
    let lanes = max(1, lanes)
    // Exactly `lanes` iterations, run serially or concurrently: scratch sized
    // for `lanes` always fits.
    parallelFor(lanes) { lane in
        var i = lane
        while i < n {
            body(lane, i)
            i += lanes
        }
    }
}

/// Runs `body(range)` over `n` items cut into fixed chunks of `chunk` items
/// (the cut does not depend on the thread count).
@inline(__always)
func parallelChunks(_ n: Int, chunk: Int, _ body: (Range<Int>) -> Void) {
    let chunks = (n + chunk - 1) / chunk
    parallelFor(chunks) { c in
        body((c * chunk)..<min(n, (c + 1) * chunk))
    }
}

/// A value handed to Dispatch workers whose safety the caller guarantees.
private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
