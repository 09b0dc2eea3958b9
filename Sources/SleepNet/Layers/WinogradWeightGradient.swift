import Basics
import Elementwise

/// Training's weight gradient of a stride-1 convolution by Winograd: the
/// correlation of the input with the output gradient has r outputs (the
/// kernel taps), so cutting the time axis into tiles of n output-gradient
/// steps makes each tile a minimal filtering F(r, n) with α = r + n − 1
/// products per (output, input) channel pair instead of r·n (11/32 for r = 8,
/// n = 4). The products of all tiles of all samples add up in the transform
/// domain, so the output transform runs once per chunk of samples, not per tile.
///
/// For stride 1, dilation 1, one group. With xpad[u] = x[u − padLeft] (0 outside)
/// and dy zero past Lo, tile j of sample b:
///
///     // dW[f, c, k] = Σ_b Σ_t<Lo dy[b, f, t] · xpad[b, c, t + k]
///     //             = Σ_b Σ_j Σ_i<n g_j[i] · d_j[i + k],  g_j = dy[b, f, j·n ..< j·n + n], d_j = xpad[b, c, j·n ..< j·n + α]
///     // U_a (F, tiles) = G (α, n) · g,  V_a (C, tiles) = Bᵀ (α, α) · d,  M_a (F, C) = U_a · V_aᵀ  (one GEMM per point a)
///     // dW[f, c, :] = Aᵀ (r, α) · M[:, f, c]
///
/// Rounds differently from im2col + GEMM (a few 1e-6 of the gradient's scale);
/// results do not depend on the thread count (fixed chunks of samples).
final class WinogradWeightGradient {
    let n, r, alpha: Int
    /// F(r, n)'s matrices: Aᵀ (r, α), G (α, n), Bᵀ (α, α) and Bᵀ's rows in ± pairs.
    private let plan: WinogradConvolution
    private let transformedGradient = Tensor() // U (lanes, α, F, ldn)
    private let transformedInput = Tensor()    // V (lanes, α, C, ldn)
    private let pointProducts = Tensor()       // M (lanes, α, F·C)
    private let phases = Tensor()              // (lanes, n, rowLength): one row split by position mod n

    /// Tiles of n output-gradient steps for a kernel of r taps.
    init(tile n: Int, kernel r: Int) {
        self.n = n
        self.r = r
        alpha = r + n - 1
        plan = WinogradConvolution(outputTile: r, kernel: n)
    }

    /// Samples whose products are summed into one partial gradient (one output
    /// transform per chunk): a power of two from 8 while a chunk stays ≤ 1,024
    /// tiles and there are at least 4 chunks. From the shapes
    /// only, never the threads, so sums do not depend on them.
    func samplesPerChunk(batch B: Int, outLength Lo: Int) -> Int {
        let T = (Lo + n - 1) / n
        var s = 8
        while 2 * s * T <= 1024 && (B + 2 * s - 1) / (2 * s) >= 4 { s *= 2 }
        return s
    }

