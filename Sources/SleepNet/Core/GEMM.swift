import COpenBLAS
import Foundation
import SgemmAVX512
import Synchronization
import Basics

/// Floating-point operations issued through `sgemm` (2·m·n·k per call), for the
/// benchmark's FLOPs per sample: the matrix work as executed (convolutions as GEMM or
/// Winograd, linear layers, attention); elementwise passes are not counted.
public enum GEMMCounter {
    static let count = Atomic<Int>(0)
    /// FLOPs since the last `reset()`.
    public static var flops: Int { count.load(ordering: .relaxed) }
    public static func reset() { count.store(0, ordering: .relaxed) }
}

/// Which matrix-multiply code the model core runs.
///
/// OpenBLAS picks its kernels by CPU, but an environment may pin them
/// (`OPENBLAS_CORETYPE=Haswell` runs AVX2 kernels at half of an AVX-512
/// machine's peak). On a CPU with AVX-512 sleepfold therefore uses its own
/// AVX-512 sgemm (module SgemmAVX512); elsewhere, OpenBLAS.
/// `SLEEPFOLD_GEMM=openblas` or `=avx512` overrides the choice for the process.
public enum GEMMBackend: String, Sendable, CaseIterable {
    case openBLAS = "openblas"
    case avx512 = "avx512"

    /// The backend every `sgemm` call of this process uses (fixed at first use).
    public static let current: GEMMBackend = choose(
        requested: ProcessInfo.processInfo.environment["SLEEPFOLD_GEMM"], cpu: CPUFeatures.current)

    /// The choice for a requested name (nil or "auto": by CPU). An unknown name or
    /// "avx512" on a CPU without it falls back to the automatic choice, with a warning.
    public static func choose(requested: String?, cpu: CPUFeatures) -> GEMMBackend {
        let automatic: GEMMBackend = cpu.hasAVX512 ? .avx512 : .openBLAS
        guard let requested, requested != "auto", !requested.isEmpty else { return automatic }
        guard let backend = GEMMBackend(rawValue: requested.lowercased()) else {
            warn("SLEEPFOLD_GEMM=\(requested) is not one of auto, openblas, avx512; using \(automatic.rawValue)")
            return automatic
        }
        if backend == .avx512 && !cpu.hasAVX512 {
            warn("SLEEPFOLD_GEMM=avx512 but this CPU lacks AVX-512 (F, DQ, CD, BW, VL); using openblas")
            return .openBLAS
        }
        return backend
    }

    private static func warn(_ message: String) {
        FileHandle.standardError.write(Data("sleepfold: warning: \(message)\n".utf8))
    }
}

