import Basics
/// Concatenation of two (B, C, ·) tensors along time.
///
///     // a (B, C, La), b (B, C, Lb) -> out (B, C, La + Lb)
public final class ConcatTime {
    public let output = Tensor()
    public let firstGradient = Tensor()
    public let secondGradient = Tensor()
    private var la = 0, lb = 0

    public init() {}

    @discardableResult
    public func forward(_ a: Tensor, _ b: Tensor) -> Tensor {
        let B = a.shape[0], C = a.shape[1]
        la = a.shape[2]; lb = b.shape[2]
        let L = la + lb
        output.resize(Shape(B, C, L))
        let op = output.data, ap = a.data, bp = b.data, la = self.la, lb = self.lb
        parallelChunks(B * C, chunk: 256) { r in
            for bc in r {
                (op + bc * L).update(from: ap + bc * la, count: la)
                (op + bc * L + la).update(from: bp + bc * lb, count: lb)
            }
        }
        return output
    }

    /// dout (B, C, La + Lb) -> (da (B, C, La), db (B, C, Lb))
    public func backward(_ dy: Tensor) -> (Tensor, Tensor) {
        let B = dy.shape[0], C = dy.shape[1], L = la + lb
        firstGradient.resize(Shape(B, C, la))
        secondGradient.resize(Shape(B, C, lb))
        let fp = firstGradient.data, sp = secondGradient.data, gp = dy.data, la = self.la, lb = self.lb
        parallelChunks(B * C, chunk: 256) { r in
            for bc in r {
                (fp + bc * la).update(from: gp + bc * L, count: la)
                (sp + bc * lb).update(from: gp + bc * L + la, count: lb)
            }
        }
        return (firstGradient, secondGradient)
    }
}

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
