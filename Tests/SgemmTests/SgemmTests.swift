import Sgemm
import SgemmAVX2
import SgemmAVX512
import Testing
import Basics

/// sleepfold's sgemm on each kernel the CPU can run.
enum Kernel: String, CaseIterable, CustomStringConvertible {
    case avx2, avx512
    var description: String { rawValue }
    var mr: Int { self == .avx2 ? AVX2Kernel.mr : AVX512Kernel.mr }
    var mc: Int { self == .avx2 ? AVX2Kernel.mc : AVX512Kernel.mc }
    var runsHere: Bool { self == .avx2 ? CPUFeatures.current.hasAVX2 : CPUFeatures.current.hasAVX512 }
    static var runnable: [Kernel] { allCases.filter(\.runsHere) }

    func multiply(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                  packA: UnsafeMutablePointer<Float>, packB: UnsafeMutablePointer<Float>, tile: UnsafeMutablePointer<Float>) {
        switch self {
        case .avx2:
            sgemmAVX2(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                      beta: beta, c: c, ldc: ldc, packA: packA, packB: packB, tile: tile)
        case .avx512:
            sgemmAVX512(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                        beta: beta, c: c, ldc: ldc, packA: packA, packB: packB, tile: tile)
        }
    }

    func packedASize(m: Int, k: Int) -> Int {
        self == .avx2 ? AVX2Kernel.packedASize(m: m, k: k) : AVX512Kernel.packedASize(m: m, k: k)
    }

    func packA(m: Int, k: Int, a: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        switch self {
        case .avx2: sgemmAVX2PackA(transA: false, m: m, k: k, a: a, lda: k, into: dst)
        case .avx512: sgemmAVX512PackA(transA: false, m: m, k: k, a: a, lda: k, into: dst)
        }
    }

    func packB(n: Int, b: UnsafePointer<Float>, p0: Int, kc: Int, j0: Int, nc: Int, into dst: UnsafeMutablePointer<Float>) {
        switch self {
        case .avx2: sgemmAVX2PackB(transB: false, b: b, ldb: n, p0: p0, kc: kc, j0: j0, nc: nc, into: dst)
        case .avx512: sgemmAVX512PackB(transB: false, b: b, ldb: n, p0: p0, kc: kc, j0: j0, nc: nc, into: dst)
        }
    }

    func multiplyPacked(m: Int, n: Int, k: Int, alpha: Float, packedA: UnsafePointer<Float>,
                        blockB: (Int, Int, Int, Int) -> (UnsafePointer<Float>, Int),
                        beta: Float, c: UnsafeMutablePointer<Float>, tile: UnsafeMutablePointer<Float>) {
        switch self {
        case .avx2:
            sgemmAVX2(m: m, n: n, k: k, alpha: alpha, packedA: packedA, blockB: blockB, beta: beta, c: c, ldc: n, tile: tile)
        case .avx512:
            sgemmAVX512(m: m, n: n, k: k, alpha: alpha, packedA: packedA, blockB: blockB, beta: beta, c: c, ldc: n, tile: tile)
        }
    }
}

