// Block sizes of sleepfold's sgemm, in elements (Float32), shared by its kernels.
//
// A block of B (KC × NC) is packed once per (jc, pc) and stays in L2; a
// micro-panel of it (KC × NR = 32 KiB at KC 256) is reused from L1 by every A
// micro-panel (MR × KC) of the MC rows. Every kernel reads B in panels of 32
// columns, so code that writes packed B itself (a Winograd transform, a direct
// convolution) serves all of them; MR and MC are the kernel's (`SgemmMicrokernel`).
//
// K is cut at KC and every kernel sums p = 0, 1, … in order with one FMA per
// term, so all kernels give the same bits for the same inputs.

/// Columns of C per micro-tile, and of a packed B panel.
public let sgemmNR = 32
/// Depth of one packed block (the K loop is cut here).
public let sgemmKC = 256
/// Columns of B packed at once.
public let sgemmNC = 1024
/// The most rows of A any kernel packs at once (its MC).
public let sgemmMaxMC = 128

/// Floats the packed-A scratch must hold (for every kernel).
public let sgemmPackASize = sgemmMaxMC * sgemmKC
/// Floats the packed-B scratch must hold.
public let sgemmPackBSize = sgemmKC * sgemmNC
/// Floats the edge-tile scratch must hold (for every kernel).
public let sgemmTileSize = 8 * sgemmNR

/// A micro-kernel: an MR × NR tile of C from one packed block,
/// C = beta · C + alpha · Σ_p a[p, :] ⊗ b[p, :] over a (kc, MR) panel of A and a
/// (kc, NR) panel of B, p in order with one FMA per term.
///
/// The blocked loops (`sgemmBlocked`, `sgemmBlockedPacked`) are generic over the
/// kernel and `@inlinable`: a kernel's module specialises them, so they are
/// compiled for that module's CPU target.
public protocol SgemmMicrokernel {
    /// Rows of C per micro-tile (and of a packed A panel); at most 8.
    static var mr: Int { get }
    /// Rows of A packed at once: a multiple of `mr`, at most `sgemmMaxMC`.
    static var mc: Int { get }
    /// Full tile: writes rows 0..<MR, columns 0..<NR of C (row stride `ldc`).
    /// `beta == 0` never reads C (it may hold garbage or NaN).
    static func multiplyTile(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                             alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int)
    /// Edge tile: at least rows 0..<rows, columns 0..<cols of the plain product
    /// (alpha 1, beta 0) into `tile` (row stride NR), each element summed as in a
    /// full tile. A kernel may skip the rows and column vectors beyond the edge.
    static func multiplyEdge(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                             rows: Int, cols: Int, tile: UnsafeMutablePointer<Float>)
}

extension SgemmMicrokernel {
    /// m rounded up to whole MR-row panels.
    @inlinable public static func paddedRows(_ m: Int) -> Int { (m + mr - 1) / mr * mr }

    /// Floats of an op(A) (m, k) packed whole for this kernel.
    @inlinable public static func packedASize(m: Int, k: Int) -> Int { paddedRows(m) * k }
}
