import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Per-layer wall time of the model core, for `sleepfold bench --profile`.
///
/// Off by default: every instrumented call (`Profiler.measure`) then costs one
/// task-local read and one branch on `Profiler.current`, and `sgemm` the same. While a
/// profiler is installed (`Profiler.run`), each scope's time is read from the
/// monotonic clock in nanoseconds and attributed to its name (the PyTorch
/// parameter prefix of the layer, e.g. "mrcnn.features1.0", "tce.layers.0.self_attn")
/// and to the current pass. The profiler only reads clocks: the model computes
/// exactly the same numbers with it on or off.
///
/// Scopes nest (a layer calls its sublayers): each entry has a *total* time
/// (the whole scope) and a *self* time (total minus the nested scopes'
/// totals). Self times never double count; summed over all entries they give
/// the time spent inside the outermost scopes. The same split is kept for the
/// time and FLOPs inside `sgemm`.
///
/// The profiler is a task-local, like `ComputeThreads`' count: it profiles
/// the task that installed it and the lanes of its parallel regions, and no
/// other model in the process (tests run in parallel). GEMM time and FLOPs
/// are summed over those lanes: at 1 compute thread the time is wall time; at
/// more it is CPU time and may exceed the scope's wall time.
///
/// `@unchecked Sendable`: scopes are opened and closed only by the task that
/// drives the model (as the model itself requires); lanes touch only the atomics.
public final class Profiler: @unchecked Sendable {
    /// The pass a scope's time is counted under.
    public enum Pass: String, Sendable, CaseIterable, Codable {
        case forward, loss, backward, optimizer
        /// An evaluation-mode forward (no dropout, running statistics).
        case evaluation
    }

    /// One (name, pass) pair's accumulated times.
    public struct Entry: Sendable, Codable {
        public var name: String
        public var pass: Pass
        /// How many times the scope was entered.
        public var calls = 0
        /// Wall time of the scope, nested scopes included.
        public var totalNanos: UInt64 = 0
        /// Wall time of the scope minus its nested scopes' wall time.
        public var selfNanos: UInt64 = 0
        /// Time inside `sgemm` (summed over threads), nested scopes excluded.
        public var gemmSelfNanos: UInt64 = 0
        /// FLOPs issued through `sgemm` (2·m·n·k), nested scopes excluded.
        public var gemmSelfFLOPs: Int = 0
    }

    /// The installed profiler, nil when profiling is off (the default).
    @TaskLocal static var current: Profiler?

    /// Nanoseconds spent inside `sgemm` and the FLOPs it did since the profiler
    /// was installed; atomics because the lanes of a parallel region multiply concurrently.
    let gemmNanos = Atomic<UInt64>(0)
    let gemmFLOPs = Atomic<Int>(0)

    /// The pass scopes are counted under; set by the model's entry points.
    var pass: Pass = .forward

    private struct Frame {
        var index: Int            // into `entries`
        var start: UInt64
        var gemmStart: UInt64
        var flopsStart: Int
        var childNanos: UInt64 = 0
        var childGemmNanos: UInt64 = 0
        var childFLOPs: Int = 0
    }
    private var stack: [Frame] = []
    private var entries: [Entry] = []
    private struct Key: Hashable { var name: String; var pass: Pass }
    private var indexOf: [Key: Int] = [:]   // -> index into entries

    public init() {
        stack.reserveCapacity(16)
    }

    /// The entries in the order first seen.
    public var results: [Entry] { entries }

    /// Installs `self` for the duration of `body`, in this task.
    public func run<T>(_ body: () throws -> T) rethrows -> T {
        try Self.$current.withValue(self) { try body() }
    }

    /// Runs `body` as the scope `name` of the installed profiler, or just runs it.
    @inline(__always)
    static func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        guard let profiler = current else { return try body() }
        profiler.begin(name)
        defer { profiler.end() }
        return try body()
    }

    /// Sets the pass of the installed profiler, if any.
    @inline(__always)
    static func setPass(_ pass: Pass) {
        current?.pass = pass
    }

    /// The entry of (name, pass), appended when first seen.
    private func entryIndex(_ name: String, _ pass: Pass) -> Int {
        let key = Key(name: name, pass: pass)
        if let known = indexOf[key] { return known }
        entries.append(Entry(name: name, pass: pass))
        indexOf[key] = entries.count - 1
        return entries.count - 1
    }

    private func begin(_ name: String) {
        let index = entryIndex(name, pass)
        // Clocks last, so the bookkeeping above is not charged to the scope.
        stack.append(Frame(index: index, start: 0, gemmStart: gemmNanos.load(ordering: .relaxed),
                           flopsStart: gemmFLOPs.load(ordering: .relaxed)))
        stack[stack.count - 1].start = monotonicNanos()
    }

    /// Adds what `lane` measured (a profiler that timed part of this one's work
    /// on another thread: an evaluation slice) to this one's entries, as scopes
    /// nested in the open one. Its times are that thread's: summed with this
    /// profiler's, they are CPU time, not wall time.
    func absorb(_ lane: Profiler) {
        var selfNanos: UInt64 = 0
        for e in lane.entries {
            let index = entryIndex(e.name, e.pass)
            entries[index].calls += e.calls
            entries[index].totalNanos += e.totalNanos
            entries[index].selfNanos += e.selfNanos
            entries[index].gemmSelfNanos += e.gemmSelfNanos
            entries[index].gemmSelfFLOPs += e.gemmSelfFLOPs
            selfNanos += e.selfNanos
        }
        let gemm = lane.gemmNanos.load(ordering: .relaxed), flops = lane.gemmFLOPs.load(ordering: .relaxed)
        gemmNanos.add(gemm, ordering: .relaxed)
        gemmFLOPs.add(flops, ordering: .relaxed)
        if !stack.isEmpty {
            stack[stack.count - 1].childNanos += selfNanos
            stack[stack.count - 1].childGemmNanos += gemm
            stack[stack.count - 1].childFLOPs += flops
        }
    }

    private func end() {
        let now = monotonicNanos()
        let frame = stack.removeLast()
        let total = now - frame.start
        let gemm = gemmNanos.load(ordering: .relaxed) - frame.gemmStart
        let flops = gemmFLOPs.load(ordering: .relaxed) - frame.flopsStart
        entries[frame.index].calls += 1
        entries[frame.index].totalNanos += total
        entries[frame.index].selfNanos += total - min(total, frame.childNanos)
        entries[frame.index].gemmSelfNanos += gemm - min(gemm, frame.childGemmNanos)
        entries[frame.index].gemmSelfFLOPs += flops - frame.childFLOPs
        if !stack.isEmpty {
            stack[stack.count - 1].childNanos += total
            stack[stack.count - 1].childGemmNanos += gemm
            stack[stack.count - 1].childFLOPs += flops
        }
    }
}

/// CLOCK_MONOTONIC in nanoseconds.
@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