    /// partial[chunk] (F, C, r) = the weight gradient of samples
    /// chunk·samplesPerChunk ..< (chunk + 1)·samplesPerChunk, for every chunk of
    /// the batch: x (B, C, L), dy (B, F, Lo).
    func chunkGradients(x: Tensor, dy: Tensor, padLeft: Int, samplesPerChunk: Int,
                        into partial: UnsafeMutablePointer<Float>) {
        let B = x.shape[0], C = x.shape[1], L = x.shape[2], F = dy.shape[1], Lo = dy.shape[2]
        let n = self.n, r = self.r, alpha = self.alpha
        let T = (Lo + n - 1) / n                          // tiles per sample
        // Transformed in blocks of samples of ≤ 256 tiles (U and V stay in L2,
        // 1.5 MB each for 128 channels; whole chunks of 1,000 tiles spilled to
        // memory and made the transforms memory-bound); each block's products are
        // added to the chunk's M by its GEMMs.
        let block = max(1, min(samplesPerChunk, 256 / T))
        let N = block * T, ldn = N + 16                   // GEMM depth per block; row stride with room for 16-wide tails
        // A phase row k = 0 ..< rowLength covers positions k·n + p; the input's
        // reach T·n + α − 1, plus 16-wide reads past the last tile.
        let rowLength = (T * n + alpha - 1 + n - 1) / n + 17
        let chunks = (B + samplesPerChunk - 1) / samplesPerChunk
        let lanes = laneCount(chunks)
        let weightCount = F * C * r
        transformedGradient.resize(Shape(lanes, alpha, F, ldn))
        transformedInput.resize(Shape(lanes, alpha, C, ldn))
        pointProducts.resize(Shape(lanes, alpha, F * C))
        phases.resize(Shape(lanes, n, rowLength))
        let xp = UnsafePointer(x.data), dyp = UnsafePointer(dy.data)
        let uBase = transformedGradient.data, vBase = transformedInput.data
        let mBase = pointProducts.data, phBase = phases.data

        // Bᵀ's terms, pair of rows by pair (`WinogradConvolution.inputTerms`)
        let (offsets, coefficients, starts, targets) = plan.inputTerms(stride: n, rowLength: rowLength)
        let pairCount = plan.inputRows.count
        plan.g.withUnsafeBufferPointer { gm in
        plan.at.withUnsafeBufferPointer { atm in
        offsets.withUnsafeBufferPointer { termOffset in
        coefficients.withUnsafeBufferPointer { termCoefficient in
        starts.withUnsafeBufferPointer { termStart in
        targets.withUnsafeBufferPointer { target in
            let gm = gm.baseAddress!, atm = atm.baseAddress!
            let termOffset = termOffset.baseAddress!, termCoefficient = termCoefficient.baseAddress!
            let termStart = termStart.baseAddress!, target = target.baseAddress!
            parallelLanes(chunks, lanes: lanes) { lane, chunk in
                let u = uBase + lane * alpha * F * ldn, v = vBase + lane * alpha * C * ldn
                let mm = mBase + lane * alpha * F * C, ph = phBase + lane * n * rowLength
                let chunkStart = chunk * samplesPerChunk, chunkEnd = min(B, chunkStart + samplesPerChunk)
                for s0 in stride(from: chunkStart, to: chunkEnd, by: block) {
                    let s1 = min(chunkEnd, s0 + block)
                    let depth = (s1 - s0) * T
                    // Rows are written 16 columns at a time past T: into the next
                    // sample's columns (written after) or the row padding.
                    for q in 0..<(s1 - s0) {
                        // U_a[f, q·T + j] = Σ_i G[a, i] · dy[f, j·n + i]
                        let dyb = dyp + (s0 + q) * F * Lo
                        for f in 0..<F {
                            splitPhases(dyb + f * Lo, length: Lo, padLeft: 0, stride: n, into: ph, rowLength: rowLength)
                            for a in 0..<alpha {
                                let out = UnsafeMutableRawPointer(u + (a * F + f) * ldn + q * T)
                                var j = 0
                                while j < T {
                                    var acc = SIMD16<Float>()
                                    for i in 0..<n {
                                        let src = UnsafeRawPointer(ph + i * rowLength + j)
                                        acc.addProduct(SIMD16(repeating: gm[a * n + i]), src.loadUnaligned(as: SIMD16<Float>.self))
                                    }
                                    out.storeBytes(of: acc, toByteOffset: 4 * j, as: SIMD16<Float>.self)
                                    j += 16
                                }
                            }
                        }
                        // V_a[c, q·T + j] = Σ_u Bᵀ[a, u] · xpad[c, j·n + u], a pair of rows ±p as E·d ± O·d
                        let xb = xp + (s0 + q) * C * L
                        for c in 0..<C {
                            splitPhases(xb + c * L, length: L, padLeft: padLeft, stride: n, into: ph, rowLength: rowLength)
                            for pr in 0..<pairCount {
                                let e0 = termStart[2 * pr], o0 = termStart[2 * pr + 1], o1 = termStart[2 * pr + 2]
                                let a = target[2 * pr], b = target[2 * pr + 1]
                                let out = UnsafeMutableRawPointer(v + (a * C + c) * ldn + q * T)
                                let outB = UnsafeMutableRawPointer(v + (max(b, 0) * C + c) * ldn + q * T)
                                transformPair(
                                    ph, offsets: termOffset, coefficients: termCoefficient, even: e0..<o0, odd: o0..<o1,
                                    columns: 0..<T, into: out, second: b >= 0 ? outB : nil)
                            }
                        }
                    }
                    // M_a (F, C) (+)= U_a (F, depth) · V_a (C, depth)ᵀ, blocks in order
                    for a in 0..<alpha {
                        sgemm(transA: false, transB: true, m: F, n: C, k: depth,
                              alpha: 1, a: u + a * F * ldn, lda: ldn,
                              b: v + a * C * ldn, ldb: ldn,
                              beta: s0 == chunkStart ? 0 : 1, c: mm + a * F * C, ldc: C)
                    }
                }
                // dW[f, c, k] = Σ_a Aᵀ[k, a] · M_a[f, c], 16 (f, c) pairs at a time
                let dw = partial + chunk * weightCount
                var fc = 0
                while fc < F * C {
                    let width = min(16, F * C - fc)
                    for k in 0..<r {
                        var acc = SIMD16<Float>()
                        for a in 0..<alpha {
                            let coefficient = atm[k * alpha + a]
                            if coefficient == 0 { continue }
                            let src = mm + a * F * C + fc
                            if width == 16 {
                                acc.addProduct(SIMD16(repeating: coefficient),
                                               UnsafeRawPointer(src).loadUnaligned(as: SIMD16<Float>.self))
                            } else {
                                for i in 0..<width { acc[i] += coefficient * src[i] }
                            }
                        }
                        for i in 0..<width { dw[(fc + i) * r + k] = acc[i] }
                    }
                    fc += 16
                }
            }
        }
        }
        }
        }
        }
        }
    }
}
