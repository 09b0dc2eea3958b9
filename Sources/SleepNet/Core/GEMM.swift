import COpenBLAS
import Foundation
import Sgemm
import SgemmAVX2
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
/// sleepfold's own sgemm (modules Sgemm, SgemmAVX512, SgemmAVX2) keeps a layer's
/// weights packed once for every call and lets convolutions pack their input
/// straight into its panels (no im2col matrix); OpenBLAS packs both operands on
/// every call, and an environment may pin its kernels (`OPENBLAS_CORETYPE=Haswell`
/// runs AVX2 kernels at half of an AVX-512 machine's peak). So on x86-64 the model
/// core uses its own: the AVX-512 kernel where the CPU has it, else the AVX2 one
/// (the model core needs AVX2 and FMA anyway); OpenBLAS elsewhere.
/// `SLEEPFOLD_GEMM=openblas`, `=avx2` or `=avx512` overrides the choice for the
/// process. The two own kernels give the same bits.
public enum GEMMBackend: String, Sendable, CaseIterable {
    case openBLAS = "openblas"
    case avx2 = "avx2"
    case avx512 = "avx512"

    /// Whether this backend is sleepfold's own sgemm: weights prepacked once, B
    /// packed by the caller (`sgemmPrepacked`, `packedWeightSize`, `packWeight`).
    public var isOwn: Bool { self != .openBLAS }

    /// The backend every `sgemm` call of this process uses (fixed at first use).
    public static let current: GEMMBackend = choose(
        requested: ProcessInfo.processInfo.environment["SLEEPFOLD_GEMM"], cpu: CPUFeatures.current)

