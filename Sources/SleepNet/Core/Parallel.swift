import COpenBLAS
import Dispatch
import Synchronization
import Basics

/// How many threads the model core uses.
///
/// OpenBLAS itself always runs single-threaded: its threaded GEMM driver cuts
/// the K dimension into blocks differently from the single-threaded one, so
/// its results depend on the thread count. Instead the model core splits work
/// over samples, channels or fixed-size chunks and runs each parallel region
/// on at most `count` lanes (Dispatch workers); every sum runs in a fixed order
/// (weight gradients are summed per fixed chunk of samples, then chunk by
/// chunk), so results are bit-identical whatever the thread count.
///
/// The count is the innermost `with(count:)` scope's in the current task (a
/// task-local, so tests running in parallel each keep their own), else the
/// process-wide one a program sets once with `set`. Inside a parallel region
/// the count is 1: a region started from a lane runs on that lane.
public enum ComputeThreads {
    // Set by a program at start-up; read in every layer (possibly from other threads).
    private static let processWide = Atomic<Int>(1)

    /// A `with(count:)` scope, or the inside of a parallel region (count 1).
    final class Scope: Sendable {
        let count: Int
        /// Where the scope's parallel regions are recorded (that of the
        /// enclosing `with(count:)` inside a region; nil outside any).
        let usage: ParallelUsage?

        init(count: Int, usage: ParallelUsage?) {
            self.count = count
            self.usage = usage
        }
    }

    @TaskLocal static var scope: Scope?

    /// Makes OpenBLAS single-threaded before its first GEMM (it would otherwise
    /// start a thread per core, and it must not be entered from two threads
    /// while threaded).
    static let configured: Void = openblas_set_num_threads(1)

    /// The thread count in use here: the innermost `with(count:)` scope's, 1
    /// inside a parallel region, else the process-wide count (1 until `set`).
    public static var count: Int { scope?.count ?? processWideCount }

    /// The count `set` gave (1 until then).
    static var processWideCount: Int { processWide.load(ordering: .relaxed) }

    /// Uses `n` threads (at least 1) wherever no `with(count:)` scope says
    /// otherwise: the whole program's setting. Call between steps, not during one.
    public static func set(_ n: Int) {
        _ = configured
        processWide.store(max(1, n), ordering: .relaxed)
    }

    /// Runs `body` with `n` threads (at least 1), whatever `set` or other tasks
    /// do meanwhile: the count is bound to this task for the duration of `body`.
    /// `usage` then records the parallel regions `body` runs.
    public static func with<R>(count n: Int, _ body: () throws -> R) rethrows -> R {
        _ = configured
        return try $scope.withValue(Scope(count: max(1, n), usage: ParallelUsage())) { try body() }
    }

    /// The parallel regions run so far in the innermost `with(count:)` scope
    /// (from any lane); nil outside such a scope.
    public static var usage: ParallelUsage? { scope?.usage }
}

/// What the parallel regions of a `ComputeThreads.with(count:)` scope did:
/// how many ran, how many were split over more than one lane, and the most
/// lanes one was split over (never more than the scope's count).
public final class ParallelUsage: Sendable {
    private let regions = Atomic<Int>(0)
    private let split = Atomic<Int>(0)
    private let widest = Atomic<Int>(0)

    init() {}

    /// Parallel regions run (serial ones included).
    public var regionCount: Int { regions.load(ordering: .relaxed) }
    /// Regions whose iterations were spread over two lanes or more.
    public var splitRegionCount: Int { split.load(ordering: .relaxed) }
    /// The most lanes any one region used.
    public var maxLanes: Int { widest.load(ordering: .relaxed) }

    func record(lanes: Int) {
        regions.add(1, ordering: .relaxed)
        if lanes > 1 { split.add(1, ordering: .relaxed) }
        widest.max(lanes, ordering: .relaxed)
    }
}

/// Runs `body(i)` for i in 0..<n, spread over at most `ComputeThreads.count`
/// lanes, each taking the next index not yet taken. Each index must write
/// disjoint memory. Inside `body` the count is 1: a parallel region it starts
/// runs on its lane (Dispatch workers see no task-locals, so the lanes bind it).
/// (SPI for the tests of nested regions.)
@_spi(Testing) @inline(__always)
public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    let scope = ComputeThreads.scope
    let lanes = max(1, min(scope?.count ?? ComputeThreads.processWideCount, n))
    scope?.usage?.record(lanes: lanes)
    if lanes == 1 {
        for i in 0..<n { body(i) }
        return
    }
    let inside = ComputeThreads.Scope(count: 1, usage: scope?.usage)
    // The lanes' GEMM time belongs to the profiler of the task that started the region.
    let profiler = Profiler.current
    let next = LaneCursor()
    // The body writes disjoint memory per index (the contract above), which
    // the compiler cannot check: hand it over as unchecked-Sendable.
    withoutActuallyEscaping(body) { escaping in
        let box = UncheckedSendable(escaping)
        DispatchQueue.concurrentPerform(iterations: lanes) { _ in
            func lane() {
                ComputeThreads.$scope.withValue(inside) {
                    while true {
                        let i = next.take()
                        if i >= n { break }
                        box.value(i)
                    }
                }
            }
            // Bound only when on: profiling off adds no task-local to the lanes.
            if let profiler { Profiler.$current.withValue(profiler) { lane() } } else { lane() }
        }
    }
}

/// Number of lanes `parallelLanes` uses for `n` items now: read it once and
/// pass it on, so scratch sized for it matches even if the count changes.
@inline(__always)
func laneCount(_ n: Int) -> Int { max(1, min(ComputeThreads.count, n)) }

/// Runs `body(lane, item)` for every item in 0..<n on at most `lanes` lanes,
/// each lane taking the next item not yet taken (a lane slowed by other work
/// on its core takes fewer): `lane` indexes per-thread scratch buffers (it must
/// not influence results).
@inline(__always)
func parallelLanes(_ n: Int, lanes: Int, _ body: (_ lane: Int, _ item: Int) -> Void) {
    let lanes = max(1, lanes)
    // Exactly `lanes` iterations, run serially or concurrently (each on one
    // thread at a time): scratch sized for `lanes` always fits.
    let next = LaneCursor()
    parallelFor(lanes) { lane in
        while true {
            let i = next.take()
            if i >= n { break }
            body(lane, i)
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

/// The next index of a parallel region, shared by its lanes.
private final class LaneCursor: Sendable {
    private let next = Atomic<Int>(0)

    @inline(__always)
    func take() -> Int { next.add(1, ordering: .relaxed).oldValue }
}

/// A value handed to Dispatch workers whose safety the caller guarantees.
private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