/// The sgemm against a float64 reference on every kernel this CPU runs, over
/// shapes that hit every edge of its blocking (partial micro-tiles, K/M/N beyond
/// one block), all four transpositions, alpha/beta, and row strides wider than the
/// matrices. A kernel the CPU lacks is not run (its module must not run there).
@Suite(.enabled(if: !Kernel.runnable.isEmpty, "this CPU has neither AVX2 nor AVX-512"))
struct SgemmTests {
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
    static func run(_ t: Case, seed: UInt64, on kernel: Kernel) -> Double {
        let (m, n, k) = (t.m, t.n, t.k)
        let lda = (t.transA ? m : k) + t.pad, ldb = (t.transB ? k : n) + t.pad, ldc = n + t.pad
        let a = values((t.transA ? k : m) * lda, seed: seed)
        let b = values((t.transB ? n : k) * ldb, seed: seed + 1)
        var c = t.beta == 0 ? [Float](repeating: .nan, count: m * ldc) : values(m * ldc, seed: seed + 2)
        let c0 = c
        let packA = UnsafeMutablePointer<Float>.allocate(capacity: sgemmPackASize)
        let packB = UnsafeMutablePointer<Float>.allocate(capacity: sgemmPackBSize)
        let tile = UnsafeMutablePointer<Float>.allocate(capacity: sgemmTileSize)
        defer { packA.deallocate(); packB.deallocate(); tile.deallocate() }
        c.withUnsafeMutableBufferPointer { cp in
            kernel.multiply(transA: t.transA, transB: t.transB, m: m, n: n, k: k, alpha: t.alpha,
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

    @Test(arguments: Kernel.runnable)
    func edgesOfEveryBlockAndAllTranspositions(kernel: Kernel) {
        let MR = kernel.mr, NR = sgemmNR, KC = sgemmKC
        let ms = [1, 2, MR - 1, MR, MR + 1, MR + 3, 3 * MR + 5]
        let ns = [1, 16, NR - 1, NR, NR + 1, NR + 16, 2 * NR + 7]
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
                            let error = Self.run(t, seed: index, on: kernel)
                            #expect(error <= 1, "\(kernel) \(t): error \(error) of the bound")
                        }
                    }
                }
            }
        }
    }

    @Test(arguments: Kernel.runnable)
    func blocksLargerThanTheCaches(kernel: Kernel) {
        // M beyond MC, N beyond NC, K beyond two KC blocks.
        let cases = [
            Case(transA: false, transB: false, m: kernel.mc + 9, n: 40, k: 2 * sgemmKC + 17, alpha: 1, beta: 0, pad: 0),
            Case(transA: true, transB: true, m: 12, n: sgemmNC + 45, k: 70, alpha: 1, beta: 1, pad: 1),
            Case(transA: true, transB: false, m: kernel.mc + 3, n: sgemmNC + 1, k: sgemmKC + 1, alpha: 0.5, beta: -1, pad: 0),
        ]
        for (i, t) in cases.enumerated() {
            let error = Self.run(t, seed: 100 + UInt64(i), on: kernel)
            #expect(error <= 1, "\(kernel) \(t): error \(error) of the bound")
        }
    }

    @Test(arguments: Kernel.runnable)
    func sameInputsGiveBitIdenticalResults(kernel: Kernel) {
        let (m, n, k) = (37, 101, 300)
        let a = Self.values(m * k, seed: 7), b = Self.values(k * n, seed: 8)
        let packA = UnsafeMutablePointer<Float>.allocate(capacity: sgemmPackASize)
        let packB = UnsafeMutablePointer<Float>.allocate(capacity: sgemmPackBSize)
        let tile = UnsafeMutablePointer<Float>.allocate(capacity: sgemmTileSize)
        defer { packA.deallocate(); packB.deallocate(); tile.deallocate() }
        func product() -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            // Garbage left in the scratch must not leak into the result.
            packA.update(repeating: .nan, count: sgemmPackASize)
            packB.update(repeating: .nan, count: sgemmPackBSize)
            c.withUnsafeMutableBufferPointer {
                kernel.multiply(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n,
                                beta: 0, c: $0.baseAddress!, ldc: n, packA: packA, packB: packB, tile: tile)
            }
            return c
        }
        let first = product(), second = product()
        #expect(first.map(\.bitPattern) == second.map(\.bitPattern))
        #expect(!first.contains { $0.isNaN })
    }

    /// C for every way of calling `kernel` on one product: packing per call, A
    /// prepacked with B packed by a closure, A prepacked with B packed whole.
    static func products(_ kernel: Kernel, m: Int, n: Int, k: Int, alpha: Float, beta: Float, seed: UInt64) -> [[Float]] {
        let a = values(m * k, seed: seed), b = values(k * n, seed: seed + 1), c0 = values(m * n, seed: seed + 2)
        let packA = UnsafeMutablePointer<Float>.allocate(capacity: sgemmPackASize)
        let packB = UnsafeMutablePointer<Float>.allocate(capacity: sgemmPackBSize)
        let tile = UnsafeMutablePointer<Float>.allocate(capacity: sgemmTileSize)
        let packedA = UnsafeMutablePointer<Float>.allocate(capacity: kernel.packedASize(m: m, k: k))
        let packedB = UnsafeMutablePointer<Float>.allocate(capacity: sgemmPackedBSize(k: k, n: n))
        defer { packA.deallocate(); packB.deallocate(); tile.deallocate(); packedA.deallocate(); packedB.deallocate() }
        var plain = c0, closure = c0, whole = c0
        a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            let a = a.baseAddress!, b = b.baseAddress!
            plain.withUnsafeMutableBufferPointer {
                kernel.multiply(transA: false, transB: false, m: m, n: n, k: k, alpha: alpha, a: a, lda: k, b: b, ldb: n,
                                beta: beta, c: $0.baseAddress!, ldc: n, packA: packA, packB: packB, tile: tile)
            }
            // B packed whole: panel jp of k rows at packedB + jp · k · NR.
            var j0 = 0
            while j0 < n {
                kernel.packB(n: n, b: b, p0: 0, kc: k, j0: j0, nc: min(sgemmNR, n - j0), into: packedB + j0 * k)
                j0 += sgemmNR
            }
            kernel.packA(m: m, k: k, a: a, into: packedA)
            closure.withUnsafeMutableBufferPointer {
                kernel.multiplyPacked(m: m, n: n, k: k, alpha: alpha, packedA: packedA, blockB: { p0, kc, j0, nc in
                    kernel.packB(n: n, b: b, p0: p0, kc: kc, j0: j0, nc: nc, into: packB)
                    return (UnsafePointer(packB), sgemmNR * kc)
                }, beta: beta, c: $0.baseAddress!, tile: tile)
            }
            whole.withUnsafeMutableBufferPointer {
                kernel.multiplyPacked(m: m, n: n, k: k, alpha: alpha, packedA: packedA,
                                      blockB: { p0, _, j0, _ in wholePanels(packedB, k: k, p0: p0, j0: j0) },
                                      beta: beta, c: $0.baseAddress!, tile: tile)
            }
        }
        }
        return [plain, closure, whole]
    }

    static let shapes = [(m: 30, n: 75, k: 64), (m: 7, n: 33, k: 300), (m: 130, n: 1100, k: 9), (m: 64, n: 64, k: 513)]

    @Test(arguments: Kernel.runnable)
    func prepackedOperandsGiveTheSameBits(kernel: Kernel) {
        for (i, s) in Self.shapes.enumerated() {
            let (alpha, beta): (Float, Float) = i % 2 == 0 ? (1, 0) : (0.5, -1)
            let p = Self.products(kernel, m: s.m, n: s.n, k: s.k, alpha: alpha, beta: beta, seed: 300 + UInt64(i))
            #expect(p[1].map(\.bitPattern) == p[0].map(\.bitPattern), "\(kernel) \(s): prepacked A, B by closure")
            #expect(p[2].map(\.bitPattern) == p[0].map(\.bitPattern), "\(kernel) \(s): prepacked A, B whole")
        }
    }

    /// Both kernels cut K alike and sum in the same order with one FMA per term:
    /// the model core gives the same bits on either (its fixtures hold for both).
    @Test(.enabled(if: Kernel.runnable.count == 2, "needs a CPU with AVX-512 to run both kernels"))
    func bothKernelsGiveTheSameBits() {
        for (i, s) in Self.shapes.enumerated() {
            let (alpha, beta): (Float, Float) = i % 2 == 0 ? (1, 0) : (-2, 0.25)
            let avx2 = Self.products(.avx2, m: s.m, n: s.n, k: s.k, alpha: alpha, beta: beta, seed: 400 + UInt64(i))
            let avx512 = Self.products(.avx512, m: s.m, n: s.n, k: s.k, alpha: alpha, beta: beta, seed: 400 + UInt64(i))
            #expect(avx2[0].map(\.bitPattern) == avx512[0].map(\.bitPattern), "\(s)")
        }
    }
}
