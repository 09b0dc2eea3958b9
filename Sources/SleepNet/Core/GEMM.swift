import COpenBLAS
import Synchronization

/// Floating-point operations issued through `sgemm` (2·m·n·k per call), for the
/// benchmark's FLOPs per sample: the matrix work as executed (convolutions as GEMM or
/// Winograd, linear layers, attention); elementwise passes are not counted.
public enum GEMMCounter {
    static let count = Atomic<Int>(0)
    /// FLOPs since the last `reset()`.
    public static var flops: Int { count.load(ordering: .relaxed) }
    public static func reset() { count.store(0, ordering: .relaxed) }
}

/// Row-major `C = alpha * op(A) * op(B) + beta * C` through OpenBLAS (single-threaded:
/// callers parallelise over samples or fixed chunks, see `ComputeThreads`).
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
    _ = ComputeThreads.configured
    GEMMCounter.count.add(2 * m * n * k, ordering: .relaxed)
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
