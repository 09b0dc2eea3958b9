import Basics
/// out = a + b, elementwise (a residual connection); its backward is the identity to both.
func addTensors(_ a: Tensor, _ b: Tensor, into out: Tensor) {
    out.resize(a.shape)
    let ap = a.data, bp = b.data, op = out.data
    parallelChunks(a.count, chunk: 16384) { r in for i in r { op[i] = ap[i] + bp[i] } }
}

/// Element i of 8 rows `ld` apart, (p[i], p[ld + i], …, p[7·ld + i]): for sums that
/// run over 8 rows side by side, each lane in the order of a one-row loop.
@inline(__always)
func column8(_ p: UnsafePointer<Float>, _ i: Int, _ ld: Int) -> SIMD8<Float> {
    SIMD8(p[i], p[ld + i], p[2 * ld + i], p[3 * ld + i], p[4 * ld + i], p[5 * ld + i], p[6 * ld + i], p[7 * ld + i])
}
