import SgemmAVX512
import Testing
import Basics

/// The AVX-512 sgemm against a float64 reference, over shapes that hit every
/// edge of its blocking (partial micro-tiles, K/M/N beyond one block), all four
/// transpositions, alpha/beta, and row strides wider than the matrices.
/// Skipped on CPUs without AVX-512 (the module must not run there).
@Suite(.enabled(if: CPUFeatures.current.hasAVX512, "this CPU has no AVX-512"))
struct SgemmAVX512Tests {
    struct Case: CustomStringConvertible {
        var transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, beta: Float, pad: Int
        var description: String {
            "\(transA ? "T" : "N")\(transB ? "T" : "N") m=\(m) n=\(n) k=\(k) alpha=\(alpha) beta=\(beta) pad=\(pad)"
        }
    }

    /// Fixed pseudo-random values in [-1, 1).
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(state >> 40) / Float(1 << 23) - 1
        }
    }

    /// Runs one case; returns the largest error relative to the bound
    /// k · 2⁻²² · Σ|alpha · a · b| + |beta · c| (> 1 is a failure).
    static func run(_ t: Case, seed: UInt64) -> Double {
        let (m, n, k) = (t.m, t.n, t.k)
        let lda = (t.transA ? m : k) + t.pad, ldb = (t.transB ? k : n) + t.pad, ldc = n + t.pad
        let a = values((t.transA ? k : m) * lda, seed: seed)
        let b = values((t.transB ? n : k) * ldb, seed: seed + 1)
        var c = t.beta == 0 ? [Float](repeating: .nan, count: m * ldc) : values(m * ldc, seed: seed + 2)
        let c0 = c
        let packA = UnsafeMutablePointer<Float>.allocate(capacity: sgemmPackASize)
        let packB = UnsafeMutablePointer<Float>.allocate(capacity: sgemmPackBSize)
        let tile = UnsafeMutablePointer<Float>.allocate(capacity: sgemmMR * sgemmNR)
        defer { packA.deallocate(); packB.deallocate(); tile.deallocate() }
        c.withUnsafeMutableBufferPointer { cp in
            sgemmAVX512(transA: t.transA, transB: t.transB, m: m, n: n, k: k, alpha: t.alpha,
                        a: a, lda: lda, b: b, ldb: ldb, beta: t.beta, c: cp.baseAddress!, ldc: ldc,
                        packA: packA, packB: packB, tile: tile)
        }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0, magnitude = 0.0
                for p in 0..<k {
                    let x = Double(t.transA ? a[p * lda + i] : a[i * lda + p])
                    let y = Double(t.transB ? b[j * ldb + p] : b[p * ldb + j])
                    sum += x * y
                    magnitude += abs(x * y)
                }
                var expected = Double(t.alpha) * sum
                var bound = Double(k + 2) * 0x1p-22 * abs(Double(t.alpha)) * magnitude
                if t.beta != 0 {
                    expected += Double(t.beta) * Double(c0[i * ldc + j])
                    bound += 0x1p-22 * abs(Double(t.beta) * Double(c0[i * ldc + j]))
                }
                let got = Double(c[i * ldc + j])
                if got.isNaN { return .infinity }
                worst = max(worst, abs(got - expected) / max(bound, 1e-30))
            }
        }
        // Padding columns of C are never written.
        for i in 0..<m {
            for j in n..<ldc where !(c[i * ldc + j].isNaN && c0[i * ldc + j].isNaN) && c[i * ldc + j] != c0[i * ldc + j] {
                return .infinity
            }
        }
        return worst
    }

    @Test func edgesOfEveryBlockAndAllTranspositions() {
        let MR = sgemmMR, NR = sgemmNR, KC = sgemmKC
        let ms = [1, MR - 1, MR, MR + 1, 3 * MR + 5]
        let ns = [1, NR - 1, NR, NR + 1, 2 * NR + 7]
        let ks = [1, 5, KC, KC + 3]
        var index: UInt64 = 0
        for transA in [false, true] {
            for transB in [false, true] {
                for m in ms {
                    for n in ns {
                        for k in ks {
                            index += 1
                            // alpha, beta and padding vary with the case, every combination appears.
                            let alpha: Float = [1, 0.5, -2][Int(index % 3)]
                            let beta: Float = [0, 1, -0.25][Int((index / 3) % 3)]
                            let t = Case(transA: transA, transB: transB, m: m, n: n, k: k,
                                         alpha: alpha, beta: beta, pad: Int(index % 2) * 3)
                            let error = Self.run(t, seed: index)
                            #expect(error <= 1, "\(t): error \(error) of the bound")
                        }
                    }
                }
            }
        }
    }

    @Test func blocksLargerThanTheCaches() {
        // M beyond MC, N beyond NC, K beyond two KC blocks.
        let cases = [
            Case(transA: false, transB: false, m: sgemmMC + 9, n: 40, k: 2 * sgemmKC + 17, alpha: 1, beta: 0, pad: 0),
            Case(transA: true, transB: true, m: 12, n: sgemmNC + 45, k: 70, alpha: 1, beta: 1, pad: 1),
            Case(transA: true, transB: false, m: sgemmMC + 3, n: sgemmNC + 1, k: sgemmKC + 1, alpha: 0.5, beta: -1, pad: 0),
        ]
        for (i, t) in cases.enumerated() {
            let error = Self.run(t, seed: 100 + UInt64(i))
            #expect(error <= 1, "\(t): error \(error) of the bound")
        }
    }

    @Test func sameInputsGiveBitIdenticalResults() {
        let (m, n, k) = (37, 101, 300)
        let a = Self.values(m * k, seed: 7), b = Self.values(k * n, seed: 8)
        let packA = UnsafeMutablePointer<Float>.allocate(capacity: sgemmPackASize)
        let packB = UnsafeMutablePointer<Float>.allocate(capacity: sgemmPackBSize)
        let tile = UnsafeMutablePointer<Float>.allocate(capacity: sgemmMR * sgemmNR)
        defer { packA.deallocate(); packB.deallocate(); tile.deallocate() }
        func product() -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            // Garbage left in the scratch must not leak into the result.
            packA.update(repeating: .nan, count: sgemmPackASize)
            packB.update(repeating: .nan, count: sgemmPackBSize)
            c.withUnsafeMutableBufferPointer {
                sgemmAVX512(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n,
                            beta: 0, c: $0.baseAddress!, ldc: n, packA: packA, packB: packB, tile: tile)
            }
            return c
        }
        let first = product(), second = product()
        #expect(first.map(\.bitPattern) == second.map(\.bitPattern))
        #expect(!first.contains { $0.isNaN })
    }
}
