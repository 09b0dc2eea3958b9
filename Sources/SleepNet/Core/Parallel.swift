import COpenBLAS
import Dispatch

/// How many threads the model core uses: OpenBLAS threads for GEMMs and
/// Dispatch workers for elementwise passes.
///
/// Results do not depend on this number: work is split over channels or samples
/// whose sums run in a fixed order, never a reduction split by thread count
/// (OpenBLAS sgemm splits M and N over threads, not K).
public enum ComputeThreads {
    // Set once at start-up by the worker; read in every layer.
    nonisolated(unsafe) private static var current = 1

    /// The thread count in use (1 until `set` is called).
    public static var count: Int { current }

    /// Uses `n` threads (at least 1) for GEMMs and elementwise work.
    public static func set(_ n: Int) {
        current = max(1, n)
        openblas_set_num_threads(Int32(current))
    }
}

/// Runs `body(i)` for i in 0..<n, spread over the compute threads. Each index
/// must write disjoint memory; no GEMM inside (OpenBLAS threads would oversubscribe).
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

/// A value handed to Dispatch workers whose safety the caller guarantees.
private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
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