/// Row-major `C = alpha * op(A) * op(B) + beta * C`, single-threaded (callers
/// parallelise over samples or fixed chunks, see `ComputeThreads`), through
/// `GEMMBackend.current`.
///
/// op(A) is (m, k), op(B) is (k, n), C is (m, n); `lda`, `ldb`, `ldc` are the
/// row strides of A, B and C as stored (before transposition).
@inline(__always)
func sgemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        // BLAS leaves C * beta; do the same explicitly.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    GEMMCounter.count.add(2 * m * n * k, ordering: .relaxed)
    // The profiler's GEMM time: one branch when it is off.
    guard let profiler = Profiler.current else {
        sgemmUntimed(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                     b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    let start = monotonicNanos()
    sgemmUntimed(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                 b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    profiler.gemmNanos.add(monotonicNanos() - start, ordering: .relaxed)
    profiler.gemmFLOPs.add(2 * m * n * k, ordering: .relaxed)
}

/// `sgemm` after the shape checks and counters: the backend call itself.
@inline(__always)
private func sgemmUntimed(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    switch GEMMBackend.current {
    case .avx512:
        let scratch = GEMMScratch.take()
        sgemmAVX512(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
            b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
            packA: scratch.packA, packB: scratch.packB, tile: scratch.tile)
        GEMMScratch.give(scratch)
    case .openBLAS:
        _ = ComputeThreads.configured
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// Packing buffers of the AVX-512 sgemm, one set per concurrent caller: taken
/// from a free list for the duration of a call and returned (allocated once per
/// thread that ever multiplied at the same time, never freed).
final class GEMMScratch: @unchecked Sendable {
    let packA: UnsafeMutablePointer<Float>
    let packB: UnsafeMutablePointer<Float>
    let tile: UnsafeMutablePointer<Float>

    private init() {
        func aligned(_ count: Int) -> UnsafeMutablePointer<Float> {
            UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
                .bindMemory(to: Float.self, capacity: count)
        }
        packA = aligned(sgemmPackASize)
        packB = aligned(sgemmPackBSize)
        tile = aligned(sgemmMR * sgemmNR)
    }

    private static let free = Mutex<[GEMMScratch]>([])

    static func take() -> GEMMScratch {
        free.withLock { $0.popLast() } ?? GEMMScratch()
    }

    static func give(_ scratch: GEMMScratch) {
        free.withLock { $0.append(scratch) }
    }
}

/// Row-major `C = alpha · op(A) · op(B) + beta · C` on the AVX-512 sgemm with
/// op(A) (m, k) packed once by `sgemmPackA` and op(B) (k, n) packed by
/// `packB(p0, kc, j0, nc, dst)` straight from the caller's layout (see
/// `SgemmAVX512.sgemmAVX512(m:n:k:alpha:packedA:packB:…)`): bit for bit what
/// `sgemm` gives for the same matrices on `GEMMBackend.avx512`. Only call with
/// that backend.
@inline(__always)
func sgemmPrepacked(
    m: Int, n: Int, k: Int, alpha: Float, packedA: UnsafePointer<Float>,
    packB: (_ p0: Int, _ kc: Int, _ j0: Int, _ nc: Int, _ dst: UnsafeMutablePointer<Float>) -> Void,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    countedPrepacked(m: m, n: n, k: k) { scratch in
        sgemmAVX512(m: m, n: n, k: k, alpha: alpha, packedA: packedA, packB: packB, beta: beta, c: c, ldc: ldc,
                    packBuffer: scratch.packB, tile: scratch.tile)
    }
}

/// `sgemmPrepacked` with op(B) packed whole by the caller as well
/// (`SgemmAVX512.sgemmAVX512(m:n:k:alpha:packedA:packedB:…)`, `sgemmPackedBSize`):
/// bit for bit what `sgemm` gives. Only call with `GEMMBackend.avx512`.
@inline(__always)
func sgemmPrepacked(
    m: Int, n: Int, k: Int, alpha: Float, packedA: UnsafePointer<Float>, packedB: UnsafePointer<Float>,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    countedPrepacked(m: m, n: n, k: k) { scratch in
        sgemmAVX512(m: m, n: n, k: k, alpha: alpha, packedA: packedA, packedB: packedB, beta: beta, c: c, ldc: ldc,
                    tile: scratch.tile)
    }
}

/// One prepacked multiply (m, n, k) run by `body` with a thread's GEMM scratch,
/// counted and, with a profiler installed, timed.
@inline(__always)
private func countedPrepacked(m: Int, n: Int, k: Int, _ body: (GEMMScratch) -> Void) {
    precondition(k > 0, "sgemmPrepacked: k = 0")
    if m == 0 || n == 0 { return }
    GEMMCounter.count.add(2 * m * n * k, ordering: .relaxed)
    let profiler = Profiler.current
    let start = profiler == nil ? 0 : monotonicNanos()
    let scratch = GEMMScratch.take()
    body(scratch)
    GEMMScratch.give(scratch)
    if let profiler {
        profiler.gemmNanos.add(monotonicNanos() - start, ordering: .relaxed)
        profiler.gemmFLOPs.add(2 * m * n * k, ordering: .relaxed)
    }
}