    /// The choice for a requested name (nil or "auto": by CPU). An unknown name, or
    /// a kernel this CPU cannot run, falls back to the automatic choice, with a warning.
    public static func choose(requested: String?, cpu: CPUFeatures) -> GEMMBackend {
        let automatic: GEMMBackend = cpu.hasAVX512 ? .avx512 : cpu.hasAVX2 ? .avx2 : .openBLAS
        guard let requested, requested != "auto", !requested.isEmpty else { return automatic }
        guard let backend = GEMMBackend(rawValue: requested.lowercased()) else {
            warn("SLEEPFOLD_GEMM=\(requested) is not one of auto, openblas, avx2, avx512; using \(automatic.rawValue)")
            return automatic
        }
        if backend == .avx512 && !cpu.hasAVX512 {
            warn("SLEEPFOLD_GEMM=avx512 but this CPU lacks AVX-512 (F, DQ, CD, BW, VL); using \(automatic.rawValue)")
            return automatic
        }
        if backend == .avx2 && !cpu.hasAVX2 {
            warn("SLEEPFOLD_GEMM=avx2 but this CPU lacks AVX2 and FMA (x86-64-v3); using \(automatic.rawValue)")
            return automatic
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
    case .avx2:
        let scratch = GEMMScratch.take()
        sgemmAVX2(
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

/// Packing buffers of sleepfold's own sgemm, one set per concurrent caller: taken
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
        tile = aligned(sgemmTileSize)
    }

    private static let free = Mutex<[GEMMScratch]>([])

    static func take() -> GEMMScratch {
        free.withLock { $0.popLast() } ?? GEMMScratch()
    }

    static func give(_ scratch: GEMMScratch) {
        free.withLock { $0.append(scratch) }
    }
}

/// Floats of a weight op(A) (m, k) packed by `packWeight` for the current backend
/// (one of sleepfold's own: `GEMMBackend.isOwn`).
func packedWeightSize(m: Int, k: Int) -> Int {
    switch GEMMBackend.current {
    case .avx512: AVX512Kernel.packedASize(m: m, k: k)
    case .avx2: AVX2Kernel.packedASize(m: m, k: k)
    case .openBLAS: preconditionFailure("packedWeightSize: OpenBLAS packs its own operands")
    }
}

/// Packs all of op(A) (m, k) into `dst` (`packedWeightSize(m:k:)` floats) for
/// `sgemmPrepacked`. op(A)[i, p] is a[i * lda + p], or a[p * lda + i] when `transA`.
func packWeight(transA: Bool, m: Int, k: Int, a: UnsafePointer<Float>, lda: Int, into dst: UnsafeMutablePointer<Float>) {
    switch GEMMBackend.current {
    case .avx512: sgemmAVX512PackA(transA: transA, m: m, k: k, a: a, lda: lda, into: dst)
    case .avx2: sgemmAVX2PackA(transA: transA, m: m, k: k, a: a, lda: lda, into: dst)
    case .openBLAS: preconditionFailure("packWeight: OpenBLAS packs its own operands")
    }
}

/// Packs depth p0..<p0+kc, columns j0..<j0+nc of a plain op(B) into `dst` in the
/// panels every own kernel reads (for a `packB` of `sgemmPrepacked`): op(B)[p, j]
/// is b[p * ldb + j], or b[j * ldb + p] when `transB`.
@inline(__always)
func packGEMMB(transB: Bool, b: UnsafePointer<Float>, ldb: Int,
               p0: Int, kc: Int, j0: Int, nc: Int, into dst: UnsafeMutablePointer<Float>) {
    switch GEMMBackend.current {
    case .avx512: sgemmAVX512PackB(transB: transB, b: b, ldb: ldb, p0: p0, kc: kc, j0: j0, nc: nc, into: dst)
    case .avx2: sgemmAVX2PackB(transB: transB, b: b, ldb: ldb, p0: p0, kc: kc, j0: j0, nc: nc, into: dst)
    case .openBLAS: preconditionFailure("packGEMMB: OpenBLAS packs its own operands")
    }
}

/// Row-major `C = alpha · op(A) · op(B) + beta · C` on sleepfold's own sgemm with
/// op(A) (m, k) packed once by `packWeight` and op(B) (k, n) packed by
/// `packB(p0, kc, j0, nc, dst)` straight from the caller's layout (see
/// `SgemmAVX512.sgemmAVX512(m:n:k:alpha:packedA:blockB:…)`): bit for bit what
/// `sgemm` gives for the same matrices on that backend. Only call with one of the
/// own backends (`GEMMBackend.isOwn`).
@inline(__always)
func sgemmPrepacked(
    m: Int, n: Int, k: Int, alpha: Float, packedA: UnsafePointer<Float>,
    packB: (_ p0: Int, _ kc: Int, _ j0: Int, _ nc: Int, _ dst: UnsafeMutablePointer<Float>) -> Void,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    countedPrepacked(m: m, n: n, k: k) { scratch in
        multiplyPrepacked(m: m, n: n, k: k, alpha: alpha, packedA: packedA, blockB: { p0, kc, j0, nc in
            packB(p0, kc, j0, nc, scratch.packB)
            return (UnsafePointer(scratch.packB), sgemmNR * kc)
        }, beta: beta, c: c, ldc: ldc, tile: scratch.tile)
    }
}

/// `sgemmPrepacked` with op(B) packed whole by the caller as well, in NR-column
/// panels (`sgemmPackedBSize`, read through `wholePanels`): bit for bit what `sgemm`
/// gives. Only call with one of the own backends.
@inline(__always)
func sgemmPrepacked(
    m: Int, n: Int, k: Int, alpha: Float, packedA: UnsafePointer<Float>, packedB: UnsafePointer<Float>,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    countedPrepacked(m: m, n: n, k: k) { scratch in
        multiplyPrepacked(m: m, n: n, k: k, alpha: alpha, packedA: packedA,
                          blockB: { p0, _, j0, _ in wholePanels(packedB, k: k, p0: p0, j0: j0) },
                          beta: beta, c: c, ldc: ldc, tile: scratch.tile)
    }
}

/// The current own kernel's prepacked multiply (`SgemmAVX512.sgemmAVX512(m:n:k:alpha:packedA:blockB:…)`).
@inline(__always)
private func multiplyPrepacked(
    m: Int, n: Int, k: Int, alpha: Float, packedA: UnsafePointer<Float>,
    blockB: (_ p0: Int, _ kc: Int, _ j0: Int, _ nc: Int) -> (UnsafePointer<Float>, Int),
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, tile: UnsafeMutablePointer<Float>
) {
    switch GEMMBackend.current {
    case .avx512:
        sgemmAVX512(m: m, n: n, k: k, alpha: alpha, packedA: packedA, blockB: blockB, beta: beta, c: c, ldc: ldc, tile: tile)
    case .avx2:
        sgemmAVX2(m: m, n: n, k: k, alpha: alpha, packedA: packedA, blockB: blockB, beta: beta, c: c, ldc: ldc, tile: tile)
    case .openBLAS: preconditionFailure("sgemmPrepacked: OpenBLAS packs its own operands")
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

/// Matrix work done outside `sgemm` (the bf16 tile products of MatrixAMX): counted
/// as `flops` and, with a profiler installed, timed as GEMM work, as `sgemm` is.
@inline(__always)
func countedAsGEMM(flops: Int, _ body: () -> Void) {
    GEMMCounter.count.add(flops, ordering: .relaxed)
    let profiler = Profiler.current
    let start = profiler == nil ? 0 : monotonicNanos()
    body()
    if let profiler {
        profiler.gemmNanos.add(monotonicNanos() - start, ordering: .relaxed)
        profiler.gemmFLOPs.add(flops, ordering: .relaxed)
    }
}
